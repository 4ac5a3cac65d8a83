import ArgumentParsing
import Foundation

/// The command-line face of ``CryptoBenchmark``, shared by `claude-env bench crypto` and the
/// standalone `crypto-bench` program.
public enum CryptoBenchmarkCommand {
    public static let options: [Option] = [
        Option("json", value: "FILE", help: "Also write the results as JSON to FILE."),
        Option(
            "samples", value: "N",
            help: "Timed samples per measurement; the median is shown (default 5)."),
        Option("seconds", value: "N", help: "Length of one sample in seconds (default 1)."),
        Option(
            "sizes", value: "LIST",
            help:
                "Message sizes, comma-separated, in bytes or with a K suffix (default 4K,16K,64K)."),
        Option(
            "threads", value: "N", help: "Threads for the all-cores rows (default: every core)."),
    ]

    public static let abstract = "Measure AES-256-GCM and scrypt against OpenSSL's own figures."

    public static let discussion = """
        Seals and opens messages of each size through the same calls the vault uses, on one \
        thread and on all cores, and runs 'openssl speed -evp aes-256-gcm' at the same sizes \
        in the same run, alternating samples. The ratio is ours divided by OpenSSL's. Then \
        times one scrypt derivation at the vault's default parameters.
        """

    /// The command, called `name`, whose examples start with `invocation`.
    public static func command(named name: String, invokedAs invocation: String) -> Command {
        Command(
            name: name, abstract: abstract, discussion: discussion, options: options,
            examples: [
                Example(
                    "\(invocation)",
                    "Run every measurement with the defaults (about three minutes)."),
                Example("\(invocation) --samples 1 --sizes 16K", "A quick look at one size."),
                Example(
                    "\(invocation) --json crypto.json", "Keep the figures for later comparison."),
            ])
    }

    /// Reads the options into a configuration.
    public static func configuration(
        from arguments: ParsedArguments, path: [String]
    ) throws(UsageError) -> CryptoBenchmark.Configuration {
        var configuration = CryptoBenchmark.Configuration()
        if let samples = arguments.value("samples") {
            configuration.samples = try positiveInteger(samples, option: "samples", path: path)
            configuration.scryptSamples = configuration.samples
        }
        if let seconds = arguments.value("seconds") {
            configuration.secondsPerSample = try positiveInteger(
                seconds, option: "seconds", path: path)
        }
        if let threads = arguments.value("threads") {
            configuration.threads = try positiveInteger(threads, option: "threads", path: path)
        }
        if let sizes = arguments.value("sizes") {
            configuration.sizes = try sizes.split(separator: ",").map { (word) throws(UsageError) in
                try size(String(word), path: path)
            }
            if configuration.sizes.isEmpty {
                throw UsageError("option '--sizes' needs at least one size", path: path)
            }
        }
        return configuration
    }

    /// Runs the benchmark, prints the table, and writes JSON if asked. Returns the exit status.
    public static func run(_ arguments: ParsedArguments, path: [String], console: Console) throws
        -> Int32
    {
        let configuration = try configuration(from: arguments, path: path)
        let report = try CryptoBenchmark(configuration: configuration).run()
        console.writeOutput(report.table())
        if let path = arguments.value("json") {
            do {
                try report.json().write(to: URL(fileURLWithPath: path))
            } catch {
                throw BenchmarkError.cannotWrite(path: path, reason: error.localizedDescription)
            }
            console.writeError("wrote \(path)\n")
        }
        return 0
    }

    private static func positiveInteger(_ text: String, option: String, path: [String])
        throws(UsageError) -> Int
    {
        guard let value = Int(text), value > 0 else {
            throw UsageError(
                "option '--\(option)' needs a positive whole number, got '\(text)'", path: path)
        }
        return value
    }

    private static func size(_ text: String, path: [String]) throws(UsageError) -> Int {
        let lowered = text.lowercased()
        let (digits, multiplier) =
            lowered.hasSuffix("k")
            ? (String(lowered.dropLast()), 1024)
            : lowered.hasSuffix("kib") ? (String(lowered.dropLast(3)), 1024) : (lowered, 1)
        guard let value = Int(digits), value > 0, value * multiplier <= 1 << 24 else {
            throw UsageError("'\(text)' is not a size from 1 byte to 16384K", path: path)
        }
        return value * multiplier
    }
}
