import ArgumentParsing
import ClaudeEnvCLI
import Foundation
import Synchronization

/// Runs the program in-process and keeps what it printed.
struct CLIResult {
    var status: Int32
    var output: String
    var error: String
}

func runCLI(_ arguments: [String]) -> CLIResult {
    let output = Mutex("")
    let error = Mutex("")
    let console = Console(
        writeOutput: { text in output.withLock { $0 += text } },
        writeError: { text in error.withLock { $0 += text } })
    let status = ClaudeEnv.run(arguments, console: console)
    return CLIResult(status: status, output: output.withLock { $0 }, error: error.withLock { $0 })
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

func runProcess(_ executable: URL, _ arguments: [String]) throws -> CLIResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
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
