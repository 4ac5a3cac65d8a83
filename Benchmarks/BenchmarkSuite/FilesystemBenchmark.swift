import ArgumentParsing
import Foundation
import Platform
import VaultFS

/// Our FUSE filesystem beside tmpfs, gocryptfs and (when installed) CryFS and securefs, on
/// the same workloads in the same run: sequential and random I/O through fio, many small
/// files through system calls from this process, and a real source tree copied and searched.
///
/// Every system is mounted in a scratch directory for the whole run and the samples take
/// turns between them, so that a drift in the machine's speed touches all alike. Counts that
/// the workloads must reproduce exactly (files found, bytes read, grep matches) are checked
/// on every system, so that a broken filesystem cannot look fast.
public struct FilesystemBenchmark: Sendable {
    public struct Configuration: Sendable {
        public var sequentialBytes = 1 << 30
        public var randomBytes = 256 << 20
        /// fio stops a random pass after this long even if it has not touched every block.
        public var randomSecondsLimit = 20
        public var files = 5000
        public var tree = "/usr/share/doc"
        public var grepPattern = "Copyright"
        public var samples = 3
        /// The block cache our filesystem is mounted with (`mount --cache-size`), in bytes;
        /// nil for its default.
        public var claudeEnvCacheBytes: Int?
        /// The systems to run; nil for our filesystem, gocryptfs, tmpfs and whichever of
        /// CryFS and securefs are installed.
        public var systems: [FilesystemKind]?
        /// The program that serves our filesystem (normally this very program).
        public var claudeEnvExecutable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        /// Where the scratch directory goes; it should be on a real disk, like a vault.
        public var scratchParent = NSTemporaryDirectory()
        public init() {}
    }

    public var configuration: Configuration
    /// Status lines while it runs.
    public var progress: @Sendable (String) -> Void
    /// Polled between steps; true once the user asked to stop.
    public var isInterrupted: @Sendable () -> Bool

    public init(
        configuration: Configuration, progress: @escaping @Sendable (String) -> Void = { _ in },
        isInterrupted: @escaping @Sendable () -> Bool = { false }
    ) {
        self.configuration = configuration
        self.progress = progress
        self.isInterrupted = isInterrupted
    }

    public func run() throws(BenchmarkError) -> FilesystemReport {
        guard getuid() == 0 else {
            throw .needsRoot(
                reason: "it mounts tmpfs and the FUSE systems and drops the page cache before "
                    + "cold reads (/proc/sys/vm/drop_caches)")
        }
        var notes: [String] = []
        let kinds = try chooseSystems(notes: &notes)

        let scratch =
            (configuration.scratchParent as NSString).appendingPathComponent(
                "claude-env-bench-fs-\(UUID().uuidString.prefix(8))")
        guard mkdir(scratch, 0o700) == 0 else {
            throw .workloadFailed(
                system: "host", step: "mkdir \(scratch)", detail: String(cString: strerror(errno)))
        }
        let host = SystemHost(
            scratch: scratch, passwordFile: scratch + "/password", password: "bench-fs-password",
            claudeEnvExecutable: configuration.claudeEnvExecutable,
            tmpfsBytes: configuration.sequentialBytes + configuration.randomBytes + (1 << 30),
            claudeEnvMountOptions: configuration.claudeEnvCacheBytes.map {
                ["--cache-size", ByteSize.describe($0)]
            } ?? [],
            isInterrupted: isInterrupted)
        var mounted: [MountedSystem] = []
        let stage = MountedSystem(kind: .tmpfs, scratch: scratch + "/stage")
        _ = mkdir(scratch + "/stage", 0o700)
        defer {
            for system in mounted.reversed() { host.unmount(system) }
            host.unmount(stage)
            // Never delete through a mount that refused to go away.
            let leftovers =
                (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8))?
                .contains(scratch) ?? true
            if !leftovers { try? FileManager.default.removeItem(atPath: scratch) }
        }
        do {
            try host.password.write(toFile: host.passwordFile, atomically: true, encoding: .utf8)
        } catch {
            throw .workloadFailed(system: "host", step: "password file", detail: "\(error)")
        }

