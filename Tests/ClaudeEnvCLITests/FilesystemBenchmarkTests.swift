import ArgumentParsing
import Foundation
import FoundationXML
import Testing

@testable import BenchmarkSuite

@Suite("claude-env bench fs")
struct FilesystemBenchmarkTests {
    /// Fixed figures: our filesystem half as fast as gocryptfs at writing and twice as fast at
    /// creating files, tmpfs ten times gocryptfs at both.
    static func fixedReport(failing: Bool = false) -> FilesystemReport {
        let setup = FilesystemReport.Setup(
            sequentialBytes: 1 << 30, randomBytes: 256 << 20, randomSecondsLimit: 20,
            files: 5000, tree: "/usr/share/doc", treeEntries: 5480, treeBytes: 140 << 20,
            grepPattern: "Copyright", samples: 3)
        let ours = FilesystemReport.SystemResult(
            name: "claude-env",
            samples: ["seq-write": [210, 190, 200], "files-create": [0.5, 0.4, 0.6]],
            peakResidentKiB: 58_880,
            checks: [
                .init(what: "small files found", expected: 5000, observed: failing ? 4999 : 5000)
            ])
        let reference = FilesystemReport.SystemResult(
            name: "gocryptfs", samples: ["seq-write": [400], "files-create": [1.0]],
            peakResidentKiB: 18_022,
            checks: [.init(what: "small files found", expected: 5000, observed: 5000)])
        let baseline = FilesystemReport.SystemResult(
            name: "tmpfs", samples: ["seq-write": [4000], "files-create": [0.1]])
        return FilesystemReport(
            setup: setup, systems: [ours, reference, baseline], notes: ["a fixed report"])
    }

    @Test("ratios read as speed: above 1 is faster, for rates and for times alike")
    func speedups() throws {
        let report = Self.fixedReport()
        #expect(report.result("claude-env")?.figure(.sequentialWrite) == 200)
        #expect(report.speedup("claude-env", over: "gocryptfs", .sequentialWrite) == 0.5)
        #expect(report.speedup("claude-env", over: "gocryptfs", .createFiles) == 2)
        #expect(report.speedup("tmpfs", over: "gocryptfs", .createFiles) == 10)
        #expect(report.speedup("claude-env", over: "tmpfs", .sequentialWrite) == 0.05)
        #expect(report.speedup("claude-env", over: "gocryptfs", .randomRead) == nil)
        #expect(report.workloads == [.sequentialWrite, .createFiles])
    }

    @Test("the table shows each figure, both ratios, the peak RSS and the checks")
    func table() throws {
        let table = Self.fixedReport().table()
        let lines = table.split(separator: "\n").map(String.init)
        let rows = [
            "seq write     MiB/s ↑  claude-env     200         0.50x     0.05x    1.11",
            "                       gocryptfs      400         1.00x     0.10x    1.00",
            "create files  s ↓      claude-env   0.500         2.00x     0.20x    1.50",
            "                       tmpfs        0.100        10.00x     1.00x    1.00",
        ]
        for row in rows { #expect(lines.contains(row), "\(row)") }
        #expect(lines.contains("  claude-env: 57.5 MiB"))
        #expect(!table.contains("tmpfs: "), "tmpfs has no daemon")
        #expect(table.contains("checks: all 2 passed"))
        #expect(table.contains("note: a fixed report"))

        let failing = Self.fixedReport(failing: true)
        #expect(!failing.allChecksPassed)
        let failingTable = failing.table()
        #expect(failingTable.contains("CHECKS FAILED"))
        #expect(failingTable.contains("claude-env: small files found: expected 5000, got 4999"))
        #expect(failingTable.contains("claude-env !     200         0.50x"))
    }

    @Test("the JSON decodes back to the report and carries the medians and ratios")
    func json() throws {
        let report = Self.fixedReport()
        let data = try report.json()
        #expect(try JSONDecoder().decode(FilesystemReport.self, from: data) == report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let summary = try #require(object["summary"] as? [String: [String: [String: Any]]])
        let create = try #require(summary["files-create"]?["claude-env"])
        #expect(create["median"] as? Double == 0.5)
        #expect(create["speedupOverGocryptfs"] as? Double == 2)
        #expect(create["higherIsBetter"] as? Bool == false)
        #expect(summary["seq-write"]?["tmpfs"]?["speedupOverTmpfs"] as? Double == 1)
    }

    @Test("the chart is well-formed SVG with one bar per system and workload, and a legend")
    func svg() throws {
        let svg = Self.fixedReport().svg()
        let document = try XMLDocument(xmlString: svg)
        let root = try #require(document.rootElement())
        #expect(root.name == "svg")
        let rects = root.elements(forName: "rect")
        let bars = rects.filter { !$0.elements(forName: "title").isEmpty }
        #expect(bars.count == 6)
        let titles = bars.compactMap { $0.elements(forName: "title").first?.stringValue }
        #expect(titles.contains("claude-env, seq write: 0.50x"))
        #expect(titles.contains("tmpfs, create files: 10.00x"))
        // A background and three legend swatches beside the bars.
        #expect(rects.count == 6 + 1 + 3)
        let texts = root.elements(forName: "text").compactMap(\.stringValue)
        for label in ["claude-env", "gocryptfs", "tmpfs", "seq write", "create files", "1x"] {
            #expect(texts.contains(label), "\(label)")
        }
        // Faster than the reference rises above the 1.0 line; slower hangs below it.
        func bar(_ title: String) throws -> (y: Double, height: Double) {
            let element = try #require(
                bars.first { $0.elements(forName: "title").first?.stringValue == title })
            // attribute(forName:) misses attributes under a default namespace on Linux.
            func number(_ name: String) -> Double {
                Double(element.attributes?.first { $0.name == name }?.stringValue ?? "") ?? .nan
            }
            return (number("y"), number("height"))
        }
        let slower = try bar("claude-env, seq write: 0.50x")
        let faster = try bar("claude-env, create files: 2.00x")
        let even = try bar("gocryptfs, seq write: 1.00x")
        #expect(abs(slower.y - even.y) < 1.5)
        #expect(faster.y + faster.height <= even.y + 1.5)
        #expect(abs(slower.height - faster.height) < 0.5, "log scale: x2 and /2 are alike")
    }

