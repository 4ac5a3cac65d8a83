import Crypto
import Dispatch
import Foundation
import Synchronization

/// Sealing or opening, the two directions of the AEAD.
public enum AEADOperation: String, Codable, Sendable, CaseIterable {
    case seal
    case open
}

public enum BenchmarkError: Error, CustomStringConvertible {
    case openSSLSpeedFailed(command: String, output: String)
    case cannotWrite(path: String, reason: String)
    /// A program the benchmark runs is not installed; `package` is the Debian package.
    case missingTool(program: String, package: String, purpose: String)
    case needsRoot(reason: String)
    case mountFailed(system: String, detail: String)
    case workloadFailed(system: String, step: String, detail: String)
    case interrupted

    public var description: String {
        switch self {
        case .openSSLSpeedFailed(let command, let output):
            return "'\(command)' failed or printed no rate; its output ended with:\n\(output)"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .missingTool(let program, let package, let purpose):
            return "\(program) is not installed and is needed \(purpose); install it with "
                + "'apt-get install -y \(package)' and run again"
        case .needsRoot(let reason):
            return "this benchmark must run as root: \(reason); run it again with sudo"
        case .mountFailed(let system, let detail):
            return "cannot mount \(system): \(detail)"
        case .workloadFailed(let system, let step, let detail):
            return "\(step) failed on \(system): \(detail)"
        case .interrupted:
            return "interrupted; every mount and scratch directory was removed"
        }
    }
}

/// AES-256-GCM seal and open throughput beside `openssl speed`, and one scrypt derivation.
public struct CryptoBenchmark: Sendable {
    public struct Configuration: Sendable {
        public var sizes: [Int] = [4096, 16384, 65536]
        /// Timed samples per measurement; the median is reported.
        public var samples: Int = 5
        /// Length of one sample.
        public var secondsPerSample: Int = 1
        /// Threads (and `openssl speed` processes) for the all-cores rows.
        public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        public var scryptParameters: Scrypt.Parameters = .default
        public var scryptSamples: Int = 3

        public init() {}
    }

    /// One row of the results.
    public struct Row: Encodable, Sendable {
        public var operation: AEADOperation
        public var size: Int
        public var threads: Int
        /// Median bytes per second through `AES256GCM.Key`.
        public var ours: Double
        public var oursSamples: [Double]
        /// Median bytes per second from `openssl speed`, when it ran.
        public var openSSL: Double?
        public var openSSLSamples: [Double]
        public var ratio: Double? { openSSL.map { ours / $0 } }
        /// Fastest sample over fastest sample: less sensitive to a neighbour's burst of load.
        public var bestRatio: Double? {
            guard let theirs = openSSLSamples.max(), let best = oursSamples.max() else {
                return nil
            }
            return best / theirs
        }

        enum CodingKeys: String, CodingKey {
            case operation, size, threads, ours, oursSamples, openSSL, openSSLSamples, ratio,
                bestRatio
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(operation, forKey: .operation)
            try container.encode(size, forKey: .size)
            try container.encode(threads, forKey: .threads)
            try container.encode(ours, forKey: .ours)
            try container.encode(oursSamples, forKey: .oursSamples)
            try container.encodeIfPresent(openSSL, forKey: .openSSL)
            try container.encode(openSSLSamples, forKey: .openSSLSamples)
            try container.encodeIfPresent(ratio, forKey: .ratio)
            try container.encodeIfPresent(bestRatio, forKey: .bestRatio)
        }
    }

    public struct ScryptResult: Codable, Sendable {
        public var logN: UInt8
        public var r: UInt32
        public var p: UInt32
        public var medianSeconds: Double
        public var samples: [Double]
    }

    public struct Report: Encodable, Sendable {
        public var unit = "bytes per second"
        public var cores: Int
        public var openSSLVersion: String
        public var openSSLSpeedAvailable: Bool
        public var samples: Int
        public var secondsPerSample: Int
        public var rows: [Row]
        public var scrypt: ScryptResult
    }

