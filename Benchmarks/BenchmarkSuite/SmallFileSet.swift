import Foundation

/// The small-file workload's files: `count` files of 1 to 8 KiB in up to 100 directories,
/// the same names, sizes and bytes on every run, so the bytes read back can be checked.
struct SmallFileSet {
    let count: Int
    let directories: Int
    let sizes: [Int]
    /// Random bytes every file takes its body from, after a header that names it.
    private let body: [UInt8]
    let totalBytes: Int
    /// The wrapping sum of every file's FNV-1a hash: the same whatever order files are read.
    let digest: Int

    init(count: Int) {
        self.count = count
        directories = max(1, min(100, count / 50))
        var generator = SplitMix64(seed: 0x5EED_F11E)
        body = (0..<8192).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        sizes = (0..<count).map { _ in 1024 + Int(generator.next() % 7169) }
        totalBytes = sizes.reduce(0, +)
        var sum: UInt64 = 0
        for index in 0..<count { sum &+= Self.hash(Self.contents(index, sizes[index], body)) }
        digest = Int(truncatingIfNeeded: sum)
    }

    private func directory(_ root: String, _ index: Int) -> String {
        root + "/d" + String(index % directories)
    }

    private func path(_ root: String, _ index: Int) -> String {
        directory(root, index) + "/f\(index).bin"
    }

    private static func contents(_ index: Int, _ size: Int, _ body: [UInt8]) -> [UInt8] {
        Array((Array("file \(index)\n".utf8) + body).prefix(size))
    }

    private static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return value
    }

    /// Creates the directories and files; false (with errno set) at the first failure.
    func create(under root: String) -> Bool {
        guard mkdir(root, 0o755) == 0 else { return false }
        for index in 0..<directories where mkdir(directory(root, index), 0o755) != 0 {
            return false
        }
        for index in 0..<count {
            let bytes = Self.contents(index, sizes[index], body)
            let descriptor = open(path(root, index), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else { return false }
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard close(descriptor) == 0, written == bytes.count else { return false }
        }
        return true
    }

    /// Reads every file by name; the bytes read and the digest of what came back.
    func readAll(under root: String) -> (bytes: Int, digest: Int) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        var total = 0
        var sum: UInt64 = 0
        for index in 0..<count {
            let descriptor = open(path(root, index), O_RDONLY)
            guard descriptor >= 0 else { continue }
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
            guard got > 0 else { continue }
            total += got
            sum &+= Self.hash(buffer[0..<got])
        }
        return (total, Int(truncatingIfNeeded: sum))
    }

    /// Removes every file and directory; how many of them could not be removed.
    func remove(under root: String) -> Int {
        var left = 0
        for index in 0..<count where unlink(path(root, index)) != 0 { left += 1 }
        for index in 0..<directories where rmdir(directory(root, index)) != 0 { left += 1 }
        if rmdir(root) != 0 { left += 1 }
        return left
    }
}

/// A small, fast generator with a fixed seed (Steele, Lea and Flood's SplitMix64).
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
