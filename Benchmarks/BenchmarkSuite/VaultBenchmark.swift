import Crypto
import Foundation
import VaultFS
import VaultStore

/// How a vault's open and commit costs grow with its size: opening a large vault and reading
/// one small file, and committing one small change, each beside the same in an empty vault.
public struct VaultBenchmark: Sendable {
    public struct Configuration: Sendable {
        public var files = 100_000
        /// Total bytes of file data; what the small files leave is one large file.
        public var dataBytes: UInt64 = 1 << 30
        public var samples = 15
        /// Where the vault files go; a temporary directory when nil. Removed afterwards.
        public var directory: String?
        public init() {}
    }

    public struct Report: Encodable, Sendable {
        public var files: Int
        public var dataBytes: UInt64
        public var vaultFileBytes: UInt64
        public var buildSeconds: Double
        public var keyDerivationSeconds: Double
        /// Open with the master key, look up a path two levels down, read the small file.
        public var openAndReadSeconds: Double
        public var openAndReadSecondsEmpty: Double
        public var openAndReadSamples: [Double]
        /// Create a small file, write it, commit with fsync.
        public var commitSeconds: Double
        public var commitSecondsEmpty: Double
        public var commitSamples: [Double]
        public var commitSamplesEmpty: [Double]
        public var pageCacheDropped: Bool
    }

    public var configuration: Configuration
    public init(configuration: Configuration) { self.configuration = configuration }

