import ArgumentParsing
import BenchmarkSuite

/// `claude-env bench`: the benchmark suites.
enum BenchCommand {
    static let command = Command(
        name: "bench",
        abstract: "Run benchmarks that compare claude-env with the tools it stands beside.",
        subcommands: [
            CryptoBenchmarkCommand.command(named: "crypto", invokedAs: "claude-env bench crypto"),
            VaultBenchmarkCommand.command(named: "vault", invokedAs: "claude-env bench vault"),
            FilesystemBenchmarkCommand.command(named: "fs", invokedAs: "claude-env bench fs"),
        ],
        examples: [
            Example(
                "claude-env bench crypto",
                "Seal and open throughput beside 'openssl speed', and scrypt's cost."),
            Example(
                "claude-env bench vault",
                "Open and commit costs of a 1 GiB vault beside an empty one."),
            Example(
                "claude-env bench fs --svg fs.svg",
                "The mounted vault beside tmpfs and gocryptfs, with a chart."),
        ])
}
