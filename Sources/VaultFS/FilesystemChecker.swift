import VaultStore
import VaultTree

/// The result of ``VaultFilesystem/check()``.
public struct CheckReport: Sendable {
    public var problems: [String] = []
    public var files = 0
    public var directories = 0
    public var symlinks = 0
    public var dataPages = 0
    public var treePages = 0
    public var isClean: Bool { problems.isEmpty }
}

extension VaultFilesystem {
    /// Verifies the committed state (§12 of the spec): every page reachable from the
    /// superblock authenticates, the tree's invariants hold, directories and their indexes
    /// agree, link counts match, every inode is reachable, and every page is used exactly
    /// once or free. Problems name the path they affect. Commit first: only durable state is
    /// checked.
    public func check() -> CheckReport {
        FilesystemChecker(store: store).run()
    }
}

struct FilesystemChecker {
    let store: PageStore

    private struct Entry {
        var parent: UInt64
        var name: [UInt8]
        var value: DirectoryEntryValue
    }

    func run() -> CheckReport {
        var report = CheckReport()
        report.problems += store.metadataProblems()
        let root = store.committed.root
        let tree = RecordTree(store: store, root: root)
        let treeReport = tree.verify(root: root)
        report.problems += treeReport.problems
        report.treePages = treeReport.nodePages.count

        var inodes: [UInt64: InodeAttributes] = [:]
        var entries: [Entry] = []
        var indexes: [UInt64: [UInt64: [UInt8]]] = [:]
        var blocks: [(inode: UInt64, index: UInt64, pointer: PagePointer)] = []
        var orphans: Set<UInt64> = []
        var symlinkTargets: Set<UInt64> = []
        var inline: Set<UInt64> = []
        do {
            try tree.forEach(from: []) { key, value in
                guard key.count >= 9, let type = RecordType(rawValue: key[8]) else {
                    report.problems.append("a record with an unknown key shape")
                    return true
                }
                let inode = RecordKey.readBigEndian(key[0..<8])
                do {
                    switch type {
                    case .inode:
                        inodes[inode] = try InodeAttributes.decode(Array(value), inode: inode)
                    case .directoryEntry:
                        entries.append(
                            Entry(
                                parent: inode, name: Array(key[9...]),
                                value: try DirectoryEntryValue.decode(Array(value))))
                    case .directoryIndex:
                        indexes[inode, default: [:]][RecordKey.readBigEndian(key[9...])] = Array(
                            value)
                    case .fileBlock:
                        blocks.append(
                            (
                                inode, RecordKey.readBigEndian(key[9...]),
                                try PagePointer(encoded: value)
                            ))
                    case .orphan: orphans.insert(RecordKey.readBigEndian(key[9...]))
                    case .symlinkTarget: symlinkTargets.insert(inode)
                    case .inlineData: inline.insert(inode)
                    case .extendedAttribute: break
                    }
                } catch {
                    report.problems.append("inode \(inode): a malformed \(type) record")
                }
                return true
            }
        } catch {
            report.problems.append("the tree could not be read in full: \(error)")
        }

        // Names, for reports: the first entry naming each inode.
        var named: [UInt64: (parent: UInt64, name: [UInt8])] = [:]
        for entry in entries where named[entry.value.inode] == nil {
            named[entry.value.inode] = (entry.parent, entry.name)
        }
        func path(_ inode: UInt64) -> String {
            if inode == VaultFilesystem.rootInode { return "/" }
            var parts: [String] = []
            var current = inode
            while current != VaultFilesystem.rootInode, let (parent, name) = named[current],
                parts.count < 4096
            {
                parts.append(String(decoding: name, as: UTF8.self))
                current = parent
            }
            return current == VaultFilesystem.rootInode
                ? "/" + parts.reversed().joined(separator: "/") : "inode \(inode)"
        }

        guard inodes[VaultFilesystem.rootInode]?.type == .directory else {
            report.problems.append("the root directory is missing")
            return report
        }
        var linkCounts: [UInt64: UInt32] = [:]
        var subdirectories: [UInt64: UInt32] = [:]
        for entry in entries {
            guard let child = inodes[entry.value.inode] else {
                report.problems.append(
                    "\(path(entry.parent))/\(String(decoding: entry.name, as: UTF8.self)) names a missing inode"
                )
                continue
            }
            if inodes[entry.parent]?.type != .directory {
                report.problems.append("\(path(entry.parent)) holds entries but is not a directory")
            }
            if child.type != entry.value.type {
                report.problems.append(
                    "\(path(child.inode)): the entry's type differs from the inode's")
            }
            if indexes[entry.parent]?[entry.value.cookie] != entry.name {
                report.problems.append("\(path(child.inode)) is missing from its directory's index")
            }
            linkCounts[child.inode, default: 0] += 1
            if child.type == .directory {
                subdirectories[entry.parent, default: 0] += 1
                if child.parent != entry.parent {
                    report.problems.append("\(path(child.inode)): wrong parent")
                }
            }
        }
        let indexed = indexes.values.reduce(0) { $0 + $1.count }
        if indexed != entries.count {
            report.problems.append(
                "directory indexes list \(indexed) entries for \(entries.count) names")
        }
        for (inode, attributes) in inodes.sorted(by: { $0.key < $1.key }) {
            switch attributes.type {
            case .directory:
                report.directories += 1
                let expected = 2 + subdirectories[inode, default: 0]
                if attributes.linkCount != expected {
                    report.problems.append(
                        "\(path(inode)): link count \(attributes.linkCount), expected \(expected)")
                }
                if inode != VaultFilesystem.rootInode && linkCounts[inode] != 1 {
                    report.problems.append(
                        "\(path(inode)): a directory named \(linkCounts[inode] ?? 0) times")
                }
            case .symbolicLink:
                report.symlinks += 1
                if !symlinkTargets.contains(inode) {
                    report.problems.append("\(path(inode)): a symlink without a target")
                }
                fallthrough
            default:
                if attributes.type == .regular { report.files += 1 }
                let names = linkCounts[inode, default: 0]
                if names == 0 && !orphans.contains(inode) {
                    report.problems.append("inode \(inode) is named nowhere")
                } else if names != attributes.linkCount {
                    report.problems.append(
                        "\(path(inode)): link count \(attributes.linkCount), named \(names) times")
                }
            }
            if inline.contains(inode) && !attributes.isInline {
                report.problems.append("\(path(inode)): inline data on a file kept in blocks")
            }
        }

        // Every data page authenticates, belongs to a file, and lies within the file.
        var used = treeReport.nodePages
        for block in blocks {
            let location = "\(path(block.inode)) block \(block.index)"
            guard let attributes = inodes[block.inode], attributes.type == .regular,
                !attributes.isInline
            else {
                report.problems.append("\(location) belongs to no regular file")
                continue
            }
            if block.index * 4096 >= attributes.size {
                report.problems.append("\(location) lies past the end of the file")
            }
            if !used.insert(block.pointer.page).inserted {
                report.problems.append("\(location): its page is used twice")
            }
            do {
                _ = try store.read(block.pointer, kind: .fileData)
                report.dataPages += 1
            } catch {
                report.problems.append("\(location) is damaged (page \(block.pointer.page))")
            }
        }

        // Space: every page from 4 on is used once, or free, never both and never neither.
        let (free, freeListPages) = store.freeSpace
        for page in freeListPages where !used.insert(page).inserted {
            report.problems.append("free-list page \(page) is also in use")
        }
        let pageCount = store.usage.pageCount
        var freeCount: UInt64 = 0
        for range in free {
            freeCount += UInt64(range.count)
            for page in range where used.contains(page) {
                report.problems.append("page \(page) is both free and in use")
            }
        }
        let accounted = UInt64(used.count) + freeCount
        if accounted != pageCount - 4 {
            report.problems.append(
                "\(pageCount - 4 - min(accounted, pageCount - 4)) pages are neither used nor free")
        }
        return report
    }
}
