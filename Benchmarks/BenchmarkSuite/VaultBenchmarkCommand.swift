import ArgumentParsing
import Foundation

/// `claude-env bench vault`: open and commit costs of a large vault beside an empty one.
public enum VaultBenchmarkCommand {
    public static func command(named name: String, invokedAs invocation: String) -> Command {
        Command(
            name: name,
            abstract: "Measure opening a large vault and committing to it, beside an empty one.",
            discussion: """
                Builds a vault of many small files and one large one (by default 100,000 files \
                and 1 GiB), then times opening it with the master key, looking up one small \
                file and reading it; and creating, writing and committing one small file. The \
                same runs on an empty vault, and the ratio shows how the cost grows with size.
                """,
            options: [
                Option(
                    "files", value: "N", help: "Small files in the large vault (default 100000)."),
                Option("size", value: "GB", help: "Data in the large vault, in GiB (default 1)."),
                Option("samples", value: "N", help: "Timed samples per measurement (default 15)."),
                Option(
                    "path", value: "DIR",
                    help: "Where to build the vaults (default: a temporary directory)."),
                Option("json", value: "FILE", help: "Also write the results as JSON to FILE."),
            ],
            examples: [
                Example(invocation, "Build the 1 GiB vault and measure (a minute or two)."),
                Example("\(invocation) --files 10000 --size 0.1", "A smaller, quicker run."),
            ])
    }

    public static func run(_ arguments: ParsedArguments, path: [String], console: Console) throws
        -> Int32
    {
        var configuration = VaultBenchmark.Configuration()
        if let files = arguments.value("files") {
            guard let value = Int(files), value > 0 else {
                throw UsageError(
                    "option '--files' needs a positive whole number, got '\(files)'", path: path)
            }
            configuration.files = value
        }
        if let size = arguments.value("size") {
            guard let value = Double(size), value >= 0, value < 1024 else {
                throw UsageError("option '--size' needs a number of GiB, got '\(size)'", path: path)
            }
            configuration.dataBytes = UInt64(value * Double(1 << 30))
        }
        if let samples = arguments.value("samples") {
            guard let value = Int(samples), value > 0 else {
                throw UsageError(
                    "option '--samples' needs a positive whole number, got '\(samples)'", path: path
                )
            }
            configuration.samples = value
        }
        configuration.directory = arguments.value("path")
        let report = try VaultBenchmark(configuration: configuration).run()
        console.writeOutput(report.table())
        if let file = arguments.value("json") {
            try report.json().write(to: URL(fileURLWithPath: file))
            console.writeError("wrote \(file)\n")
        }
        return 0
    }
}
