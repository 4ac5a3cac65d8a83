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
        abstract: "Keep Claude Code's credentials, home and notes in one encrypted vault file.",
        discussion: """
            claude-env keeps everything the assistant owns (API keys, OAuth tokens, ~/.claude, \
            shell history, notes) in one encrypted vault file: authenticated in every byte, \
            crash safe, and portable to another machine by copying the file.
            """,
        subcommands: [
            BootstrapCommand.command,
            StartCommand.command,
            ContainerCommands.stop,
            ContainerCommands.lock,
            PasswdCommand.command,
            FsckCommand.command,
            MountCommand.mount,
            MountCommand.unmount,
            StatusCommand.command,
            ContainerCommands.buildImage,
            DoctorCommand.command,
            VaultCommand.command,
            VersionCommand.command,
            BenchCommand.command,
        ],
        examples: [
            Example("claude-env bootstrap", "Create the vault; the password is asked twice."),
            Example(
                "claude-env start", "Open a shell in this project's container, vault mounted."),
            Example("claude-env lock", "Stop the vault's containers, unmount it, wipe the key."),
            Example("claude-env vault ls home", "List the home directory kept in the vault."),
            Example(
                "claude-env version",
                "Show the versions of claude-env and the libraries it runs with."),
            Example(
                "claude-env bench crypto", "Compare the cipher's speed with OpenSSL's own figures."),
        ])

    /// Runs the program with `arguments` (without the program name) and returns its exit status.
    public static func run(_ arguments: [String], console: Console = .standard) -> Int32 {
        run(arguments, context: .process(console: console))
    }

    /// Runs the program in `context`, which tests replace.
    public static func run(_ arguments: [String], context: CommandContext) -> Int32 {
        let console = context.console
        do throws(any Error) {
            switch try root.parse(arguments) {
            case .help(let path):
                // `command(at:)` cannot fail for a path the parser produced.
                console.writeOutput(HelpRenderer.render(root.command(at: path)!, path: path))
                return ExitCode.success.rawValue
            case .version:
                console.writeOutput("\(programName) \(version)\n")
                return ExitCode.success.rawValue
            case .run(let path, let parsed):
                return try dispatch(path: path, arguments: parsed, context: context)
            }
        } catch let error as UsageError {
            console.writeError("\(error)\n")
            return ExitCode.usage.rawValue
        } catch let failure as CommandFailure {
            console.writeError("error: \(failure)\n")
            return failure.status.rawValue
        } catch {
            console.writeError("error: \(error)\n")
            return ExitCode.failure.rawValue
        }
    }

    private static func dispatch(
        path: [String], arguments: ParsedArguments, context: CommandContext
    ) throws -> Int32 {
        switch Array(path.dropFirst()) {
        case ["bootstrap"]:
            return try BootstrapCommand.run(arguments, path: path, context: context)
        case ["start"]:
            return try StartCommand.run(arguments, path: path, context: context)
        case ["stop"]:
            return try ContainerCommands.runStop(arguments, path: path, context: context)
        case ["lock"]:
            return try ContainerCommands.runLock(arguments, path: path, context: context)
        case ["build-image"]:
            return try ContainerCommands.runBuildImage(arguments, path: path, context: context)
        case ["doctor"]:
            return try DoctorCommand.run(arguments, path: path, context: context)
        case ["passwd"]:
            return try PasswdCommand.run(arguments, path: path, context: context)
        case ["fsck"]:
            return try FsckCommand.run(arguments, context: context)
        case ["mount"]:
            return try MountCommand.runMount(arguments, path: path, context: context)
        case ["status"]:
            return try StatusCommand.run(arguments, path: path, context: context)
        case ["unmount"]:
            return try MountCommand.runUnmount(arguments, context: context)
        case let words where words.count == 2 && words[0] == "vault":
            return try VaultCommand.run(words[1], arguments, context: context)
        case ["version"]:
            return VersionCommand.run(console: context.console)
        case ["bench", "crypto"]:
            return try CryptoBenchmarkCommand.run(arguments, path: path, console: context.console)
        case ["bench", "vault"]:
            return try VaultBenchmarkCommand.run(arguments, path: path, console: context.console)
        case ["bench", "fs"]:
            return try FilesystemBenchmarkCommand.run(
                arguments, path: path, console: context.console)
        default:
            preconditionFailure("no handler for declared command \(path)")
        }
    }
}
