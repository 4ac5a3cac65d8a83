import Crypto
import VaultStore
import VaultTree

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The filesystem's state and operations, used only under ``VaultFilesystem``'s lock.
final class FilesystemCore {
    let store: PageStore
    let tree: RecordTree
    var nextInode: UInt64
    /// Blocks changed since they were last sealed.
    var dirtyBlocks: [BlockID: DirtyBlock] = [:]
    /// Stamps each change of a block, so that sealing outside the lock can tell whether the
    /// bytes it sealed are still the newest.
    var dirtyVersion: UInt64 = 0
    var cache: BlockCache
    let dirtyBlockLimit: Int
    /// Blocks sealed since the last commit, whose tree records wait in memory for it.
    var sealedSinceCommit = 0
    /// Changed blocks in block order, to be sealed next; refilled from `dirtyBlocks` when it
    /// runs out, so that the sort is paid once per refill rather than once per batch.
    var sealingQueue: [BlockID] = []
    var sealingQueueStart = 0
    /// Processes holding each inode open.
    var openCounts: [UInt64: Int] = [:]
    /// Files being read in order, by inode.
    var readStreams: [UInt64: ReadStream] = [:]
    /// Whether anything changed since the last commit.
    var hasChanges = false
    /// The inode last looked up, and the tree's change count then: while no record has
    /// changed, the next lookup of it (a read takes two) needs no decoding.
    private var lastAttributes: (changes: UInt64, attributes: InodeAttributes)?

    static let maximumNameLength = 255
    static let maximumSymlinkLength = 1000
    static let maximumInlineSize: UInt64 = 1000
    static let maximumXattrNameLength = 255
    static let maximumXattrValueLength = 700
    static let maximumFileSize: UInt64 = 1 << 52
    static let blockSize = UInt64(VaultFormat.pageSize)
    static let firstCookie: UInt64 = 3