        let tree = try stageTree(stage, host: host)
        for kind in kinds {
            try checkInterrupted()
            progress("mounting \(kind.rawValue)…")
            mounted.append(try host.mount(kind))
        }

        var results = kinds.map { FilesystemReport.SystemResult(name: $0.rawValue) }
        for sample in 1...configuration.samples {
            for (index, system) in mounted.enumerated() {
                let runner = WorkloadRunner(
                    system: system, configuration: configuration, tree: tree,
                    prefix: "[\(sample)/\(configuration.samples)] \(system.kind.rawValue)",
                    progress: progress, isInterrupted: isInterrupted)
                try runner.runAll(into: &results[index])
            }
        }

        // Read each daemon's peak just before it goes, then unmount in the normal way.
        for (index, system) in mounted.enumerated().reversed() {
            if let daemon = system.daemon {
                results[index].peakResidentKiB = SystemHost.peakResidentKiB(daemon)
            }
            progress("unmounting \(system.kind.rawValue)…")
            if !host.unmount(system) {
                notes.append("\(system.mountpoint) would not unmount; remove it with umount -l")
            }
            mounted.removeLast()
        }
        notes.append(
            "random reads start from a dropped page cache, so each 4 KiB read reaches the "
                + "filesystem; sequential writes and random writes end with fsync")
        notes.append(
            "claude-env's block cache: "
                + ByteSize.describe(
                    configuration.claudeEnvCacheBytes
                        ?? VaultFilesystem.CacheLimits.defaultTotalBytes
                ))
        let setup = FilesystemReport.Setup(
            sequentialBytes: configuration.sequentialBytes, randomBytes: configuration.randomBytes,
            randomSecondsLimit: configuration.randomSecondsLimit, files: configuration.files,
            tree: configuration.tree, treeEntries: tree.entries, treeBytes: tree.bytes,
            grepPattern: configuration.grepPattern, samples: configuration.samples)
        return FilesystemReport(setup: setup, systems: results, notes: notes)
    }

    private func checkInterrupted() throws(BenchmarkError) {
        if isInterrupted() { throw .interrupted }
    }

    /// The requested systems, or the default set; every program they need must be installed.
    private func chooseSystems(notes: inout [String]) throws(BenchmarkError) -> [FilesystemKind] {
        guard SystemHost.isInstalled("fio") else {
            throw .missingTool(
                program: "fio", package: "fio", purpose: "for the sequential and random workloads")
        }
        var kinds: [FilesystemKind]
        if let chosen = configuration.systems {
            kinds = FilesystemKind.allCases.filter { chosen.contains($0) }
        } else {
            kinds = [.claudeEnv, .gocryptfs, .tmpfs]
            for optional in [FilesystemKind.cryfs, .securefs] {
                if SystemHost.isInstalled(optional.rawValue) {
                    kinds.append(optional)
                } else {
                    notes.append(
                        "\(optional.rawValue) is not installed, so it was left out; "
                            + "'apt-get install -y \(optional.rawValue)' adds it")
                }
            }
            kinds = FilesystemKind.allCases.filter { kinds.contains($0) }
        }
        for kind in kinds {
            if let tool = kind.tool, !SystemHost.isInstalled(tool.program) {
                throw .missingTool(
                    program: tool.program, package: tool.package,
                    purpose: kind == .gocryptfs
                        ? "as the reference every ratio is taken against"
                        : "to measure \(kind.rawValue)")
            }
        }
        if kinds.contains(where: { $0 != .tmpfs }) && !SystemHost.isInstalled("fusermount3") {
            throw .missingTool(
                program: "fusermount3", package: "fuse3", purpose: "to unmount the FUSE systems")
        }
        return kinds
    }

    /// Copies the source tree onto a tmpfs, so that reading it costs the same for every system,
    /// and takes the counts each copy must reproduce.
    private func stageTree(_ stage: MountedSystem, host: SystemHost) throws(BenchmarkError)
        -> StagedTree
    {
        let source = configuration.tree
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw .workloadFailed(
                system: "host", step: "staging the tree",
                detail: "\(source) is not a directory; give one with --tree DIR")
        }
        progress("staging \(source) on tmpfs…")
        let size = walk(source).bytes
        let stageHost = SystemHost(
            scratch: host.scratch + "/stage", passwordFile: "", password: "",
            claudeEnvExecutable: "", tmpfsBytes: 2 * size + (64 << 20))
        let mountedStage = try stageHost.mount(.tmpfs)
        precondition(mountedStage.mountpoint == stage.mountpoint)
        let path = stage.workDirectory + "/tree"
        let copy = try SystemHost.run("cp", ["-dR", "--preserve=mode,timestamps", source, path])
        guard copy.status == 0 else {
            throw .workloadFailed(system: "host", step: "copying \(source)", detail: copy.errorText)
        }
        let counts = walk(path)
        let matches = try grepMatches(configuration.grepPattern, in: path, system: "host")
        return StagedTree(
            path: path, entries: counts.entries, bytes: counts.bytes, matches: matches)
    }
}

