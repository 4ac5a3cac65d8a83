import CFuse

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One request from the kernel. Every request gets exactly one reply.
public struct FuseRequest: @unchecked Sendable {
    // @unchecked Sendable: a request may be answered from any thread, as libfuse allows.
    let handle: OpaquePointer

    /// Who asked.
    public var caller: FuseCaller {
        let context = fuse_req_ctx(handle)!.pointee
        return FuseCaller(
            uid: context.uid, gid: context.gid, pid: context.pid, umask: UInt32(context.umask))
    }

    public func reply(error number: Int32) {
        fuse_reply_err(handle, number)
    }

    /// No reply, for `forget`.
    func replyNone() {
        fuse_reply_none(handle)
    }

    public func reply(entry: FuseEntry) {
        var parameters = Self.entryParameters(entry)
        fuse_reply_entry(handle, &parameters)
    }

    private static func entryParameters(_ entry: FuseEntry) -> fuse_entry_param {
        var parameters = fuse_entry_param()
        parameters.ino = entry.attributes.inode
        parameters.generation = entry.generation
        parameters.attr = stat(entry.attributes)
        parameters.attr_timeout = entry.timeout
        parameters.entry_timeout = entry.timeout
        return parameters
    }

    public func reply(attributes: FuseAttributes, timeout: Double) {
        var status = Self.stat(attributes)
        fuse_reply_attr(handle, &status, timeout)
    }

    public func reply(bytes: [UInt8]) {
        bytes.withUnsafeBytes(reply(buffer:))
    }

    private func reply(buffer: UnsafeRawBufferPointer) {
        _ = fuse_reply_buf(
            handle, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
    }

    /// Replies with the bytes of `pieces` in order, gathered by the kernel: no copy here.
    public func reply(pieces: [ArraySlice<UInt8>]) {
        // The kernel takes at most 1,024 vectors in one write, the header among them.
        if pieces.count == 1 { return pieces[0].withUnsafeBytes(reply(buffer:)) }
        guard pieces.count > 1, pieces.count < 1_000 else {
            return reply(bytes: Array(pieces.joined()))
        }
        var vectors = [iovec](repeating: iovec(), count: pieces.count)
        // Each piece's storage is pinned by a nested closure while the reply is made.
        func gather(_ index: Int) {
            guard index < pieces.count else {
                _ = fuse_reply_iov(handle, vectors, Int32(vectors.count))
                return
            }
            pieces[index].withUnsafeBytes { bytes in
                vectors[index] = iovec(
                    iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                    iov_len: bytes.count)
                gather(index + 1)
            }
        }
        gather(0)
    }

    public func reply(written count: Int) {
        fuse_reply_write(handle, count)
    }

    /// Opens with a file handle; `keepCache` lets the kernel keep cached pages from an earlier open.
    public func reply(openedWith fileHandle: UInt64, keepCache: Bool) {
        var info = fuse_file_info()
        info.fh = fileHandle
        info.keep_cache = keepCache ? 1 : 0
        fuse_reply_open(handle, &info)
    }

    public func reply(created entry: FuseEntry, fileHandle: UInt64) {
        var parameters = Self.entryParameters(entry)
        var info = fuse_file_info()
        info.fh = fileHandle
        fuse_reply_create(handle, &parameters, &info)
    }

    public func reply(linkTarget: [UInt8]) {
        (linkTarget + [0]).withUnsafeBufferPointer { buffer in
            _ = buffer.withMemoryRebound(to: CChar.self) {
                fuse_reply_readlink(handle, $0.baseAddress)
            }
        }
    }

    public func reply(statistics: FuseFilesystemStatistics) {
        var result = statvfs()
        result.f_bsize = UInt(statistics.blockSize)
        result.f_frsize = UInt(statistics.blockSize)
        result.f_blocks = fsblkcnt_t(statistics.blocks)
        result.f_bfree = fsblkcnt_t(statistics.freeBlocks)
        result.f_bavail = fsblkcnt_t(statistics.freeBlocks)
        result.f_files = fsfilcnt_t(statistics.files)
        result.f_ffree = fsfilcnt_t(statistics.freeFiles)
        result.f_favail = fsfilcnt_t(statistics.freeFiles)
        result.f_namemax = UInt(statistics.maximumNameLength)
        fuse_reply_statfs(handle, &result)
    }

    /// The size an extended attribute (or list) needs, for a probe with size 0.
    public func reply(attributeSize: Int) {
        fuse_reply_xattr(handle, attributeSize)
    }

    /// Sends as many of `entries` as fit in `limit` bytes, in order; with `withAttributes`,
    /// in the `readdirplus` layout, each with its entry.
    public func reply(directory entries: [FuseDirectoryEntry], limit: Int, withAttributes: Bool) {
        var buffer = [CChar](repeating: 0, count: limit)
        var used = 0
        for entry in entries {
            let needed = (entry.name + [0]).withUnsafeBufferPointer { name in
                name.withMemoryRebound(to: CChar.self) { name in
                    buffer.withUnsafeMutableBufferPointer { output in
                        let room = output.baseAddress! + used
                        let offset = off_t(entry.nextOffset)
                        guard withAttributes else {
                            var status = Glibc.stat()
                            status.st_ino = ino_t(entry.inode)
                            status.st_mode = entry.mode
                            return fuse_add_direntry(
                                handle, room, limit - used, name.baseAddress, &status, offset)
                        }
                        var parameters = fuse_entry_param()
                        if let full = entry.entry {
                            parameters = Self.entryParameters(full)
                        } else {
                            parameters.attr.st_ino = ino_t(entry.inode)
                            parameters.attr.st_mode = entry.mode
                        }
                        return fuse_add_direntry_plus(
                            handle, room, limit - used, name.baseAddress, &parameters, offset)
                    }
                }
            }
            if needed > limit - used { break }
            used += needed
        }
        fuse_reply_buf(handle, buffer, used)
    }

    static func stat(_ attributes: FuseAttributes) -> Glibc.stat {
        var result = Glibc.stat()
        result.st_ino = ino_t(attributes.inode)
        result.st_mode = attributes.mode
        result.st_nlink = UInt(attributes.linkCount)
        result.st_uid = attributes.uid
        result.st_gid = attributes.gid
        result.st_rdev = dev_t(attributes.rdev)
        result.st_size = off_t(attributes.size)
        result.st_blocks = blkcnt_t(attributes.blocks)
        result.st_blksize = 4096
        result.st_atim = timespec(nanoseconds: attributes.accessTime)
        result.st_mtim = timespec(nanoseconds: attributes.modificationTime)
        result.st_ctim = timespec(nanoseconds: attributes.changeTime)
        return result
    }
}

extension timespec {
    init(nanoseconds: Int64) {
        let seconds =
            nanoseconds >= 0
            ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        self.init(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds - seconds * 1_000_000_000))
    }

    var nanoseconds: Int64 { Int64(tv_sec) * 1_000_000_000 + Int64(tv_nsec) }
}
