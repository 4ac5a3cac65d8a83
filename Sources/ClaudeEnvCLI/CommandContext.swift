import ArgumentParsing
import Platform

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a command may touch of the world it runs in, so that tests can give it another one.
public struct CommandContext: Sendable {
    public var console: Console
    public var environment: [String: String]
    /// Reads all of standard input.
    public var readStandardInput: @Sendable () -> [UInt8]
    /// Whether a person is at a terminal to type a password.
    public var hasTerminal: Bool

    public init(
        console: Console, environment: [String: String],
        readStandardInput: @escaping @Sendable () -> [UInt8],
        hasTerminal: Bool
    ) {
        self.console = console
        self.environment = environment
        self.readStandardInput = readStandardInput
        self.hasTerminal = hasTerminal
    }

    /// The real process: its streams, environment and terminal.
    public static func process(console: Console = .standard) -> CommandContext {
        var environment: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return CommandContext(
            console: console, environment: environment,
            readStandardInput: { readToEnd(0) ?? [] },
            hasTerminal: access("/dev/tty", R_OK | W_OK) == 0 && isatty(0) == 1)
    }
}

/// A command that failed in a way the user can act on: the message says what to do, and the
/// status is one of ``ExitCode``.
public struct CommandFailure: Error, CustomStringConvertible {
    public var message: String
    public var status: ExitCode

    public init(_ message: String, status: ExitCode = .failure) {
        self.message = message
        self.status = status
    }

    public var description: String { message }
}
