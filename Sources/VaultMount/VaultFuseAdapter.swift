import FuseBinding
import VaultFS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Serves a ``VaultFilesystem`` through FUSE: converts each request into filesystem calls and
/// every failure into an errno, so that nothing a process does can stop the daemon.
public final class VaultFuseAdapter: FuseOperations {
    public let filesystem: VaultFilesystem
    /// How long the kernel may cache names and attributes. Every change goes through this one
    /// mount, which the host and the container share, so the cache cannot go stale.
    let cacheTimeout: Double
    /// Free bytes on the filesystem holding the vault file, for `statfs` when there is no quota.
    let hostFreeBytes: @Sendable () -> UInt64
    let log: @Sendable (String) -> Void

    public init(
        filesystem: VaultFilesystem, cacheTimeout: Double = 10,
        hostFreeBytes: @escaping @Sendable () -> UInt64,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.filesystem = filesystem
        self.cacheTimeout = cacheTimeout
        self.hostFreeBytes = hostFreeBytes
        self.log = log
    }

    /// Runs `body`, answering `request` with the errno of any failure.
    private func answer(
        _ request: FuseRequest, _ operation: String, _ body: () throws(FilesystemError) -> Void
    ) {
        do {
            try body()
        } catch {
            if error.errno == EIO { log("operation=\(operation) errno=EIO detail=\(error.detail)") }
            request.reply(error: error.errno)
        }
    }

    private func fuseAttributes(_ attributes: InodeAttributes) -> FuseAttributes {
        FuseAttributes(
            inode: attributes.inode, mode: attributes.mode, linkCount: attributes.linkCount,
            uid: attributes.uid,
            gid: attributes.gid, rdev: attributes.rdev, size: attributes.size,
            blocks: attributes.blocks512,
            accessTime: attributes.accessTime, modificationTime: attributes.modificationTime,
            changeTime: attributes.changeTime)
    }

    private func entry(_ attributes: InodeAttributes) -> FuseEntry {
        FuseEntry(
            attributes: fuseAttributes(attributes), generation: UInt64(attributes.generation),
            timeout: cacheTimeout)
    }

    /// The owner of a new node: the caller, with the group of a set-group-ID directory.
    private func owner(_ request: FuseRequest, parent: UInt64) throws(FilesystemError) -> (
        UInt32, UInt32, Bool
    ) {
        let caller = request.caller
        let directory = try filesystem.attributes(parent)
        let inherit = directory.mode & UInt32(S_ISGID) != 0
        return (caller.uid, inherit ? directory.gid : caller.gid, inherit)
    }

    public func lookup(_ request: FuseRequest, parent: UInt64, name: [UInt8]) {
        answer(request, "lookup") { () throws(FilesystemError) in
            request.reply(entry: entry(try filesystem.lookup(parent, name)))
        }
    }

    public func getAttributes(_ request: FuseRequest, inode: UInt64) {
        answer(request, "getattr") { () throws(FilesystemError) in
            request.reply(
                attributes: fuseAttributes(try filesystem.attributes(inode)), timeout: cacheTimeout)
        }
    }

    public func setAttributes(_ request: FuseRequest, inode: UInt64, changes: FuseAttributeChanges)
    {
        answer(request, "setattr") { () throws(FilesystemError) in
            let updated = try filesystem.setAttributes(
                inode,
                .init(
                    mode: changes.mode, uid: changes.uid, gid: changes.gid, size: changes.size,
                    accessTime: changes.accessTime, modificationTime: changes.modificationTime))
            request.reply(attributes: fuseAttributes(updated), timeout: cacheTimeout)
        }
    }

    public func readLink(_ request: FuseRequest, inode: UInt64) {
        answer(request, "readlink") { () throws(FilesystemError) in
            request.reply(linkTarget: try filesystem.readSymbolicLink(inode))
        }
    }

    public func makeNode(
        _ request: FuseRequest, parent: UInt64, name: [UInt8], mode: UInt32, rdev: UInt64
    ) {
        answer(request, "mknod") { () throws(FilesystemError) in
            let (uid, gid, _) = try owner(request, parent: parent)
            request.reply(
                entry: entry(
                    try filesystem.makeNode(
                        parent, name, mode: mode, uid: uid, gid: gid, rdev: rdev)))
        }
    }