/// The source tree on tmpfs, with the counts every copy must match.
struct StagedTree {
    var path: String
    var entries: Int
    var bytes: Int
    var matches: Int
}

/// The workloads, one sample, on one mounted system.
struct WorkloadRunner {
    let system: MountedSystem
    let configuration: FilesystemBenchmark.Configuration
    let tree: StagedTree
    let prefix: String
    let progress: @Sendable (String) -> Void
    let isInterrupted: @Sendable () -> Bool

    private var name: String { system.kind.rawValue }

    func runAll(into result: inout FilesystemReport.SystemResult) throws(BenchmarkError) {
        try sequential(into: &result)
        try random(into: &result)
        try smallFiles(into: &result)
        try sourceTree(into: &result)
    }

    private func step(_ text: String) throws(BenchmarkError) {
        if isInterrupted() { throw .interrupted }
        if let daemon = system.daemon, let status = DetachedProcess.exitStatus(daemon) {
            system.daemon = nil
            throw .workloadFailed(
                system: name, step: text,
                detail: "the daemon exited with status \(status); see \(system.log)")
        }
        progress("\(prefix): \(text)…")
    }

    private func record(
        _ workload: FilesystemWorkload, _ value: Double,
        in result: inout FilesystemReport.SystemResult
    ) {
        result.samples[workload.rawValue, default: []].append(value)
    }

    private func sequential(into result: inout FilesystemReport.SystemResult)
        throws(BenchmarkError)
    {
        let file = system.workDirectory + "/seq.dat"
        let size = "\(configuration.sequentialBytes)"
        try step("sequential write of \(formatBytes(configuration.sequentialBytes))")
        let write = try fio(
            "seq-write", file, ["--rw=write", "--bs=1M", "--size=\(size)", "--end_fsync=1"])
        record(.sequentialWrite, write.write.bytesPerSecond / 1_048_576, in: &result)
        var info = stat()
        let written = lstat(file, &info) == 0 ? Int(info.st_size) : -1
        result.checks.append(
            .init(
                what: "size of the sequential file", expected: configuration.sequentialBytes,
                observed: written))

        try step("sequential read, cold")
        dropPageCache()
        let cold = try fio("seq-read-cold", file, ["--rw=read", "--bs=1M", "--size=\(size)"])
        record(.sequentialReadCold, cold.read.bytesPerSecond / 1_048_576, in: &result)
        try step("sequential read, warm")
        let warm = try fio(
            "seq-read-warm", file, ["--rw=read", "--bs=1M", "--size=\(size)", "--invalidate=0"])
        record(.sequentialReadWarm, warm.read.bytesPerSecond / 1_048_576, in: &result)
        for (what, job) in [("bytes read cold", cold), ("bytes read warm", warm)] {
            result.checks.append(
                .init(
                    what: what, expected: configuration.sequentialBytes, observed: job.read.bytes))
        }
        unlink(file)
    }