    public func run() throws -> Report {
        let progress = ProgressLine()
        defer { progress.clear() }
        let directory =
            configuration.directory ?? NSTemporaryDirectory()
            + "claude-env-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        defer {
            if configuration.directory == nil {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        let bigPath = directory + "/large.vault"
        let emptyPath = directory + "/empty.vault"
        for path in [bigPath, emptyPath] { unlink(path) }
        defer { for path in [bigPath, emptyPath] { unlink(path) } }
        let password = SecretBytes(copying: "benchmark password".utf8)

        progress.show("scrypt \(Scrypt.Parameters.default)…")
        let kdfStart = monotonicSeconds()
        _ = try Scrypt.deriveKey(
            password: password, salt: try SystemRandom.bytes(count: 32), parameters: .default,
            outputCount: 32)
        let kdfSeconds = monotonicSeconds() - kdfStart

        let buildStart = monotonicSeconds()
        let bigMaster = try build(
            bigPath, password: password, files: configuration.files,
            dataBytes: configuration.dataBytes, progress: progress)
        let buildSeconds = monotonicSeconds() - buildStart
        let emptyMaster = try build(
            emptyPath, password: password, files: 1, dataBytes: 0, progress: progress)

        let dropped = dropPageCache()
        progress.show("opening the large vault…")
        var openSamples: [Double] = []
        var openEmpty: [Double] = []
        for index in 0..<configuration.samples {
            if index == 0 && dropped { _ = dropPageCache() }
            openSamples.append(
                try openAndRead(bigPath, master: bigMaster, files: configuration.files))
            openEmpty.append(try openAndRead(emptyPath, master: emptyMaster, files: 1))
        }

        progress.show("committing small changes…")
        let commitSamples = try commits(bigPath, master: bigMaster)
        let commitEmpty = try commits(emptyPath, master: emptyMaster)
        var status = stat()
        stat(bigPath, &status)
        return Report(
            files: configuration.files, dataBytes: configuration.dataBytes,
            vaultFileBytes: UInt64(status.st_size),
            buildSeconds: buildSeconds, keyDerivationSeconds: kdfSeconds,
            openAndReadSeconds: median(openSamples),
            openAndReadSecondsEmpty: median(openEmpty), openAndReadSamples: openSamples,
            commitSeconds: median(commitSamples), commitSecondsEmpty: median(commitEmpty),
            commitSamples: commitSamples,
            commitSamplesEmpty: commitEmpty, pageCacheDropped: dropped)
    }

    /// Where the small files live: a hundred directories of a thousand.
    private func smallFilePath(_ index: Int) -> (directory: String, file: String) {
        ("d\(index / 1000)", "f\(index)")
    }

    private func build(
        _ path: String, password: SecretBytes, files: Int, dataBytes: UInt64, progress: ProgressLine
    ) throws -> SecretBytes {
        let device = try FileBlockDevice(creating: path)
        // The cheapest accepted KDF: its cost is measured once, on its own.
        let (store, _) = try PageStore.create(
            device: device, password: password, derivation: .scrypt(.init(logN: 15, r: 8, p: 1)))
        let fs = try VaultFilesystem.format(store, uid: getuid(), gid: getgid())
        var directories: [String: UInt64] = [:]
        let small = [UInt8](repeating: 0x61, count: 500)
        for index in 0..<files {
            let (directory, file) = smallFilePath(index)
            if directories[directory] == nil {
                directories[directory] = try fs.makeDirectory(
                    VaultFilesystem.rootInode, Array(directory.utf8), mode: 0o755, uid: 0, gid: 0
                ).inode
            }
            let node = try fs.makeNode(
                directories[directory]!, Array(file.utf8), mode: 0o644, uid: 0, gid: 0)
            try fs.write(node.inode, at: 0, small)
            if index % 10_000 == 9_999 {
                try fs.commit()
                progress.show("building: \(index + 1) of \(files) small files…")
            }
        }
        let remaining = dataBytes > UInt64(files * 500) ? dataBytes - UInt64(files * 500) : 0
        if remaining > 0 {
            let large = try fs.makeNode(
                VaultFilesystem.rootInode, Array("large".utf8), mode: 0o644, uid: 0, gid: 0)
            let chunk = [UInt8](repeating: 0x5a, count: 1 << 20)
            var offset: UInt64 = 0
            while offset < remaining {
                let count = Int(min(UInt64(chunk.count), remaining - offset))
                try fs.write(large.inode, at: offset, Array(chunk.prefix(count)))
                offset += UInt64(count)
                if offset % (128 << 20) == 0 {
                    try fs.commit()
                    progress.show("building: \(offset >> 20) of \(remaining >> 20) MiB…")
                }
            }
        }
        try fs.commit()
        return SecretBytes(copying: store.masterKey.withUnsafeBytes { Array($0) })
    }

    /// Seconds from opening the file to holding one small file's bytes.
    private func openAndRead(_ path: String, master: SecretBytes, files: Int) throws -> Double {
        let target = smallFilePath(files / 2)
        let start = monotonicSeconds()
        let device = try FileBlockDevice(openingExisting: path, access: .readOnly)
        let store = try PageStore.open(
            device: device, credential: .masterKey(master), readOnly: true)
        let fs = try VaultFilesystem.open(store)
        let directory = try fs.lookup(VaultFilesystem.rootInode, Array(target.directory.utf8))
        let file = try fs.lookup(directory.inode, Array(target.file.utf8))
        let bytes = try fs.read(file.inode, at: 0, count: 4096)
        let elapsed = monotonicSeconds() - start
        precondition(bytes.count == 500, "read \(bytes.count) bytes of the small file")
        return elapsed
    }

    /// Seconds per create-write-commit of one small file, over the configured samples.
    private func commits(_ path: String, master: SecretBytes) throws -> [Double] {
        let device = try FileBlockDevice(openingExisting: path, access: .readWrite)
        let store = try PageStore.open(
            device: device, credential: .masterKey(master), readOnly: false)
        let fs = try VaultFilesystem.open(store)
        var samples: [Double] = []
        let bytes = [UInt8](repeating: 0x62, count: 200)
        for index in 0..<(configuration.samples + 2) {
            let start = monotonicSeconds()
            let node = try fs.makeNode(
                VaultFilesystem.rootInode, Array("new-\(index)".utf8), mode: 0o644, uid: 0, gid: 0)
            try fs.write(node.inode, at: 0, bytes)
            try fs.commit()
            // The first two warm up the path from the root.
            if index >= 2 { samples.append(monotonicSeconds() - start) }
        }
        return samples
    }

    /// Empties the kernel's page cache when running as root, so the first open reads the disk.
    private func dropPageCache() -> Bool {
        sync()
        guard getuid() == 0, let handle = FileHandle(forWritingAtPath: "/proc/sys/vm/drop_caches")
        else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("3\n".utf8))) != nil
    }
}

extension VaultBenchmark.Report {
    public func table() -> String {
        func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }
        var lines = [
            String(
                format: "vault of %d files and %.2f GiB of data (file %.2f GiB), built in %.1f s",
                files,
                Double(dataBytes) / Double(1 << 30), Double(vaultFileBytes) / Double(1 << 30),
                buildSeconds),
            "",
            "measure                               large vault    empty vault   ratio",
            "------------------------------------  -------------  -----------  ------",
        ]
        func row(_ name: String, _ large: Double, _ empty: Double) -> String {
            name.padding(toLength: 38, withPad: " ", startingAt: 0)
                + ms(large).leftPadded(13) + "  " + ms(empty).leftPadded(11) + "  "
                + String(format: "%.2f", large / empty).leftPadded(6)
        }
        lines.append(
            row("open, look up and read one file", openAndReadSeconds, openAndReadSecondsEmpty))
        lines.append(row("create, write and commit one file", commitSeconds, commitSecondsEmpty))
        lines.append("")
        lines.append(
            "medians of \(commitSamples.count); the key derivation (scrypt N=2^17) adds "
                + "\(ms(keyDerivationSeconds)) to opening")
        lines.append(
            pageCacheDropped
                ? "the first open read a cold page cache (dropped as root); the rest are warm"
                : "page cache warm (run as root to drop it before the first open)")
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}
