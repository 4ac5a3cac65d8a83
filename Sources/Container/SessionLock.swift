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
    private let path: String

    /// Joins the sessions of the container whose lock file is `path`. Waits while a last
    /// session is stopping that container, so a new one never joins a container that is going.
    public init(path: String) throws(ContainerError) {
        self.path = path
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

    /// Runs `body`, which starts the container unless it runs, while no other session of it
    /// can: two sessions arriving at once would otherwise both find no container and both
    /// try to start one.
    public func whileStarting<T, Failure: Error>(_ body: () throws(Failure) -> T) throws(Failure)
        -> T
    {
        let starting = open(path + ".start", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        // Without the file the sessions still count right; only the start is not serialised.
        if starting >= 0 {
            while flock(starting, LOCK_EX) != 0 && errno == EINTR {}
        }
        defer { if starting >= 0 { close(starting) } }
        return try body()
    }

    /// Leaves. Returns true when no other session is left: this process then holds the lock
    /// exclusively until it is deallocated, so no session can join meanwhile.
    public func leave() -> Bool {
        flock(descriptor, LOCK_EX | LOCK_NB) == 0
    }

    deinit { close(descriptor) }
}