    private func random(into result: inout FilesystemReport.SystemResult) throws(BenchmarkError) {
        let file = system.workDirectory + "/rand.dat"
        let size = "\(configuration.randomBytes)"
        // One pass over every block (fio's random map), capped in time: a longer time-based run
        // would re-read blocks the kernel already caches and stop measuring the filesystem.
        let limits = [
            "--bs=4k", "--size=\(size)", "--io_size=\(size)",
            "--runtime=\(configuration.randomSecondsLimit)", "--invalidate=0",
        ]
        try step("laying out \(formatBytes(configuration.randomBytes)) for random I/O")
        _ = try fio(
            "rand-layout", file, ["--rw=write", "--bs=1M", "--size=\(size)", "--end_fsync=1"])
        dropPageCache()
        try step("random 4 KiB reads")
        let read = try fio("rand-read", file, ["--rw=randread"] + limits)
        record(.randomRead, read.read.operationsPerSecond, in: &result)
        try step("random 4 KiB writes")
        let write = try fio("rand-write", file, ["--rw=randwrite", "--end_fsync=1"] + limits)
        record(.randomWrite, write.write.operationsPerSecond, in: &result)
        unlink(file)
    }

    private func smallFiles(into result: inout FilesystemReport.SystemResult)
        throws(BenchmarkError)
    {
        let root = system.workDirectory + "/files"
        let set = SmallFileSet(count: configuration.files)
        try step("creating \(configuration.files) small files")
        dropPageCache()
        var start = monotonicSeconds()
        guard set.create(under: root) else {
            throw .workloadFailed(
                system: name, step: "creating small files",
                detail: "\(root): \(String(cString: strerror(errno)))")
        }
        record(.createFiles, monotonicSeconds() - start, in: &result)

        try step("stat walk over the small files")
        dropPageCache()
        start = monotonicSeconds()
        let listed = walk(root)
        record(.listFiles, monotonicSeconds() - start, in: &result)
        result.checks.append(
            .init(what: "small files found", expected: set.count, observed: listed.files))
        result.checks.append(
            .init(what: "small-file bytes listed", expected: set.totalBytes, observed: listed.bytes)
        )

        try step("reading the small files")
        dropPageCache()
        start = monotonicSeconds()
        let digest = set.readAll(under: root)
        record(.readFiles, monotonicSeconds() - start, in: &result)
        result.checks.append(
            .init(what: "small-file bytes read", expected: set.totalBytes, observed: digest.bytes))
        result.checks.append(
            .init(
                what: "small-file content digest", expected: set.digest, observed: digest.digest))

        try step("removing the small files")
        start = monotonicSeconds()
        let left = set.remove(under: root)
        record(.removeFiles, monotonicSeconds() - start, in: &result)
        result.checks.append(.init(what: "entries left after removal", expected: 0, observed: left))
    }

