#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Counts the sessions of one container across processes: each session holds a shared lock
/// on a file, and the one that can turn it exclusive on leaving is the last, so it stops the
/// container. A session that dies drops its lock with its descriptor.
public final class SessionLock {
    private let descriptor: Int32

    /// Joins the sessions of the container whose lock file is `path`. Waits while a last
    /// session is stopping that container, so a new one never joins a container that is going.
    public init(path: String) throws(ContainerError) {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ContainerError(
                .engineFailed, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_SH) != 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw ContainerError(.engineFailed, "cannot lock \(path): \(reason)")
        }
    }

    /// Leaves. Returns true when no other session is left: this process then holds the lock
    /// exclusively until it is deallocated, so no session can join meanwhile.
    public func leave() -> Bool {
        flock(descriptor, LOCK_EX | LOCK_NB) == 0
    }

    deinit { close(descriptor) }
}
