import Foundation

/// One thing the filesystem benchmark measures, with its unit and which way is better.
public enum FilesystemWorkload: String, Codable, Sendable, CaseIterable {
    case sequentialWrite = "seq-write"
    case sequentialReadCold = "seq-read-cold"
    case sequentialReadWarm = "seq-read-warm"
    case randomRead = "rand-read-4k"
    case randomWrite = "rand-write-4k"
    case createFiles = "files-create"
    case listFiles = "files-list"
    case readFiles = "files-read"
    case removeFiles = "files-remove"
    case copyTree = "tree-copy"
    case grepTreeCold = "tree-grep-cold"
    case grepTreeWarm = "tree-grep-warm"

    public enum Unit: String, Codable, Sendable {
        case mebibytesPerSecond = "MiB/s"
        case operationsPerSecond = "IOPS"
        case seconds = "s"

        /// MiB/s and IOPS count work done per second; seconds count time taken.
        public var higherIsBetter: Bool { self != .seconds }
    }

    public var unit: Unit {
        switch self {
        case .sequentialWrite, .sequentialReadCold, .sequentialReadWarm: .mebibytesPerSecond
        case .randomRead, .randomWrite: .operationsPerSecond
        default: .seconds
        }
    }

    /// A short label for the table and the chart.
    public var label: String {
        switch self {
        case .sequentialWrite: "seq write"
        case .sequentialReadCold: "seq read cold"
        case .sequentialReadWarm: "seq read warm"
        case .randomRead: "rand read 4K"
        case .randomWrite: "rand write 4K"
        case .createFiles: "create files"
        case .listFiles: "stat walk"
        case .readFiles: "read files"
        case .removeFiles: "remove files"
        case .copyTree: "copy tree"
        case .grepTreeCold: "grep cold"
        case .grepTreeWarm: "grep warm"
        }
    }
}

/// Everything one run of ``FilesystemBenchmark`` found, ready to print, chart or save.
public struct FilesystemReport: Codable, Sendable, Equatable {
    /// What was measured, so that figures from runs of different sizes are not compared.
    public struct Setup: Codable, Sendable, Equatable {
        public var sequentialBytes: Int
        public var randomBytes: Int
        public var randomSecondsLimit: Int
        public var files: Int
        public var tree: String
        public var treeEntries: Int
        public var treeBytes: Int
        public var grepPattern: String
        public var samples: Int

        public init(
            sequentialBytes: Int, randomBytes: Int, randomSecondsLimit: Int, files: Int,
            tree: String, treeEntries: Int, treeBytes: Int, grepPattern: String, samples: Int
        ) {
            self.sequentialBytes = sequentialBytes
            self.randomBytes = randomBytes
            self.randomSecondsLimit = randomSecondsLimit
            self.files = files
            self.tree = tree
            self.treeEntries = treeEntries
            self.treeBytes = treeBytes
            self.grepPattern = grepPattern
            self.samples = samples
        }
    }

    /// A count the workload must produce the same way on every filesystem.
    public struct Check: Codable, Sendable, Equatable {
        public var what: String
        public var expected: Int
        public var observed: Int
        public var passed: Bool { expected == observed }

        public init(what: String, expected: Int, observed: Int) {
            self.what = what
            self.expected = expected
            self.observed = observed
        }
    }

    public struct SystemResult: Codable, Sendable, Equatable {
        public var name: String
        /// Every sample of each workload, in the order taken.
        public var samples: [String: [Double]]
        /// The daemon's peak resident set (VmHWM) over the workloads, for FUSE systems.
        public var peakResidentKiB: Int?
        public var checks: [Check]

        public init(
            name: String, samples: [String: [Double]] = [:], peakResidentKiB: Int? = nil,
            checks: [Check] = []
        ) {
            self.name = name
            self.samples = samples
            self.peakResidentKiB = peakResidentKiB
            self.checks = checks
        }

        /// The median of the workload's samples, or nil if it was not measured.
        public func figure(_ workload: FilesystemWorkload) -> Double? {
            guard let values = samples[workload.rawValue], !values.isEmpty else { return nil }
            return median(values)
        }

        /// The largest sample over the smallest: how far apart the samples were.
        public func spread(_ workload: FilesystemWorkload) -> Double? {
            guard let values = samples[workload.rawValue], let low = values.min(), low > 0,
                let high = values.max()
            else { return nil }
            return high / low
        }

        public var failedChecks: [Check] { checks.filter { !$0.passed } }
    }

    public static let reference = "gocryptfs"
    public static let baseline = "tmpfs"

    public var setup: Setup
    public var systems: [SystemResult]
    public var notes: [String]

    public init(setup: Setup, systems: [SystemResult], notes: [String] = []) {
        self.setup = setup
        self.systems = systems
        self.notes = notes
    }

    public var allChecksPassed: Bool { systems.allSatisfy { $0.failedChecks.isEmpty } }

    /// How much faster `system` did `workload` than `other`: above 1 is faster, whatever the
    /// unit, so that a ratio reads the same way for MiB/s and for seconds.
    public func speedup(_ system: String, over other: String, _ workload: FilesystemWorkload)
        -> Double?
    {
        guard let mine = result(system)?.figure(workload),
            let theirs = result(other)?.figure(workload), mine > 0, theirs > 0
        else { return nil }
        return workload.unit.higherIsBetter ? mine / theirs : theirs / mine
    }

    public func result(_ name: String) -> SystemResult? { systems.first { $0.name == name } }

    /// The workloads that at least one system measured, in their fixed order.
    public var workloads: [FilesystemWorkload] {
        FilesystemWorkload.allCases.filter { workload in
            systems.contains { $0.figure(workload) != nil }
        }
    }
}

// MARK: - Table

