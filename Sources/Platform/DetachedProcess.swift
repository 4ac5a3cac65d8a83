import CSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Starts a long-lived child in a session of its own, the way a daemon must be started from a
/// Swift process: by spawning a program, never by `fork` alone.
public enum DetachedProcess {
    public struct SpawnError: Error, CustomStringConvertible {
        public var what: String
        public var errno: Int32
        public var description: String { "\(what): \(String(cString: strerror(errno)))" }
    }

    /// Spawns `executable` with `arguments` and `environment` in a new session, standard input
    /// from /dev/null, standard output and error appended to `logPath` (mode 0600), and
    /// `secret` readable on file descriptor 3 through a pipe, so it never passes through argv
    /// or the environment. Returns the child's pid.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], logPath: String,
        secret: [UInt8]
    ) throws(SpawnError) -> pid_t {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SpawnError(what: "pipe", errno: errno) }
        defer { close(ends[0]) }
        // Only the child's copy at 3 stays open across exec.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else {
            close(ends[1])
            throw SpawnError(what: "open \(logPath)", errno: errno)
        }
        defer { close(log) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, log, 1)
        posix_spawn_file_actions_adddup2(&actions, log, 2)
        posix_spawn_file_actions_adddup2(&actions, ends[0], 3)
        _ = csystem_spawn_close_from(&actions, 4)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        // POSIX_SPAWN_SETSID (0x80 in glibc): a session of its own, away from the terminal.
        let result = withCleanSignalAttributes(extraFlags: 0x80) { attributes in
            posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        }
        guard result == 0 else {
            close(ends[1])
            throw SpawnError(what: "spawn \(executable)", errno: result)
        }
        writeAll(ends[1], secret)
        close(ends[1])
        return pid
    }

    /// Whether the child `pid` has exited, reaping it if so; its exit status then.
    public static func exitStatus(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Keeps this process out of core dumps, and out of reach of ptrace by anyone without
    /// CAP_SYS_PTRACE: it holds keys.
    public static func forbidDumpsAndTracing() {
        _ = csystem_forbid_dumps()
    }

    /// Keeps a serving process's memory close to what it holds: its cached blocks are freed by
    /// whatever thread evicts them, and one heap lets every thread reuse that memory where a
    /// heap per thread would keep each share apart; buffers of `mappingThreshold` bytes and up
    /// are mapped on their own and go back to the system when freed.
    public static func tuneHeapForServing(mappingThreshold: Int = 256 << 10) {
        csystem_tune_heap_for_serving(Int32(mappingThreshold))
    }

    /// Gives the system back the whole free pages inside the heap. Blocks evicted from a cache
    /// leave holes between the ones still held, and those stay resident until given back.
    public static func releaseFreeHeap() {
        csystem_release_free_heap()
    }

    /// Reads exactly `count` bytes from `descriptor`, then closes it; nil if it ends early.
    public static func readSecret(from descriptor: Int32, count: Int) -> [UInt8]? {
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes {
                read(descriptor, $0.baseAddress! + done, count - done)
            }
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { return nil }
            done += result
        }
        return bytes
    }
}

/// Reads `descriptor` to its end, retrying on EINTR, and wipes the bounce buffer (the bytes
/// may be a password); nil on a read error.
public func readToEnd(_ descriptor: Int32) -> [UInt8]? {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    defer { for index in buffer.indices { buffer[index] = 0 } }
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count < 0 { return nil }
        if count == 0 { return bytes }
        bytes += buffer[0..<count]
    }
}
