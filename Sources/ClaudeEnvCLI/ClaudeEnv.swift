import ArgumentParsing
import BenchmarkSuite

/// The `claude-env` program: its command tree, and dispatch to each command.
public enum ClaudeEnv {
    /// The program's release version.
    public static let version = "0.1.0"

    public static let programName = "claude-env"

    /// Every command, as the parser and the help see them.
    public static let root = Command(
        name: programName,
        abstract:
            "Keep Claude Code's credentials and home in one encrypted vault, and run it in a container.",
        discussion: """
            claude-env keeps everything the assistant owns (API keys, OAuth tokens, ~/.claude, \
            shell history, notes) in one encrypted vault file, serves it through its own FUSE \
            filesystem, and runs Claude Code in a container that sees only the project and \
            the vault.
            """,
        subcommands: [
            VersionCommand.command,
            BenchCommand.command,
        ],
        examples: [
            Example(
                "claude-env version",
                "Show the versions of claude-env and the libraries it runs with."),
            Example(
                "claude-env bench crypto", "Compare the cipher's speed with OpenSSL's own figures."),
        ])

    /// Runs the program with `arguments` (without the program name) and returns its exit status.
    public static func run(_ arguments: [String], console: Console = .standard) -> Int32 {
        do {
            switch try root.parse(arguments) {
            case .help(let path):
                // `command(at:)` cannot fail for a path the parser produced.
                console.writeOutput(HelpRenderer.render(root.command(at: path)!, path: path))
                return ExitCode.success.rawValue
            case .version:
                console.writeOutput("\(programName) \(version)\n")
                return ExitCode.success.rawValue
            case .run(let path, let parsed):
                return try dispatch(path: path, arguments: parsed, console: console)
            }
        } catch let error as UsageError {
            console.writeError("\(error)\n")
            return ExitCode.usage.rawValue
        } catch {
            console.writeError("error: \(error)\n")
            return ExitCode.failure.rawValue
        }
    }

    private static func dispatch(path: [String], arguments: ParsedArguments, console: Console)
        throws -> Int32
    {
        switch path.dropFirst() {
        case ["version"]:
            return VersionCommand.run(console: console)
        case ["bench", "crypto"]:
            return try CryptoBenchmarkCommand.run(arguments, path: path, console: console)
        default:
            preconditionFailure("no handler for declared command \(path)")
        }
    }
}
