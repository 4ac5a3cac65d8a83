import ArgumentParsing
import ClaudeEnvCLI
import Foundation
import Synchronization

/// Runs the program in-process and keeps what it printed.
struct CLIResult {
    var status: Int32
    var outputBytes: [UInt8]
    var error: String
    var output: String { String(decoding: outputBytes, as: UTF8.self) }

    init(status: Int32, output: String, error: String) {
        self.init(status: status, outputBytes: Array(output.utf8), error: error)
    }

    init(status: Int32, outputBytes: [UInt8], error: String) {
        self.status = status
        self.outputBytes = outputBytes
        self.error = error
    }
}

func runCLI(_ arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [])
    -> CLIResult
{
    let output = Mutex<[UInt8]>([])
    let error = Mutex("")
    let console = Console(
        writeOutputBytes: { bytes in output.withLock { $0 += bytes } },
        writeError: { text in error.withLock { $0 += text } })
    let status: Int32
    if let environment {
        let context = CommandContext(
            console: console, environment: environment, readStandardInput: { input },
            hasTerminal: false)
        status = ClaudeEnv.run(arguments, context: context)
    } else {
        status = ClaudeEnv.run(arguments, console: console)
    }
    return CLIResult(
        status: status, outputBytes: output.withLock { $0 }, error: error.withLock { $0 })
}

/// A home directory of its own, with a password file, for commands that touch the vault.
struct Sandbox {
    let home: String
    let passwordFile: String

    init() throws {
        home =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "claude-env-\(UUID().uuidString)"
            ).path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        passwordFile = home + "/password"
        try "first password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
    }

    var environment: [String: String] { ["HOME": home, "PATH": "/usr/bin:/bin"] }
    var vault: String { home + "/.local/share/claude-env/claude-env.vault" }

    func run(_ arguments: [String], password: String? = nil, input: [UInt8] = []) -> CLIResult {
        let file =
            password.map { text -> String in
                let path = home + "/password-\(UUID().uuidString)"
                try? (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                return path
            } ?? passwordFile
        return runCLI(
            arguments + ["--password-file", file], environment: environment, input: input)
    }

    func remove() { try? FileManager.default.removeItem(atPath: home) }
}

/// Golden files live beside this source file. Set `UPDATE_GOLDEN=1` to rewrite them after an
/// intended change, then review the diff.
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden")

    static func check(_ actual: String, against name: String) throws -> (
        expected: String, actual: String
    ) {
        let file = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true)
            try actual.write(to: file, atomically: true, encoding: .utf8)
        }
        return (try String(contentsOf: file, encoding: .utf8), actual)
    }
}

/// The directory holding the built products, where `claude-env` itself is.
let productsDirectory: URL = {
    // The test runner lives in the same directory as the executables it was built with.
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent()
}()

func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil)
    throws -> CLIResult
{
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLIResult(
        status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
        error: String(decoding: errorData, as: UTF8.self))
}