    @Test(
        "sizes parse with K, M and G and must be whole 4 KiB blocks",
        arguments: [
            ("64M", 64 << 20), ("1G", 1 << 30), ("1GiB", 1 << 30), ("512k", 512 << 10),
            ("8192", 8192), ("1000", nil), ("1.5G", nil), ("0", nil), ("lots", nil),
        ] as [(String, Int?)])
    func sizes(text: String, expected: Int?) {
        let parsed = try? FilesystemBenchmarkCommand.size(text, option: "size", path: ["bench"])
        #expect(parsed == expected)
    }

    @Test("an unknown system is a usage error that lists the known ones")
    func unknownSystem() {
        let result = runCLI(["bench", "fs", "--systems", "tmpfs,zfs"])
        #expect(result.status == 64)
        #expect(result.error.contains("unknown system 'zfs'"))
        #expect(result.error.contains("claude-env, gocryptfs, cryfs, securefs, tmpfs"))
    }

    @Test("the small files read back to the digest they were written with")
    func smallFiles() throws {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("small-files-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let set = SmallFileSet(count: 120)
        #expect(set.sizes.allSatisfy { (1024...8192).contains($0) })
        #expect(set.create(under: root))
        let listed = walk(root)
        #expect(listed.files == 120)
        #expect(listed.bytes == set.totalBytes)
        #expect(set.readAll(under: root) == (set.totalBytes, set.digest))

        // One changed byte must change the digest.
        let victim = root + "/d1/f1.bin"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        #expect(set.readAll(under: root).digest != set.digest)
        #expect(set.remove(under: root) == 0)
        #expect(!FileManager.default.fileExists(atPath: root))
    }

    /// A real run, as small as it gets, on tmpfs and our own mount: every workload measured,
    /// every check passed, and nothing left mounted or on disk afterwards.
    @Test(
        "a tiny real run on tmpfs and the vault passes its checks and cleans up",
        .enabled(if: getuid() == 0, "needs root to mount tmpfs and drop the page cache"),
        .enabled(if: access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse"),
        .enabled(if: access("/usr/bin/fio", X_OK) == 0, "needs fio (apt-get install -y fio)"))
    func tinyRun() throws {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("bench-fs-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let tree = base + "/tree"
        try FileManager.default.createDirectory(
            atPath: tree + "/sub", withIntermediateDirectories: true)
        try "needle one\nhay\nneedle two\n".write(
            toFile: tree + "/a.txt", atomically: true, encoding: .utf8)
        try "hay\nneedle three\n".write(
            toFile: tree + "/sub/b.txt", atomically: true, encoding: .utf8)
        let scratch = base + "/scratch"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

        var configuration = FilesystemBenchmark.Configuration()
        configuration.sequentialBytes = 4 << 20
        configuration.randomBytes = 1 << 20
        configuration.randomSecondsLimit = 5
        configuration.files = 60
        configuration.tree = tree
        configuration.grepPattern = "needle"
        configuration.samples = 1
        configuration.systems = [.tmpfs, .claudeEnv]
        configuration.claudeEnvExecutable =
            productsDirectory.appendingPathComponent("claude-env")
            .path
        configuration.scratchParent = scratch
        // The smallest cache a mount takes, passed on to it.
        configuration.claudeEnvCacheBytes = 8 << 20
        let report = try FilesystemBenchmark(configuration: configuration).run()

        #expect(report.systems.map(\.name) == ["claude-env", "tmpfs"])
        #expect(report.allChecksPassed, "\(report.table())")
        #expect(report.setup.treeEntries == 3)
        #expect(report.notes.contains("claude-env's block cache: 8M"))
        for system in report.systems {
            for workload in FilesystemWorkload.allCases {
                #expect((system.figure(workload) ?? 0) > 0, "\(system.name) \(workload)")
            }
            #expect(system.checks.contains { $0.what == "grep matches, cold" && $0.expected == 3 })
        }
        #expect((report.result("claude-env")?.peakResidentKiB ?? 0) > 0)
        #expect(report.result("tmpfs")?.peakResidentKiB == nil)
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(scratch))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)
    }
}
