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
    public static func run(_ program: String, _ arguments: [String]) throws(SpawnError) -> Result {
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

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = withCleanSignalAttributes { attributes in
            posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
        }
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
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitStatus, output: output, error: error)
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