    public func makeDirectory(_ request: FuseRequest, parent: UInt64, name: [UInt8], mode: UInt32) {
        answer(request, "mkdir") { () throws(FilesystemError) in
            let (uid, gid, inherit) = try owner(request, parent: parent)
            let bits = (mode & 0o7777) | (inherit ? UInt32(S_ISGID) : 0)
            request.reply(
                entry: entry(
                    try filesystem.makeDirectory(parent, name, mode: bits, uid: uid, gid: gid)))
        }
    }

    public func unlink(_ request: FuseRequest, parent: UInt64, name: [UInt8]) {
        answer(request, "unlink") { () throws(FilesystemError) in
            try filesystem.unlink(parent, name)
            request.reply(error: 0)
        }
    }

    public func removeDirectory(_ request: FuseRequest, parent: UInt64, name: [UInt8]) {
        answer(request, "rmdir") { () throws(FilesystemError) in
            try filesystem.removeDirectory(parent, name)
            request.reply(error: 0)
        }
    }

    public func symlink(_ request: FuseRequest, target: [UInt8], parent: UInt64, name: [UInt8]) {
        answer(request, "symlink") { () throws(FilesystemError) in
            let (uid, gid, _) = try owner(request, parent: parent)
            request.reply(
                entry: entry(
                    try filesystem.makeSymbolicLink(
                        parent, name, target: target, uid: uid, gid: gid)))
        }
    }

    public func rename(
        _ request: FuseRequest, parent: UInt64, name: [UInt8], newParent: UInt64, newName: [UInt8],
        flags: FuseRenameFlags
    ) {
        answer(request, "rename") { () throws(FilesystemError) in
            let mode: VaultFilesystem.RenameMode =
                switch flags {
                case .replace: .replace
                case .noReplace: .noReplace
                case .exchange: .exchange
                }
            try filesystem.rename(parent, name, to: newParent, newName, mode: mode)
            request.reply(error: 0)
        }
    }

    public func link(_ request: FuseRequest, inode: UInt64, newParent: UInt64, newName: [UInt8]) {
        answer(request, "link") { () throws(FilesystemError) in
            request.reply(entry: entry(try filesystem.link(inode, into: newParent, as: newName)))
        }
    }

    public func open(_ request: FuseRequest, inode: UInt64, flags: Int32) {
        answer(request, "open") { () throws(FilesystemError) in
            try filesystem.opened(inode)
            // Pages cached from an earlier open stay valid: every write comes through this mount.
            request.reply(openedWith: inode, keepCache: true)
        }
    }

    public func create(
        _ request: FuseRequest, parent: UInt64, name: [UInt8], mode: UInt32, flags: Int32
    ) {
        answer(request, "create") { () throws(FilesystemError) in
            let (uid, gid, _) = try owner(request, parent: parent)
            let attributes = try filesystem.makeNode(parent, name, mode: mode, uid: uid, gid: gid)
            try filesystem.opened(attributes.inode)
            request.reply(created: entry(attributes), fileHandle: attributes.inode)
        }
    }

    public func read(_ request: FuseRequest, inode: UInt64, offset: UInt64, size: Int) {
        answer(request, "read") { () throws(FilesystemError) in
            request.reply(pieces: try filesystem.readPieces(inode, at: offset, count: size))
        }
    }

    public func write(
        _ request: FuseRequest, inode: UInt64, offset: UInt64, data: UnsafeRawBufferPointer
    ) {
        answer(request, "write") { () throws(FilesystemError) in
            request.reply(written: try filesystem.write(inode, at: offset, data))
        }
    }

    public func flush(_ request: FuseRequest, inode: UInt64) {
        request.reply(error: 0)
    }

    public func release(_ request: FuseRequest, inode: UInt64) {
        answer(request, "release") { () throws(FilesystemError) in
            try filesystem.closed(inode)
            request.reply(error: 0)
        }
    }

    public func fsync(_ request: FuseRequest, inode: UInt64, dataOnly: Bool) {
        answer(request, "fsync") { () throws(FilesystemError) in
            try filesystem.commit()
            request.reply(error: 0)
        }
    }

    public func openDirectory(_ request: FuseRequest, inode: UInt64) {
        answer(request, "opendir") { () throws(FilesystemError) in
            guard try filesystem.attributes(inode).type == .directory else {
                throw FilesystemError(ENOTDIR)
            }
            request.reply(openedWith: inode, keepCache: false)
        }
    }