extension FilesystemReport {
    /// The results as a table for a terminal: one block per workload, one row per system.
    public func table() -> String {
        let hasReference = result(Self.reference) != nil
        let hasBaseline = result(Self.baseline) != nil
        var lines: [String] = []
        lines.append(
            "filesystem benchmark: seq \(formatBytes(setup.sequentialBytes)), random 4K over "
                + "\(formatBytes(setup.randomBytes)) (at most \(setup.randomSecondsLimit) s), "
                + "\(setup.files) small files, tree \(setup.tree) (\(setup.treeEntries) entries, "
                + "\(formatBytes(setup.treeBytes))), grep '\(setup.grepPattern)'; median of "
                + "\(setup.samples)")
        let header = [
            "workload", "unit", "system", "figure", "vs gocryptfs", "vs tmpfs", "spread",
        ]
        var cells: [[String]] = [header]
        for workload in workloads {
            for (index, system) in systems.enumerated() {
                let figure = system.figure(workload)
                let flagged = system.failedChecks.isEmpty ? "" : " !"
                cells.append([
                    index == 0 ? workload.label : "",
                    index == 0
                        ? workload.unit.rawValue + (workload.unit.higherIsBetter ? " ↑" : " ↓")
                        : "",
                    system.name + flagged,
                    figure.map { formatFigure($0, workload.unit) } ?? "n/a",
                    hasReference ? ratioText(system.name, Self.reference, workload) : "n/a",
                    hasBaseline ? ratioText(system.name, Self.baseline, workload) : "n/a",
                    system.spread(workload).map { String(format: "%.2f", $0) } ?? "n/a",
                ])
            }
        }
        lines += align(cells, leftColumns: 3)
        lines.append(
            "↑ higher is better, ↓ lower is better. 'vs' columns are speed relative to that "
                + "system whatever the unit: 2.00x is twice as fast, 0.50x half as fast. "
                + "spread: largest sample over smallest (1.00 = all alike).")

        let daemons = systems.compactMap { system in
            system.peakResidentKiB.map { (system.name, $0) }
        }
        if !daemons.isEmpty {
            lines.append("")
            lines.append("peak daemon RSS over the workloads (VmHWM, reset after mounting):")
            for (name, kib) in daemons {
                lines.append("  \(name): " + String(format: "%.1f MiB", Double(kib) / 1024))
            }
        }

        lines.append("")
        let failed = systems.flatMap { system in system.failedChecks.map { (system.name, $0) } }
        if failed.isEmpty {
            let count = systems.reduce(0) { $0 + $1.checks.count }
            lines.append("checks: all \(count) passed (file counts, bytes, grep matches).")
        } else {
            lines.append("CHECKS FAILED (the figures of systems marked ! are not to be trusted):")
            for (name, check) in failed {
                lines.append(
                    "  \(name): \(check.what): expected \(check.expected), got \(check.observed)")
            }
        }
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n") + "\n"
    }

    private func ratioText(_ system: String, _ other: String, _ workload: FilesystemWorkload)
        -> String
    {
        speedup(system, over: other, workload).map { String(format: "%.2fx", $0) } ?? "n/a"
    }

    private func align(_ cells: [[String]], leftColumns: Int) -> [String] {
        let widths = cells[0].indices.map { column in
            cells.map { $0[column].count }.max() ?? 0
        }
        var lines: [String] = []
        for (index, row) in cells.enumerated() {
            let padded = row.enumerated().map { column, text in
                let gap = String(repeating: " ", count: widths[column] - text.count)
                return column < leftColumns ? text + gap : gap + text
            }
            var line = padded.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
            if index == 0 {
                lines.append(
                    widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
            }
        }
        return lines
    }

    /// A workload's median on one system, with the same ratios as the table.
    struct Summary: Encodable {
        var unit: String
        var higherIsBetter: Bool
        var median: Double
        var speedupOverGocryptfs: Double?
        var speedupOverTmpfs: Double?
    }

    /// Everything in the report, and beside it each workload's medians and ratios, so that a
    /// reader of the file need not recompute them.
    private struct Export: Encodable {
        var report: FilesystemReport
        var summary: [String: [String: Summary]]

        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(summary, forKey: Key(stringValue: "summary"))
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    /// The results as indented JSON with sorted keys: the report, which decodes back into a
    /// ``FilesystemReport``, and a `summary` of medians and ratios by workload and system.
    public func json() throws -> Data {
        var summary: [String: [String: Summary]] = [:]
        for workload in workloads {
            for system in systems {
                guard let figure = system.figure(workload) else { continue }
                summary[workload.rawValue, default: [:]][system.name] = Summary(
                    unit: workload.unit.rawValue, higherIsBetter: workload.unit.higherIsBetter,
                    median: figure,
                    speedupOverGocryptfs: speedup(system.name, over: Self.reference, workload),
                    speedupOverTmpfs: speedup(system.name, over: Self.baseline, workload))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(Export(report: self, summary: summary))
    }
}

/// A figure with as many digits as it deserves: `1234`, `56.7`, `0.123`.
func formatFigure(_ value: Double, _ unit: FilesystemWorkload.Unit) -> String {
    if unit == .seconds && value < 10 { return String(format: "%.3f", value) }
    if value >= 100 { return String(format: "%.0f", value) }
    if value >= 10 { return String(format: "%.1f", value) }
    return String(format: "%.2f", value)
}

/// Byte counts as people read them, to one decimal where it is not whole.
func formatBytes(_ bytes: Int) -> String {
    let units: [(Int, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
    for (size, name) in units where bytes >= size {
        let whole = bytes % size == 0
        return (whole ? "\(bytes / size)" : String(format: "%.1f", Double(bytes) / Double(size)))
            + " " + name
    }
    return "\(bytes) B"
}
