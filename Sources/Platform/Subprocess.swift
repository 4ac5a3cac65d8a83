#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs programs as children with a clean signal state.
///
/// Foundation's `Process` passes on the spawning thread's signal mask; Dispatch's worker
/// threads block every signal, so a child started from one never receives `SIGALRM` or
/// `SIGTERM` (`openssl speed` then loops forever). Here the child always starts with an
/// empty mask and default dispositions.
public enum Subprocess {
    public struct Result: Sendable, Equatable {
        public var status: Int32
        public var output: [UInt8]
        public var error: [UInt8]

        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: error, as: UTF8.self) }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var program: String
        public var errno: Int32

        public var description: String {
            "cannot run \(program): \(String(cString: strerror(errno)))"
        }
    }

    /// Runs `program` (a path, or a name looked up on `PATH`) with `arguments`, waits for it,
    /// and returns its exit status and everything it wrote. A child killed by a signal
    /// reports 128 plus the signal number, as shells do.
    public static func run(
        _ program: String, _ arguments: [String], environment: [String: String]? = nil
    ) throws(SpawnError) -> Result {
        var outputPipe: [Int32] = [0, 0]
        var errorPipe: [Int32] = [0, 0]
        guard makePipe(&outputPipe) else { throw SpawnError(program: program, errno: errno) }
        guard makePipe(&errorPipe) else {
            let saved = errno
            close(outputPipe[0])
            close(outputPipe[1])
            throw SpawnError(program: program, errno: saved)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)

        var pid: pid_t = 0
        let spawned = spawn(&pid, program, arguments, environment, &actions)
        close(outputPipe[1])
        close(errorPipe[1])
        guard spawned == 0 else {
            close(outputPipe[0])
            close(errorPipe[0])
            throw SpawnError(program: program, errno: spawned)
        }

        let (output, error) = drain(outputPipe[0], errorPipe[0])
        close(outputPipe[0])
        close(errorPipe[0])
        return Result(status: wait(for: pid), output: output, error: error)
    }

    /// Runs `program` on this process's terminal and streams: it reads standard input (or
    /// `input`, when given, through a pipe) and writes straight to standard output and error.
    /// While it runs, this process ignores the terminal's interrupt and quit keys, which
    /// belong to the child, as `system(3)` does. Returns the child's exit status.
    public static func runAttached(
        _ program: String, _ arguments: [String], environment: [String: String]? = nil,
        input: [UInt8]? = nil
    ) throws(SpawnError) -> Int32 {
        var inputPipe: [Int32] = [-1, -1]
        if input != nil {
            guard makePipe(&inputPipe) else { throw SpawnError(program: program, errno: errno) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil { posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0) }

        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        var previousInterrupt = sigaction()
        var previousQuit = sigaction()
        sigaction(SIGINT, &ignore, &previousInterrupt)
        sigaction(SIGQUIT, &ignore, &previousQuit)
        defer {
            sigaction(SIGINT, &previousInterrupt, nil)
            sigaction(SIGQUIT, &previousQuit, nil)
        }

        var pid: pid_t = 0
        let spawned = spawn(&pid, program, arguments, environment, &actions)
        if input != nil { close(inputPipe[0]) }
        guard spawned == 0 else {
            if input != nil { close(inputPipe[1]) }
            throw SpawnError(program: program, errno: spawned)
        }
        if let input {
            // A child that stops reading early must not kill this process with SIGPIPE.
            var ignorePipe = sigaction()
            ignorePipe.__sigaction_handler.sa_handler = SIG_IGN
            var previousPipe = sigaction()
            sigaction(SIGPIPE, &ignorePipe, &previousPipe)
            writeAll(inputPipe[1], input)
            close(inputPipe[1])
            sigaction(SIGPIPE, &previousPipe, nil)
        }
        return wait(for: pid)
    }

    /// Waits for `pid`; a child killed by a signal reports 128 plus the signal number.
    private static func wait(for pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// `posix_spawnp` with a clean signal state; returns its result.
    private static func spawn(
        _ pid: inout pid_t, _ program: String, _ arguments: [String],
        _ environment: [String: String]?, _ actions: inout posix_spawn_file_actions_t
    ) -> Int32 {
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        return withEnvironment(environment) { envp in
            withCleanSignalAttributes { attributes in
                posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
            }
        }
    }

    /// Calls `body` with a C environment block: `environment`, or this process's own.
    private static func withEnvironment<R>(
        _ environment: [String: String]?,
        _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        guard let environment else { return body(environ) }
        let block = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { block.forEach { free($0) } }
        return block.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// A pipe whose ends close on exec, so no other child inherits them.
    private static func makePipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    /// Reads both descriptors until each reaches end of file, so that neither pipe can fill
    /// up and stall the child.
    private static func drain(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var collected: [[UInt8]] = [[], []]
        var descriptors = [
            pollfd(fd: first, events: Int16(POLLIN), revents: 0),
            pollfd(fd: second, events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var open = 2
        while open > 0 {
            guard poll(&descriptors, 2, -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<2 where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = read(descriptors[index].fd, &buffer, buffer.count)
                if count > 0 {
                    collected[index].append(contentsOf: buffer[0..<count])
                } else if count == 0 || errno != EINTR {
                    descriptors[index].fd = -1
                    open -= 1
                }
            }
        }
        return (collected[0], collected[1])
    }
}

/// Writes all of `bytes` to `descriptor`, retrying short writes; stops at the first error.
func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
    var written = 0
    while written < bytes.count {
        let count = bytes.withUnsafeBytes {
            write(descriptor, $0.baseAddress! + written, bytes.count - written)
        }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { return }
        written += count
    }
}