    private func sourceTree(into result: inout FilesystemReport.SystemResult)
        throws(BenchmarkError)
    {
        let copyPath = system.workDirectory + "/tree"
        try step("copying \(configuration.tree)")
        var start = monotonicSeconds()
        let copy = try SystemHost.run(
            "cp", ["-dR", "--preserve=mode,timestamps", tree.path, copyPath], system: name)
        record(.copyTree, monotonicSeconds() - start, in: &result)
        guard copy.status == 0 else {
            throw .workloadFailed(system: name, step: "cp -dR", detail: copy.errorText)
        }
        let counts = walk(copyPath)
        result.checks.append(
            .init(what: "tree entries copied", expected: tree.entries, observed: counts.entries))
        result.checks.append(
            .init(what: "tree bytes copied", expected: tree.bytes, observed: counts.bytes))

        try step("grep over the tree, cold")
        dropPageCache()
        start = monotonicSeconds()
        let cold = try grepMatches(configuration.grepPattern, in: copyPath, system: name)
        record(.grepTreeCold, monotonicSeconds() - start, in: &result)
        try step("grep over the tree, warm")
        start = monotonicSeconds()
        let warm = try grepMatches(configuration.grepPattern, in: copyPath, system: name)
        record(.grepTreeWarm, monotonicSeconds() - start, in: &result)
        result.checks.append(
            .init(what: "grep matches, cold", expected: tree.matches, observed: cold))
        result.checks.append(
            .init(what: "grep matches, warm", expected: tree.matches, observed: warm))

        let removal = try SystemHost.run("rm", ["-rf", copyPath], system: name)
        guard removal.status == 0 else {
            throw .workloadFailed(system: name, step: "rm -rf", detail: removal.errorText)
        }
    }

    private struct FioFigures {
        var bytesPerSecond: Double
        var operationsPerSecond: Double
        var bytes: Int
    }

    /// Runs one fio job with the peers' common parameters and returns its read and write sides.
    private func fio(_ job: String, _ file: String, _ arguments: [String]) throws(BenchmarkError)
        -> (read: FioFigures, write: FioFigures)
    {
        let common = [
            "--name=\(job)", "--filename=\(file)", "--ioengine=psync", "--numjobs=1",
            "--direct=0", "--fallocate=none", "--randrepeat=1", "--output-format=json",
        ]
        let result = try SystemHost.run("fio", common + arguments, system: name)
        if isInterrupted() { throw .interrupted }
        let text = result.outputText
        guard result.status == 0, let brace = text.firstIndex(of: "{"),
            let object = try? JSONSerialization.jsonObject(with: Data(text[brace...].utf8)),
            let jobs = (object as? [String: Any])?["jobs"] as? [[String: Any]],
            let first = jobs.first
        else {
            throw .workloadFailed(
                system: name, step: "fio \(job)",
                detail: "status \(result.status): \(result.errorText.suffix(400))")
        }
        func side(_ key: String) -> FioFigures {
            let values = first[key] as? [String: Any] ?? [:]
            return FioFigures(
                bytesPerSecond: (values["bw_bytes"] as? NSNumber)?.doubleValue ?? 0,
                operationsPerSecond: (values["iops"] as? NSNumber)?.doubleValue ?? 0,
                bytes: (values["io_bytes"] as? NSNumber)?.intValue ?? 0)
        }
        return (side("read"), side("write"))
    }
}

/// Writes `3` to drop_caches after a sync: the next read comes from the filesystem itself.
func dropPageCache() {
    sync()
    if let handle = FileHandle(forWritingAtPath: "/proc/sys/vm/drop_caches") {
        try? handle.write(contentsOf: Data("3\n".utf8))
        try? handle.close()
    }
}

/// `grep -rF` over `path`, counting matching lines.
func grepMatches(_ pattern: String, in path: String, system: String) throws(BenchmarkError)
    -> Int
{
    let result = try SystemHost.run("env", ["LC_ALL=C", "grep", "-rF", "-e", pattern, path])
    guard result.status <= 1 else {
        throw .workloadFailed(system: system, step: "grep -rF", detail: result.errorText)
    }
    return result.output.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
}

/// Counts below `root` by a stat of every entry, as `find` and `du` do.
func walk(_ root: String) -> (entries: Int, files: Int, bytes: Int) {
    var entries = 0
    var files = 0
    var bytes = 0
    var pending = [root]
    while let directory = pending.popLast() {
        guard let stream = opendir(directory) else { continue }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            entries += 1
            switch info.st_mode & S_IFMT {
            case S_IFDIR: pending.append(path)
            case S_IFREG:
                files += 1
                bytes += Int(info.st_size)
            default: break
            }
        }
    }
    return (entries, files, bytes)
}
