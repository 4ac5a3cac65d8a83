import VaultStore
import VaultTree

/// What ``VaultFilesystem/repair(_:)`` kept and lost.
public struct RepairReport: Sendable {
    /// Each thing that could not be saved, or was moved, with where it was.
    public var losses: [String] = []
    public var keptRecords = 0
    public var movedToLostAndFound = 0
}

extension VaultFilesystem {
    /// Rebuilds the committed state from everything in it that still verifies (§12 of the
    /// spec) and commits the result: records of damaged tree nodes and damaged data blocks are
    /// dropped and named; entries that name missing inodes go; link counts, parents, directory
    /// indexes and the free list are rebuilt; inodes no directory names move to /lost+found.
    ///
    /// Open the store with `trustFreeList: false`, so that no page is overwritten before it
    /// has been read.
    public static func repair(_ store: PageStore) throws(FilesystemError) -> RepairReport {
        do {
            return try FilesystemRepairer(store: store).run()
        } catch {
            throw FilesystemError.from(error)
        }
    }
}

struct FilesystemRepairer {
    let store: PageStore

    func run() throws -> RepairReport {
        var report = RepairReport()
        let committed = store.committed
        let (records, damagedPages) = RecordTree(store: store, root: committed.root).salvageRecords(
            root: committed.root)
        for page in damagedPages {
            report.losses.append(
                "tree node at page \(page) is damaged; the records below it are lost")
        }

        var inodes: [UInt64: InodeAttributes] = [:]
        var entries: [(parent: UInt64, name: [UInt8], value: DirectoryEntryValue, cookie: UInt64)] =
            []
        var others: [([UInt8], [UInt8])] = []
        var blocks: [UInt64: [(key: [UInt8], value: [UInt8])]] = [:]
        var maximumInode: UInt64 = 1
        for (key, value) in records {
            guard key.count >= 9, let type = RecordType(rawValue: key[8]) else { continue }
            let inode = RecordKey.readBigEndian(key[0..<8])
            maximumInode = max(maximumInode, inode)
            switch type {
            case .inode:
                if let attributes = try? InodeAttributes.decode(value, inode: inode) {
                    inodes[inode] = attributes
                }
            case .directoryEntry:
                if let entry = try? DirectoryEntryValue.decode(value) {
                    entries.append((inode, Array(key[9...]), entry, entry.cookie))
                }
            case .fileBlock:
                guard let pointer = try? PagePointer(encoded: value),
                    (try? store.read(pointer, kind: .fileData)) != nil
                else {
                    report.losses.append(
                        "inode \(inode): block \(RecordKey.readBigEndian(key[9...])) is damaged; it now reads as zeros"
                    )
                    continue
                }
                blocks[inode, default: []].append((key, value))
            case .directoryIndex, .orphan:
                break  // rebuilt from the entries; orphans are removed, as on any writable open
            default:
                others.append((key, value))
            }
        }

        let now = FilesystemCore.now()
        let rootInode = VaultFilesystem.rootInode
        if inodes[rootInode]?.type != .directory {
            report.losses.append("the root directory was lost; a new one is made")
            inodes[rootInode] = InodeAttributes(
                inode: rootInode, mode: FileType.directory.modeBits | 0o755, uid: 0, gid: 0,
                linkCount: 2, size: 0,
                accessTime: now, modificationTime: now, changeTime: now, birthTime: now, rdev: 0,
                nextCookie: 3,
                generation: 0, flags: 0, parent: rootInode)
        }

        // Keep entries between existing directories and existing inodes, each directory named once.
        var named: [UInt64: (parent: UInt64, name: [UInt8])] = [:]
        var kept: [(parent: UInt64, name: [UInt8], value: DirectoryEntryValue, cookie: UInt64)] = []
        for entry in entries.sorted(by: { ($0.parent, $0.cookie) < ($1.parent, $1.cookie) }) {
            let label =
                "entry \(String(decoding: entry.name, as: UTF8.self)) in directory \(entry.parent)"
            guard inodes[entry.parent]?.type == .directory, let child = inodes[entry.value.inode]
            else {
                report.losses.append("\(label) names a lost inode; removed")
                continue
            }
            if child.type == .directory && (named[child.inode] != nil || child.inode == rootInode) {
                report.losses.append("\(label): a second name for a directory; removed")
                continue
            }
            var value = entry.value
            value.type = child.type
            if named[child.inode] == nil { named[child.inode] = (entry.parent, entry.name) }
            kept.append((entry.parent, entry.name, value, entry.cookie))
        }
        // A directory that cannot reach the root through its names is cut off with its subtree.
        func reachesRoot(_ inode: UInt64) -> Bool {
            var current = inode
            var steps = 0
            while current != rootInode {
                guard let (parent, _) = named[current], steps < inodes.count else { return false }
                current = parent
                steps += 1
            }
            return true
        }
        var lostAndFound: UInt64?
        for inode in inodes.keys.sorted() where inode != rootInode && !reachesRoot(inode) {
            // Only the top of an unreachable subtree moves; what is below it comes along.
            if let (parent, _) = named[inode], inodes[parent] != nil, !reachesRoot(parent),
                parent != inode
            {
                continue
            }
            if lostAndFound == nil {
                maximumInode += 1
                lostAndFound = maximumInode
                inodes[maximumInode] = InodeAttributes(
                    inode: maximumInode, mode: FileType.directory.modeBits | 0o700,
                    uid: inodes[rootInode]!.uid,
                    gid: inodes[rootInode]!.gid, linkCount: 2, size: 0, accessTime: now,
                    modificationTime: now,
                    changeTime: now, birthTime: now, rdev: 0, nextCookie: 3, generation: 0,
                    flags: 0, parent: rootInode)
                kept.append(
                    (
                        rootInode, Array("lost+found-\(maximumInode)".utf8),
                        DirectoryEntryValue(inode: maximumInode, type: .directory, cookie: .max),
                        .max
                    ))
                named[maximumInode] = (rootInode, Array("lost+found-\(maximumInode)".utf8))
            }
            kept.removeAll { $0.value.inode == inode && inodes[inode]?.type == .directory }
            let name = Array("inode-\(inode)".utf8)
            kept.append(
                (
                    lostAndFound!, name,
                    DirectoryEntryValue(inode: inode, type: inodes[inode]!.type, cookie: .max), .max
                ))
            named[inode] = (lostAndFound!, name)
            report.movedToLostAndFound += 1
            report.losses.append(
                "inode \(inode) was named nowhere; moved to /lost+found-\(lostAndFound!)/inode-\(inode)"
            )
        }

        // Rebuild: fresh cookies in the old order, link counts and parents from the entries.
        let tree = RecordTree(store: store, root: .null)
        var linkCounts: [UInt64: UInt32] = [:]
        var subdirectories: [UInt64: UInt32] = [:]
        var cookies: [UInt64: UInt64] = [:]
        var parents: [UInt64: UInt64] = [rootInode: rootInode]
        for entry in kept.sorted(by: { ($0.parent, $0.cookie) < ($1.parent, $1.cookie) }) {
            let cookie = cookies[entry.parent, default: FilesystemCore.firstCookie]
            cookies[entry.parent] = cookie + 1
            var value = entry.value
            value.cookie = cookie
            try tree.insert(
                value.encode(), for: RecordKey.make(entry.parent, .directoryEntry, entry.name))
            try tree.insert(
                entry.name, for: RecordKey.make(entry.parent, .directoryIndex, number: cookie))
            linkCounts[value.inode, default: 0] += 1
            if value.type == .directory {
                subdirectories[entry.parent, default: 0] += 1
                parents[value.inode] = entry.parent
            }
            report.keptRecords += 2
        }
        var inUse = Set<UInt64>()
        for (inode, var attributes) in inodes {
            guard inode == rootInode || linkCounts[inode] != nil else { continue }
            if attributes.type == .directory {
                attributes.linkCount = 2 + subdirectories[inode, default: 0]
                attributes.parent = parents[inode] ?? rootInode
                attributes.nextCookie = cookies[inode, default: FilesystemCore.firstCookie]
            } else {
                attributes.linkCount = linkCounts[inode]!
            }
            try tree.insert(attributes.encode(), for: RecordKey.make(inode, .inode))
            for block in blocks[inode] ?? []
            where attributes.type == .regular && !attributes.isInline {
                guard
                    RecordKey.readBigEndian(block.key[9...]) * UInt64(VaultFormat.pageSize)
                        < attributes.size
                else { continue }
                try tree.insert(block.value, for: block.key)
                inUse.insert(try PagePointer(encoded: block.value).page)
                report.keptRecords += 1
            }
            report.keptRecords += 1
        }
        for (key, value) in others where inodes[RecordKey.readBigEndian(key[0..<8])] != nil {
            let inode = RecordKey.readBigEndian(key[0..<8])
            guard inode == rootInode || linkCounts[inode] != nil else { continue }
            try tree.insert(value, for: key)
            report.keptRecords += 1
        }
        let root = try tree.flush()
        inUse.formUnion(tree.verify(root: root).nodePages)
        store.replaceFreeSpace(inUse: inUse)
        try store.commit(root: root, nextInode: max(committed.nextInode, maximumInode + 1))
        return report
    }
}
