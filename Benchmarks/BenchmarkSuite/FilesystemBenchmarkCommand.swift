import ArgumentParsing
import Dispatch
import Foundation
import Synchronization

/// `claude-env bench fs`: our mounted vault beside tmpfs and the other encrypted filesystems.
public enum FilesystemBenchmarkCommand {
    public static func command(named name: String, invokedAs invocation: String) -> Command {
        Command(
            name: name,
            abstract: "Measure the mounted vault beside tmpfs, gocryptfs, CryFS and securefs.",
            discussion: """
                Creates a fresh vault in a scratch directory and mounts it with this program, \
                mounts tmpfs and a fresh gocryptfs (and CryFS and securefs when installed) \
                beside it, and runs the same workloads on each in turn: sequential write and \
                read (cold and warm) through fio, random 4 KiB reads and writes, small files \
                created, listed by a stat walk, read and removed, and a copy of a real tree \
                with a grep over it. Counts of files, bytes and grep matches are checked on \
                every system. Needs root (mounts, drop_caches), fio and gocryptfs; every mount \
                and scratch directory is removed at the end, also after a failure or Ctrl-C.
                """,
            options: [
                Option(
                    "size", value: "SIZE",
                    help: "Sequential file size, e.g. 1G or 64M (default 1G)."),
                Option(
                    "random-size", value: "SIZE",
                    help: "File for random 4 KiB I/O, e.g. 256M (default 256M)."),
                Option(
                    "random-seconds", value: "N",
                    help: "Time limit of each random pass, in seconds (default 20)."),
                Option("files", value: "N", help: "Small files to create (default 5000)."),
                Option(
                    "tree", value: "DIR",
                    help: "Tree to copy and grep (default /usr/share/doc)."),
                Option(
                    "pattern", value: "TEXT",
                    help: "Fixed string the grep looks for (default Copyright)."),
                Option("samples", value: "N", help: "Samples per workload (default 3)."),
                Option(
                    "cache-size", value: "SIZE",
                    help: "Mount claude-env with this block cache (default 48M)."),
                Option(
                    "systems", value: "LIST",
                    help: "Comma-separated, from claude-env,gocryptfs,cryfs,securefs,tmpfs "
                        + "(default: all that are installed)."),
                Option(
                    "path", value: "DIR",
                    help: "Where the scratch directory goes (default: the temporary directory)."),
                Option("json", value: "FILE", help: "Also write the results as JSON to FILE."),
                Option(
                    "svg", value: "FILE",
                    help: "Also draw a bar chart, relative to gocryptfs, as SVG to FILE."),
            ],
            examples: [
                Example(invocation, "Every workload at full size (ten minutes or more)."),
                Example(
                    "\(invocation) --size 64M --random-size 16M --files 500 --samples 1",
                    "A quick run."),
                Example(
                    "\(invocation) --json fs.json --svg fs.svg",
                    "Keep the figures and a chart for later."),
            ])
    }

    public static func run(_ arguments: ParsedArguments, path: [String], console: Console) throws
        -> Int32
    {
        let configuration = try configuration(from: arguments, path: path)
        let terminal = isatty(STDERR_FILENO) == 1
        let interruption = Interruption()
        let sources = interruption.install()
        defer { interruption.remove(sources) }
        let benchmark = FilesystemBenchmark(
            configuration: configuration,
            progress: { text in
                console.writeError(terminal ? "\r\u{1B}[K\(text)" : text + "\n")
            },
            isInterrupted: { interruption.happened })
        let report: FilesystemReport
        do {
            report = try benchmark.run()
        } catch {
            if terminal { console.writeError("\r\u{1B}[K") }
            throw error
        }
        if terminal { console.writeError("\r\u{1B}[K") }
        console.writeOutput(report.table())
        if let file = arguments.value("json") {
            try write(try report.json(), to: file)
            console.writeError("wrote \(file)\n")
        }
        if let file = arguments.value("svg") {
            try write(Data(report.svg().utf8), to: file)
            console.writeError("wrote \(file)\n")
        }
        return report.allChecksPassed ? 0 : 1
    }

    /// Reads the options into a configuration.
    public static func configuration(from arguments: ParsedArguments, path: [String])
        throws(UsageError) -> FilesystemBenchmark.Configuration
    {
        var configuration = FilesystemBenchmark.Configuration()
        if let text = arguments.value("size") {
            configuration.sequentialBytes = try size(text, option: "size", path: path)
        }
        if let text = arguments.value("random-size") {
            configuration.randomBytes = try size(text, option: "random-size", path: path)
        }
        if let text = arguments.value("random-seconds") {
            configuration.randomSecondsLimit = try count(text, option: "random-seconds", path: path)
        }
        if let text = arguments.value("files") {
            configuration.files = try count(text, option: "files", path: path)
        }
        if let text = arguments.value("samples") {
            configuration.samples = try count(text, option: "samples", path: path)
        }
        if let tree = arguments.value("tree") { configuration.tree = tree }
        if let pattern = arguments.value("pattern") {
            guard !pattern.isEmpty else {
                throw UsageError("option '--pattern' needs some text to look for", path: path)
            }
            configuration.grepPattern = pattern
        }
        if let directory = arguments.value("path") { configuration.scratchParent = directory }
        if let text = arguments.value("cache-size") {
            configuration.claudeEnvCacheBytes = try ByteSize.blocks(
                text, option: "cache-size", within: (8 << 20)...(4 << 30), path: path)
        }
        if let list = arguments.value("systems") {
            var kinds: [FilesystemKind] = []
            for word in list.split(separator: ",") {
                guard let kind = FilesystemKind(rawValue: String(word)) else {
                    let known = FilesystemKind.allCases.map(\.rawValue).joined(separator: ", ")
                    throw UsageError(
                        "unknown system '\(word)' in '--systems'; known: \(known)", path: path)
                }
                kinds.append(kind)
            }
            guard !kinds.isEmpty else {
                throw UsageError("option '--systems' needs at least one system", path: path)
            }
            configuration.systems = kinds
        }
        return configuration
    }

    private static func write(_ data: Data, to file: String) throws(BenchmarkError) {
        do {
            try data.write(to: URL(fileURLWithPath: file))
        } catch {
            throw .cannotWrite(path: file, reason: error.localizedDescription)
        }
    }

    private static func count(_ text: String, option: String, path: [String]) throws(UsageError)
        -> Int
    {
        guard let value = Int(text), value > 0 else {
            throw UsageError(
                "option '--\(option)' needs a positive whole number, got '\(text)'", path: path)
        }
        return value
    }

    /// `64M`, `1G`, `4096`, `512K`: a size in bytes, at least 4 KiB and a whole number of them.
    static func size(_ text: String, option: String, path: [String]) throws(UsageError) -> Int {
        try ByteSize.blocks(text, option: option, path: path)
    }
}

/// SIGINT and SIGTERM, turned into a flag the benchmark polls, so that it can unmount and
/// clean up before it exits. The children that run the workloads (fio, cp, grep) share the
/// terminal's process group and stop at once; the daemons, in sessions of their own, wait to
/// be unmounted.
final class Interruption: Sendable {
    private let flag = Atomic<Bool>(false)

    var happened: Bool { flag.load(ordering: .relaxed) }

    /// Starts catching the signals; hand what it returns to ``remove(_:)`` when done.
    func install() -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "claude-env.bench.fs.signals")
        return [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { self.flag.store(true, ordering: .relaxed) }
            source.resume()
            return source
        }
    }

    func remove(_ sources: [any DispatchSourceSignal]) {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
