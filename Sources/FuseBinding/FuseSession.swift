import CFuse

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Why a FUSE session could not start.
public struct FuseError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// The object libfuse hands back with every request.
private final class OperationsBox {
    let operations: any FuseOperations
    init(_ operations: any FuseOperations) { self.operations = operations }
}

private func operations(_ request: OpaquePointer?) -> any FuseOperations {
    Unmanaged<OperationsBox>.fromOpaque(fuse_req_userdata(request)!).takeUnretainedValue()
        .operations
}

private func bytes(_ text: UnsafePointer<CChar>?) -> [UInt8] {
    guard let text else { return [] }
    return Array(
        UnsafeBufferPointer(
            start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text)))
}

/// A mounted FUSE filesystem and its session, served by a pool of threads.
///
/// Owns the libfuse session: `run()` serves requests until the filesystem is unmounted or the
/// process gets SIGTERM, SIGINT or SIGHUP; deinit unmounts and frees it.
public final class FuseSession: @unchecked Sendable {
    // @unchecked Sendable: libfuse's session is used from its own worker threads by design, and
    // `exit()` is safe from any thread.
    private let session: OpaquePointer
    private let box: Unmanaged<OperationsBox>
    private var mounted = false
    private var handlingSignals = false
    public let mountpoint: String

    /// Creates the session and mounts it at `mountpoint` with `options` (`-o` words).
    public init(mountpoint: String, options: [String], operations: some FuseOperations)
        throws(FuseError)
    {
        var handlers = fuse_lowlevel_ops()
        Self.install(&handlers)
        let box = Unmanaged.passRetained(OperationsBox(operations))
        let words = ["claude-env", "-o", options.joined(separator: ",")]
        var argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let created = argv.withUnsafeMutableBufferPointer { pointers in
            var arguments = fuse_args(
                argc: Int32(words.count), argv: pointers.baseAddress, allocated: 0)
            return fuse_session_new(
                &arguments, &handlers, MemoryLayout<fuse_lowlevel_ops>.size, box.toOpaque())
        }
        guard let session = created else {
            box.release()
            throw FuseError(
                message: "libfuse refused the mount options \(options.joined(separator: ","))")
        }
        self.session = session
        self.box = box
        self.mountpoint = mountpoint
        guard fuse_session_mount(session, mountpoint) == 0 else {
            throw FuseError(
                message:
                    "cannot mount at \(mountpoint): is /dev/fuse there, and fusermount3 installed?")
        }
        mounted = true
        handlingSignals = fuse_set_signal_handlers(session) == 0
    }

    deinit {
        if handlingSignals { fuse_remove_signal_handlers(session) }
        if mounted { fuse_session_unmount(session) }
        fuse_session_destroy(session)
        box.release()
    }

    /// Serves requests on several threads until unmounted or signalled. Returns 0 on a clean end.
    ///
    /// Threads beyond `maximumIdleThreads` waiting for work end. Each keeps a receive buffer
    /// the size of the largest write (1 MiB) once it has served one, and requests go to the
    /// waiting threads in turn, so every idle thread holds a megabyte; more would only help
    /// bursts of more concurrent requests than that, at the cost of a thread start.
    public func run(maximumIdleThreads: UInt32 = 4) -> Int32 {
        cfuse_session_loop_mt(session, maximumIdleThreads)
    }

    /// Asks `run()` to return.
    public func exit() {
        fuse_session_exit(session)
    }