    public func readDirectory(
        _ request: FuseRequest, inode: UInt64, offset: UInt64, size: Int, withAttributes: Bool
    ) {
        answer(request, withAttributes ? "readdirplus" : "readdir") { () throws(FilesystemError) in
            let directory = try filesystem.attributes(inode)
            var entries: [FuseDirectoryEntry] = []
            // Offsets 1 and 2 are "." and ".."; the vault's cookies start at 3.
            if offset < 1 {
                entries.append(
                    FuseDirectoryEntry(
                        name: [0x2e], inode: inode, mode: directory.mode, nextOffset: 1))
            }
            if offset < 2 {
                let parent = try filesystem.lookup(inode, [0x2e, 0x2e])
                entries.append(
                    FuseDirectoryEntry(
                        name: [0x2e, 0x2e], inode: parent.inode, mode: parent.mode, nextOffset: 2))
            }
            // The smallest entry of each layout, so that no more are read than can fit.
            let limit = max(1, size / (withAttributes ? 152 : 24))
            for listing in try filesystem.readDirectory(inode, after: max(offset, 2), limit: limit)
            {
                entries.append(
                    FuseDirectoryEntry(
                        name: listing.name, inode: listing.inode, mode: listing.type.modeBits,
                        nextOffset: listing.cookie,
                        entry: withAttributes
                            ? entry(try filesystem.attributes(listing.inode)) : nil))
            }
            request.reply(directory: entries, limit: size, withAttributes: withAttributes)
        }
    }

    public func releaseDirectory(_ request: FuseRequest, inode: UInt64) {
        request.reply(error: 0)
    }

    public func statistics(_ request: FuseRequest) {
        let statistics = filesystem.statistics
        let pageSize = UInt64(statistics.pageSize)
        let hostFree = hostFreeBytes() / pageSize
        let total =
            statistics.quotaPages > 0 ? statistics.quotaPages : statistics.pageCount + hostFree
        let free =
            statistics.freePages + (total > statistics.pageCount ? total - statistics.pageCount : 0)
        request.reply(
            statistics: FuseFilesystemStatistics(
                blockSize: pageSize, blocks: total, freeBlocks: min(free, total),
                files: statistics.nextInode + free,
                freeFiles: free, maximumNameLength: 255))
    }

    public func setExtendedAttribute(
        _ request: FuseRequest, inode: UInt64, name: [UInt8], value: [UInt8], flags: Int32
    ) {
        answer(request, "setxattr") { () throws(FilesystemError) in
            // XATTR_CREATE is 1 and XATTR_REPLACE 2 in <sys/xattr.h>.
            let mode: VaultFilesystem.SetMode =
                flags & 1 != 0 ? .create : flags & 2 != 0 ? .replace : .createOrReplace
            try filesystem.setExtendedAttribute(inode, name, value, mode: mode)
            request.reply(error: 0)
        }
    }

    public func extendedAttribute(_ request: FuseRequest, inode: UInt64, name: [UInt8], size: Int) {
        answer(request, "getxattr") { () throws(FilesystemError) in
            let value = try filesystem.extendedAttribute(inode, name)
            if size == 0 {
                request.reply(attributeSize: value.count)
            } else if size < value.count {
                request.reply(error: ERANGE)
            } else {
                request.reply(bytes: value)
            }
        }
    }

    public func listExtendedAttributes(_ request: FuseRequest, inode: UInt64, size: Int) {
        answer(request, "listxattr") { () throws(FilesystemError) in
            let list: [UInt8] = try filesystem.extendedAttributeNames(inode).flatMap {
                $0 + [UInt8(0)]
            }
            if size == 0 {
                request.reply(attributeSize: list.count)
            } else if size < list.count {
                request.reply(error: ERANGE)
            } else {
                request.reply(bytes: list)
            }
        }
    }

    public func removeExtendedAttribute(_ request: FuseRequest, inode: UInt64, name: [UInt8]) {
        answer(request, "removexattr") { () throws(FilesystemError) in
            try filesystem.removeExtendedAttribute(inode, name)
            request.reply(error: 0)
        }
    }

    public func destroy() {
        filesystem.stopPeriodicCommits()
        do {
            try filesystem.commit()
        } catch {
            log("operation=final-commit errno=\(error.errno) detail=\(error.detail)")
        }
    }
}