    init(
        store: PageStore, root: PagePointer, nextInode: UInt64, limits: VaultFilesystem.CacheLimits
    ) {
        self.store = store
        self.tree = RecordTree(store: store, root: root)
        self.nextInode = nextInode
        self.cache = BlockCache(capacity: limits.cleanBytes / VaultFormat.pageSize)
        self.dirtyBlockLimit = max(1, limits.dirtyBytes / VaultFormat.pageSize)
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    // MARK: - Inodes

    func attributes(_ inode: UInt64) throws -> InodeAttributes {
        if let last = lastAttributes, last.attributes.inode == inode,
            last.changes == tree.changeCount
        {
            return last.attributes
        }
        guard inode != 0, let bytes = try tree.value(for: RecordKey.make(inode, .inode)) else {
            throw FilesystemError.noEntry
        }
        let attributes = try InodeAttributes.decode(bytes, inode: inode)
        lastAttributes = (tree.changeCount, attributes)
        return attributes
    }

    func save(_ attributes: InodeAttributes) throws {
        try tree.insert(attributes.encode(), for: RecordKey.make(attributes.inode, .inode))
        hasChanges = true
    }

    func directory(_ inode: UInt64) throws -> InodeAttributes {
        let attributes = try attributes(inode)
        guard attributes.type == .directory else { throw FilesystemError.notDirectory }
        return attributes
    }

    func makeRoot(mode: UInt32, uid: UInt32, gid: UInt32) throws {
        let now = Self.now()
        try save(
            InodeAttributes(
                inode: VaultFilesystem.rootInode,
                mode: FileType.directory.modeBits | (mode & 0o7777), uid: uid,
                gid: gid, linkCount: 2, size: 0, accessTime: now, modificationTime: now,
                changeTime: now,
                birthTime: now, rdev: 0, nextCookie: Self.firstCookie,
                generation: try randomGeneration(), flags: 0,
                parent: VaultFilesystem.rootInode))
    }

    private func randomGeneration() throws -> UInt32 {
        let bytes = try SystemRandom.bytes(count: 4)
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    // MARK: - Names

    static func validate(_ name: [UInt8]) throws {
        guard !name.isEmpty, name != [0x2e], name != [0x2e, 0x2e] else {
            throw FilesystemError.invalid
        }
        guard name.count <= maximumNameLength else { throw FilesystemError.nameTooLong }
        guard !name.contains(0x2f), !name.contains(0) else { throw FilesystemError.invalid }
    }

    func entry(_ parent: UInt64, _ name: [UInt8]) throws -> DirectoryEntryValue? {
        guard let bytes = try tree.value(for: RecordKey.make(parent, .directoryEntry, name)) else {
            return nil
        }
        return try DirectoryEntryValue.decode(bytes)
    }

    func lookup(_ parent: UInt64, _ name: [UInt8]) throws -> InodeAttributes {
        let directory = try directory(parent)
        if name == [0x2e] { return directory }
        if name == [0x2e, 0x2e] { return try attributes(directory.parent) }
        guard name.count <= Self.maximumNameLength else { throw FilesystemError.nameTooLong }
        guard let entry = try entry(parent, name) else { throw FilesystemError.noEntry }
        return try attributes(entry.inode)
    }

    /// Adds a directory entry and its index record, and touches the directory.
    private func addEntry(
        _ parent: inout InodeAttributes, _ name: [UInt8], inode: UInt64, type: FileType
    ) throws {
        let cookie = parent.nextCookie
        parent.nextCookie += 1
        try tree.insert(
            DirectoryEntryValue(inode: inode, type: type, cookie: cookie).encode(),
            for: RecordKey.make(parent.inode, .directoryEntry, name))
        try tree.insert(name, for: RecordKey.make(parent.inode, .directoryIndex, number: cookie))
        let now = Self.now()
        parent.modificationTime = now
        parent.changeTime = now
    }

    private func removeEntry(
        _ parent: inout InodeAttributes, _ name: [UInt8], _ entry: DirectoryEntryValue
    ) throws {
        try tree.remove(RecordKey.make(parent.inode, .directoryEntry, name))
        try tree.remove(RecordKey.make(parent.inode, .directoryIndex, number: entry.cookie))
        let now = Self.now()
        parent.modificationTime = now
        parent.changeTime = now
        hasChanges = true
    }

    func makeNode(
        _ parentInode: UInt64, _ name: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32,
        rdev: UInt64 = 0
    ) throws -> InodeAttributes {
        try Self.validate(name)
        var parent = try directory(parentInode)
        guard try entry(parentInode, name) == nil else { throw FilesystemError.exists }
        let type = FileType(mode: mode) ?? .regular
        let now = Self.now()
        let inode = nextInode
        nextInode += 1
        let attributes = InodeAttributes(
            inode: inode, mode: mode, uid: uid, gid: gid, linkCount: type == .directory ? 2 : 1,
            size: 0,
            accessTime: now, modificationTime: now, changeTime: now, birthTime: now, rdev: rdev,
            nextCookie: type == .directory ? Self.firstCookie : 0,
            generation: try randomGeneration(),
            flags: type == .regular ? InodeAttributes.inlineFlag : 0,
            parent: type == .directory ? parentInode : 0)
        try save(attributes)
        try addEntry(&parent, name, inode: inode, type: type)
        if type == .directory { parent.linkCount += 1 }
        try save(parent)
        return attributes
    }

    func makeSymbolicLink(
        _ parent: UInt64, _ name: [UInt8], target: [UInt8], uid: UInt32, gid: UInt32
    ) throws
        -> InodeAttributes
    {
        guard !target.isEmpty, !target.contains(0) else { throw FilesystemError.invalid }
        guard target.count <= Self.maximumSymlinkLength else { throw FilesystemError.nameTooLong }
        var attributes = try makeNode(
            parent, name, mode: FileType.symbolicLink.modeBits | 0o777, uid: uid, gid: gid)
        try tree.insert(target, for: RecordKey.make(attributes.inode, .symlinkTarget))
        attributes.size = UInt64(target.count)
        try save(attributes)
        return attributes
    }

    func readSymbolicLink(_ inode: UInt64) throws -> [UInt8] {
        let attributes = try attributes(inode)
        guard attributes.type == .symbolicLink else { throw FilesystemError.invalid }
        guard let target = try tree.value(for: RecordKey.make(inode, .symlinkTarget)) else {
            throw FilesystemError(EIO, "symlink \(inode) has no target")
        }
        return target
    }

    func link(_ inode: UInt64, into parentInode: UInt64, as name: [UInt8]) throws -> InodeAttributes
    {
        try Self.validate(name)
        var attributes = try attributes(inode)
        guard attributes.type != .directory else { throw FilesystemError.notPermitted }
        guard attributes.linkCount < UInt32.max else { throw FilesystemError.tooManyLinks }
        var parent = try directory(parentInode)
        guard try entry(parentInode, name) == nil else { throw FilesystemError.exists }
        try addEntry(&parent, name, inode: inode, type: attributes.type)
        try save(parent)
        attributes.linkCount += 1
        attributes.changeTime = Self.now()
        try save(attributes)
        return attributes
    }

    func unlink(_ parentInode: UInt64, _ name: [UInt8]) throws {
        try Self.validate(name)
        var parent = try directory(parentInode)
        guard let entry = try entry(parentInode, name) else { throw FilesystemError.noEntry }
        guard entry.type != .directory else { throw FilesystemError.isDirectory }
        try removeEntry(&parent, name, entry)
        try save(parent)
        try dropLink(entry.inode)
    }

    /// One fewer name for `inode`; at none, its records go now or, if open, at the last close.
    private func dropLink(_ inode: UInt64) throws {
        var attributes = try attributes(inode)
        attributes.linkCount -= 1
        attributes.changeTime = Self.now()
        if attributes.linkCount > 0 {
            try save(attributes)
        } else if openCounts[inode, default: 0] > 0 {
            try save(attributes)
            try tree.insert([], for: RecordKey.make(0, .orphan, number: inode))
        } else {
            try purge(inode)
        }
    }

    func removeDirectory(_ parentInode: UInt64, _ name: [UInt8]) throws {
        if name == [0x2e] { throw FilesystemError.invalid }
        if name == [0x2e, 0x2e] { throw FilesystemError.notEmpty }
        try Self.validate(name)
        var parent = try directory(parentInode)
        guard let entry = try entry(parentInode, name) else { throw FilesystemError.noEntry }
        guard entry.type == .directory else { throw FilesystemError.notDirectory }
        guard try isEmptyDirectory(entry.inode) else { throw FilesystemError.notEmpty }
        try removeEntry(&parent, name, entry)
        parent.linkCount -= 1
        try save(parent)
        try purge(entry.inode)
    }

    /// Removes every record from `start` to below `end`, then calls `each` with it, a batch
    /// at a time: the records of a large file are never all held at once, and a page is given
    /// back only once no record names it, even if a removal fails part way.
    func removeRecords(
        from start: [UInt8], below end: [UInt8]?, _ each: ([UInt8], [UInt8]) throws -> Void
    ) throws {
        let batch = 1024
        var records: [([UInt8], [UInt8])] = []
        records.reserveCapacity(batch)
        repeat {
            records.removeAll(keepingCapacity: true)
            try tree.forEach(from: start, below: end) { key, value in
                records.append((Array(key), Array(value)))
                return records.count < batch
            }
            for (key, _) in records { try tree.remove(key) }
            for (key, value) in records { try each(key, value) }
        } while records.count == batch
    }

    func isEmptyDirectory(_ inode: UInt64) throws -> Bool {
        var empty = true
        try tree.forEach(withPrefix: RecordKey.make(inode, .directoryEntry)) { _, _ in
            empty = false
            return false
        }
        return empty
    }

    /// Removes every record of `inode` and releases its data pages.
    func purge(_ inode: UInt64) throws {
        let prefix = RecordKey.prefix(inode)
        try removeRecords(from: prefix, below: RecordTree.successor(ofPrefix: prefix)) {
            key, value in
            if key.count == 17, key[8] == RecordType.fileBlock.rawValue {
                store.release(try PagePointer(encoded: value))
            }
        }
        try tree.remove(RecordKey.make(0, .orphan, number: inode))
        dirtyBlocks = dirtyBlocks.filter { $0.key.inode != inode }
        cache.removeBlocks(of: inode)
        hasChanges = true
    }

    func removeOrphans() throws {
        var orphans: [UInt64] = []
        try tree.forEach(withPrefix: RecordKey.make(0, .orphan)) { key, _ in
            orphans.append(RecordKey.readBigEndian(key[9...]))
            return true
        }
        guard !orphans.isEmpty else { return }
        for inode in orphans { try purge(inode) }
        try commit()
    }

    func opened(_ inode: UInt64) throws {
        _ = try attributes(inode)
        openCounts[inode, default: 0] += 1
    }

    func closed(_ inode: UInt64) throws {
        guard let count = openCounts[inode] else { return }
        if count > 1 {
            openCounts[inode] = count - 1
            return
        }
        openCounts[inode] = nil
        if let attributes = try? attributes(inode), attributes.linkCount == 0 {
            try purge(inode)
        }
    }

    func rename(
        _ parentInode: UInt64, _ name: [UInt8], to newParentInode: UInt64, _ newName: [UInt8],
        mode: VaultFilesystem.RenameMode
    ) throws {
        try Self.validate(name)
        try Self.validate(newName)
        _ = try directory(parentInode)
        _ = try directory(newParentInode)
        guard let source = try entry(parentInode, name) else { throw FilesystemError.noEntry }
        let target = try entry(newParentInode, newName)
        if parentInode == newParentInode && name == newName {
            if mode == .noReplace { throw FilesystemError.exists }
            return
        }
        if source.type == .directory && source.inode != newParentInode {
            try refuseMoveIntoItself(source.inode, newParent: newParentInode)
        } else if source.type == .directory {
            throw FilesystemError.invalid
        }

        switch mode {
        case .exchange:
            guard let target else { throw FilesystemError.noEntry }
            if target.type == .directory {
                try refuseMoveIntoItself(target.inode, newParent: parentInode)
            }
            try exchange(parentInode, name, source, newParentInode, newName, target)
            return
        case .noReplace:
            if target != nil { throw FilesystemError.exists }
        case .replace:
            break
        }

        if let target {
            // Two names of one file: POSIX says rename does nothing.
            if target.inode == source.inode { return }
            if target.type == .directory {
                guard source.type == .directory else { throw FilesystemError.isDirectory }
                guard try isEmptyDirectory(target.inode) else { throw FilesystemError.notEmpty }
            } else if source.type == .directory {
                throw FilesystemError.notDirectory
            }
            var newParent = try directory(newParentInode)
            try removeEntry(&newParent, newName, target)
            if target.type == .directory {
                newParent.linkCount -= 1
                try save(newParent)
                try purge(target.inode)
            } else {
                try save(newParent)
                try dropLink(target.inode)
            }
        }

        var oldParent = try directory(parentInode)
        try removeEntry(&oldParent, name, source)
        if source.type == .directory && parentInode != newParentInode { oldParent.linkCount -= 1 }
        try save(oldParent)
        var newParent = try directory(newParentInode)
        try addEntry(&newParent, newName, inode: source.inode, type: source.type)
        if source.type == .directory && parentInode != newParentInode { newParent.linkCount += 1 }
        try save(newParent)
        var moved = try attributes(source.inode)
        moved.changeTime = Self.now()
        if source.type == .directory { moved.parent = newParentInode }
        try save(moved)
    }

    /// `EINVAL` if `directory` is `newParent` or one of its ancestors.
    private func refuseMoveIntoItself(_ directory: UInt64, newParent: UInt64) throws {
        var current = newParent
        var steps = 0
        while true {
            if current == directory { throw FilesystemError.invalid }
            if current == VaultFilesystem.rootInode { return }
            current = try attributes(current).parent
            steps += 1
            if steps > 1 << 20 { throw FilesystemError(EIO, "directory parents loop") }
        }
    }

    private func exchange(
        _ parentA: UInt64, _ nameA: [UInt8], _ a: DirectoryEntryValue, _ parentB: UInt64,
        _ nameB: [UInt8],
        _ b: DirectoryEntryValue
    ) throws {
        try tree.insert(
            DirectoryEntryValue(inode: b.inode, type: b.type, cookie: a.cookie).encode(),
            for: RecordKey.make(parentA, .directoryEntry, nameA))
        try tree.insert(
            DirectoryEntryValue(inode: a.inode, type: a.type, cookie: b.cookie).encode(),
            for: RecordKey.make(parentB, .directoryEntry, nameB))
        let now = Self.now()
        for (inode, newParent) in [(a.inode, parentB), (b.inode, parentA)] {
            var attributes = try attributes(inode)
            attributes.changeTime = now
            if attributes.type == .directory { attributes.parent = newParent }
            try save(attributes)
        }
        if parentA != parentB {
            let directoryDelta = (a.type == .directory ? 1 : 0) - (b.type == .directory ? 1 : 0)
            var first = try directory(parentA)
            first.linkCount = UInt32(Int(first.linkCount) - directoryDelta)
            first.modificationTime = now
            first.changeTime = now
            try save(first)
            var second = try directory(parentB)
            second.linkCount = UInt32(Int(second.linkCount) + directoryDelta)
            second.modificationTime = now
            second.changeTime = now
            try save(second)
        } else {
            var parent = try directory(parentA)
            parent.modificationTime = now
            parent.changeTime = now
            try save(parent)
        }
    }

    func readDirectory(_ inode: UInt64, after cookie: UInt64, limit: Int) throws
        -> [DirectoryListing]
    {
        _ = try directory(inode)
        var names: [([UInt8], UInt64)] = []
        let start = RecordKey.make(
            inode, .directoryIndex, number: max(cookie + 1, Self.firstCookie))
        let end = RecordKey.make(inode, .fileBlock)
        try tree.forEach(from: start, below: end) { key, value in
            names.append((Array(value), RecordKey.readBigEndian(key[9...])))
            return names.count < limit
        }
        return try names.map { name, cookie in
            guard let entry = try entry(inode, name) else {
                throw FilesystemError(EIO, "directory \(inode) index names a missing entry")
            }
            return DirectoryListing(
                name: name, inode: entry.inode, type: entry.type, cookie: cookie)
        }
    }

    // MARK: - Attributes

    func setAttributes(_ inode: UInt64, _ changes: VaultFilesystem.AttributeChanges) throws
        -> InodeAttributes
    {
        if let size = changes.size { try truncate(inode, to: size) }
        var attributes = try attributes(inode)
        if let mode = changes.mode {
            attributes.mode = (attributes.mode & ~0o7777) | (mode & 0o7777)
        }
        if let uid = changes.uid { attributes.uid = uid }
        if let gid = changes.gid { attributes.gid = gid }
        if let time = changes.accessTime { attributes.accessTime = time }
        if let time = changes.modificationTime { attributes.modificationTime = time }
        attributes.changeTime = Self.now()
        try save(attributes)
        return attributes
    }

    // MARK: - Extended attributes

    private func checkXattrName(_ name: [UInt8]) throws {
        guard !name.isEmpty, !name.contains(0) else { throw FilesystemError.invalid }
        guard name.count <= Self.maximumXattrNameLength else { throw FilesystemError.range }
        guard name.starts(with: Array("user.".utf8)), name.count > 5 else {
            throw FilesystemError.notSupported
        }
    }

    func setExtendedAttribute(
        _ inode: UInt64, _ name: [UInt8], _ value: [UInt8], mode: VaultFilesystem.SetMode
    ) throws {
        try checkXattrName(name)
        guard value.count <= Self.maximumXattrValueLength else { throw FilesystemError.tooBig }
        var attributes = try attributes(inode)
        let key = RecordKey.make(inode, .extendedAttribute, name)
        let exists = try tree.value(for: key) != nil
        if mode == .create && exists { throw FilesystemError.exists }
        if mode == .replace && !exists { throw FilesystemError.noAttribute }
        try tree.insert(value, for: key)
        attributes.changeTime = Self.now()
        try save(attributes)
    }

    func extendedAttribute(_ inode: UInt64, _ name: [UInt8]) throws -> [UInt8] {
        _ = try attributes(inode)
        guard let value = try tree.value(for: RecordKey.make(inode, .extendedAttribute, name))
        else {
            throw FilesystemError.noAttribute
        }
        return value
    }

    func extendedAttributeNames(_ inode: UInt64) throws -> [[UInt8]] {
        _ = try attributes(inode)
        var names: [[UInt8]] = []
        try tree.forEach(withPrefix: RecordKey.make(inode, .extendedAttribute)) { key, _ in
            names.append(Array(key[9...]))
            return true
        }
        return names
    }

    func removeExtendedAttribute(_ inode: UInt64, _ name: [UInt8]) throws {
        var attributes = try attributes(inode)
        guard try tree.remove(RecordKey.make(inode, .extendedAttribute, name)) else {
            throw FilesystemError.noAttribute
        }
        attributes.changeTime = Self.now()
        try save(attributes)
    }

    // MARK: - Durability

    /// Makes every change durable; with none, there is nothing to write and nothing is.
    func commit() throws {
        guard let prepared = try prepareCommit() else { return }
        do {
            try store.completeCommit(prepared)
        } catch {
            hasChanges = true
            throw error
        }
    }

    /// Seals every changed block, writes the tree and the free list, and returns the commit
    /// for ``PageStore/completeCommit(_:)`` to make durable; nil when nothing changed. If that
    /// fails, the caller sets ``hasChanges`` again. `droppingNodes` lets the tree's decoded
    /// nodes go once written.
    func prepareCommit(droppingNodes: Bool = false) throws -> PageStore.PreparedCommit? {
        guard hasChanges || !dirtyBlocks.isEmpty else { return nil }
        try flushDirtyBlocks()
        let root = try tree.flush()
        let prepared = try store.prepareCommit(root: root, nextInode: nextInode)
        if droppingNodes { tree.dropCachedNodes() }
        hasChanges = false
        sealedSinceCommit = 0
        return prepared
    }
}