    private static func install(_ ops: inout fuse_lowlevel_ops) {
        ops.`init` = { _, connection in
            guard let connection else { return }
            // Large writes in one request; the kernel's own cap applies above this.
            connection.pointee.max_write = 1 << 20
            connection.pointee.max_readahead = 1 << 20
            // Locks are kept by the kernel for this mount, which every user of it shares.
            connection.pointee.want &= ~(cfuse_cap_flock_locks() | cfuse_cap_posix_locks())
            // No writeback cache: with it, written pages wait in the kernel for up to half a
            // minute, and are lost if this process ends first (a SIGTERM while mounted, the
            // kill after an unmount's grace period). Without it a write returns once this
            // process holds the bytes, and every way out commits them.
        }
        ops.destroy = { userdata in
            guard let userdata else { return }
            Unmanaged<OperationsBox>.fromOpaque(userdata).takeUnretainedValue().operations.destroy()
        }
        ops.lookup = { request, parent, name in
            operations(request).lookup(
                FuseRequest(handle: request!), parent: parent, name: bytes(name))
        }
        ops.forget = { request, _, _ in FuseRequest(handle: request!).replyNone() }
        ops.getattr = { request, inode, _ in
            operations(request).getAttributes(FuseRequest(handle: request!), inode: inode)
        }
        ops.setattr = { request, inode, attributes, toSet, _ in
            let status = attributes!.pointee
            var changes = FuseAttributeChanges()
            if toSet & cfuse_set_attr_mode() != 0 { changes.mode = status.st_mode }
            if toSet & cfuse_set_attr_uid() != 0 { changes.uid = status.st_uid }
            if toSet & cfuse_set_attr_gid() != 0 { changes.gid = status.st_gid }
            if toSet & cfuse_set_attr_size() != 0 { changes.size = UInt64(status.st_size) }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            if toSet & cfuse_set_attr_atime_now() != 0 {
                changes.accessTime = now.nanoseconds
            } else if toSet & cfuse_set_attr_atime() != 0 {
                changes.accessTime = status.st_atim.nanoseconds
            }
            if toSet & cfuse_set_attr_mtime_now() != 0 {
                changes.modificationTime = now.nanoseconds
            } else if toSet & cfuse_set_attr_mtime() != 0 {
                changes.modificationTime = status.st_mtim.nanoseconds
            }
            operations(request).setAttributes(
                FuseRequest(handle: request!), inode: inode, changes: changes)
        }
        ops.readlink = { request, inode in
            operations(request).readLink(FuseRequest(handle: request!), inode: inode)
        }
        ops.mknod = { request, parent, name, mode, rdev in
            operations(request).makeNode(
                FuseRequest(handle: request!), parent: parent, name: bytes(name), mode: mode,
                rdev: UInt64(rdev))
        }
        ops.mkdir = { request, parent, name, mode in
            operations(request).makeDirectory(
                FuseRequest(handle: request!), parent: parent, name: bytes(name), mode: mode)
        }
        ops.unlink = { request, parent, name in
            operations(request).unlink(
                FuseRequest(handle: request!), parent: parent, name: bytes(name))
        }
        ops.rmdir = { request, parent, name in
            operations(request).removeDirectory(
                FuseRequest(handle: request!), parent: parent, name: bytes(name))
        }
        ops.symlink = { request, target, parent, name in
            operations(request).symlink(
                FuseRequest(handle: request!), target: bytes(target), parent: parent,
                name: bytes(name))
        }
        ops.rename = { request, parent, name, newParent, newName, flags in
            // RENAME_NOREPLACE is 1 and RENAME_EXCHANGE 2 in <linux/fs.h>.
            let mode: FuseRenameFlags =
                flags & 2 != 0 ? .exchange : flags & 1 != 0 ? .noReplace : .replace
            operations(request).rename(
                FuseRequest(handle: request!), parent: parent, name: bytes(name),
                newParent: newParent,
                newName: bytes(newName), flags: mode)
        }
        ops.link = { request, inode, newParent, newName in
            operations(request).link(
                FuseRequest(handle: request!), inode: inode, newParent: newParent,
                newName: bytes(newName))
        }
        ops.open = { request, inode, info in
            operations(request).open(
                FuseRequest(handle: request!), inode: inode, flags: info!.pointee.flags)
        }
        ops.create = { request, parent, name, mode, info in
            operations(request).create(
                FuseRequest(handle: request!), parent: parent, name: bytes(name), mode: mode,
                flags: info!.pointee.flags)
        }
        ops.read = { request, inode, size, offset, _ in
            operations(request).read(
                FuseRequest(handle: request!), inode: inode, offset: UInt64(offset), size: size)
        }
        ops.write = { request, inode, data, size, offset, _ in
            // Lent for the call only: the request is answered before it returns.
            let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
            operations(request).write(
                FuseRequest(handle: request!), inode: inode, offset: UInt64(offset), data: bytes)
        }
        ops.flush = { request, inode, _ in
            operations(request).flush(FuseRequest(handle: request!), inode: inode)
        }
        ops.release = { request, inode, _ in
            operations(request).release(FuseRequest(handle: request!), inode: inode)
        }
        ops.fsync = { request, inode, dataOnly, _ in
            operations(request).fsync(
                FuseRequest(handle: request!), inode: inode, dataOnly: dataOnly != 0)
        }
        ops.opendir = { request, inode, _ in
            operations(request).openDirectory(FuseRequest(handle: request!), inode: inode)
        }
        ops.readdir = { request, inode, size, offset, _ in
            operations(request).readDirectory(
                FuseRequest(handle: request!), inode: inode, offset: UInt64(offset), size: size,
                withAttributes: false)
        }
        ops.readdirplus = { request, inode, size, offset, _ in
            operations(request).readDirectory(
                FuseRequest(handle: request!), inode: inode, offset: UInt64(offset), size: size,
                withAttributes: true)
        }
        ops.releasedir = { request, inode, _ in
            operations(request).releaseDirectory(FuseRequest(handle: request!), inode: inode)
        }
        ops.fsyncdir = { request, inode, dataOnly, _ in
            operations(request).fsync(
                FuseRequest(handle: request!), inode: inode, dataOnly: dataOnly != 0)
        }
        ops.statfs = { request, _ in operations(request).statistics(FuseRequest(handle: request!)) }
        ops.setxattr = { request, inode, name, value, size, flags in
            let contents = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            operations(request).setExtendedAttribute(
                FuseRequest(handle: request!), inode: inode, name: bytes(name), value: contents,
                flags: flags)
        }
        ops.getxattr = { request, inode, name, size in
            operations(request).extendedAttribute(
                FuseRequest(handle: request!), inode: inode, name: bytes(name), size: size)
        }
        ops.listxattr = { request, inode, size in
            operations(request).listExtendedAttributes(
                FuseRequest(handle: request!), inode: inode, size: size)
        }
        ops.removexattr = { request, inode, name in
            operations(request).removeExtendedAttribute(
                FuseRequest(handle: request!), inode: inode, name: bytes(name))
        }
    }
}
