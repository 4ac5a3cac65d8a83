import ArgumentParsing
import BenchmarkSuite
import Foundation

// The crypto benchmark as a standalone program; `claude-env bench crypto` runs the same code.
let root = CryptoBenchmarkCommand.command(named: "crypto-bench", invokedAs: "crypto-bench")
do {
    switch try root.parse(Array(CommandLine.arguments.dropFirst())) {
    case .help(let path):
        print(HelpRenderer.render(root, path: path), terminator: "")
    case .version:
        print("crypto-bench")
    case .run(let path, let arguments):
        exit(try CryptoBenchmarkCommand.run(arguments, path: path, console: .standard))
    }
} catch let error as UsageError {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(64)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