    public var configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Runs every measurement. Ours and OpenSSL's samples alternate, so that a change in the
    /// machine's load affects both alike.
    public func run() throws -> Report {
        let speed = OpenSSLSpeed.locate()
        let progress = ProgressLine()
        defer { progress.clear() }
        let threadCounts = configuration.threads > 1 ? [1, configuration.threads] : [1]
        let total = threadCounts.count * configuration.sizes.count * AEADOperation.allCases.count
        var rows: [Row] = []

        for threads in threadCounts {
            for size in configuration.sizes {
                for operation in AEADOperation.allCases {
                    progress.show(
                        "[\(rows.count + 1)/\(total)] \(operation.rawValue) \(formatSize(size)) "
                            + "on \(threads) thread\(threads == 1 ? "" : "s")…")
                    let workload = try AEADWorkload(operation: operation, size: size)
                    // Warm-up: fills caches, faults in buffers, keys the contexts.
                    _ = try workload.throughput(threads: threads, seconds: 0.2)
                    var ours: [Double] = []
                    var theirs: [Double] = []
                    for _ in 0..<configuration.samples {
                        ours.append(
                            try workload.throughput(
                                threads: threads, seconds: Double(configuration.secondsPerSample)))
                        if let speed {
                            theirs.append(
                                try speed.measure(
                                    size: size, operation: operation, processes: threads,
                                    seconds: configuration.secondsPerSample))
                        }
                    }
                    rows.append(
                        Row(
                            operation: operation, size: size, threads: threads, ours: median(ours),
                            oursSamples: ours, openSSL: theirs.isEmpty ? nil : median(theirs),
                            openSSLSamples: theirs))
                }
            }
        }

        progress.show("scrypt \(configuration.scryptParameters)…")
        let scrypt = try measureScrypt()
        return Report(
            cores: ProcessInfo.processInfo.activeProcessorCount,
            openSSLVersion: OpenSSLLibrary.version, openSSLSpeedAvailable: speed != nil,
            samples: configuration.samples, secondsPerSample: configuration.secondsPerSample,
            rows: rows, scrypt: scrypt)
    }

    private func measureScrypt() throws -> ScryptResult {
        let password = SecretBytes(copying: "correct horse battery staple".utf8)
        let salt = try SystemRandom.bytes(count: 32)
        let parameters = configuration.scryptParameters
        var samples: [Double] = []
        for _ in 0..<max(1, configuration.scryptSamples) {
            let start = monotonicSeconds()
            _ = try Scrypt.deriveKey(
                password: password, salt: salt, parameters: parameters, outputCount: 32)
            samples.append(monotonicSeconds() - start)
        }
        return ScryptResult(
            logN: parameters.logN, r: parameters.r, p: parameters.p, medianSeconds: median(samples),
            samples: samples)
    }
}

/// One size and direction, measured through the same zero-allocation calls the vault uses.
struct AEADWorkload: Sendable {
    let operation: AEADOperation
    let size: Int
    let key: AES256GCM.Key
    /// For opening: a message sealed once, so that every open authenticates successfully.
    let sealed: [UInt8]
    let tag: AES256GCM.Tag
    let nonce: AES256GCM.Nonce
    static let aad = [UInt8](repeating: 0xA5, count: 32)

    init(operation: AEADOperation, size: Int) throws {
        self.operation = operation
        self.size = size
        key = try .random()
        nonce = try .random()
        let message = try SystemRandom.bytes(count: size)
        let result = try key.seal(message, authenticating: Self.aad, nonce: nonce)
        sealed = result.ciphertext
        tag = result.tag
    }

    /// Bytes per second over `seconds`, summed over `threads` threads running at once.
    func throughput(threads: Int, seconds: Double) throws -> Double {
        let bytes = Atomic<Int>(0)
        let failures = Mutex<[any Error]>([])
        let start = monotonicSeconds()
        let deadline = start + seconds
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            do {
                bytes.add(try run(until: deadline), ordering: .relaxed)
            } catch {
                failures.withLock { $0.append(error) }
            }
        }
        let elapsed = monotonicSeconds() - start
        if let failure = failures.withLock({ $0.first }) { throw failure }
        return Double(bytes.load(ordering: .relaxed)) / elapsed
    }

    /// Loops on one thread until `deadline`; returns the bytes processed.
    private func run(until deadline: Double) throws -> Int {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer {
            input.deallocate()
            output.deallocate()
        }
        input.copyBytes(from: sealed)
        var operations = 0
        try Self.aad.withUnsafeBytes { aad in
            repeat {
                // Reading the clock every 16 operations keeps its cost out of the figure.
                for _ in 0..<16 {
                    switch operation {
                    case .seal:
                        _ = try key.seal(
                            UnsafeRawBufferPointer(input), authenticating: aad, nonce: nonce,
                            into: output)
                    case .open:
                        try key.open(
                            UnsafeRawBufferPointer(input), tag: tag, authenticating: aad,
                            nonce: nonce,
                            into: output)
                    }
                }
                operations += 16
            } while monotonicSeconds() < deadline
        }
        return operations * size
    }
}
