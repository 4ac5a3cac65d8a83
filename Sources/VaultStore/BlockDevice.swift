import CSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The bytes a vault lives in: a file, or memory in tests.
///
/// The page store's only contact with storage, so that tests can record every write and
/// sync, and replay any prefix of them as a crash would leave it.
public protocol BlockDevice: AnyObject, Sendable {
    /// A name for messages: the file's path.
    var name: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (fewer only at
    /// the end of the device).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int
    /// Writes all of `bytes` at `offset`, growing the device if needed.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
    /// Makes every write so far durable.
    func sync() throws
    /// Starts writing `count` bytes at `offset` to storage without waiting; a hint only, which
    /// promises nothing about durability.
    func startWriteback(at offset: UInt64, count: Int)
    /// Starts reading `count` bytes at `offset` into the system's cache without waiting, for
    /// a read soon; a hint only.
    func startReading(at offset: UInt64, count: Int)
    /// The current size in bytes.
    func size() throws -> UInt64
}

extension BlockDevice {
    public func startWriteback(at offset: UInt64, count: Int) {}
    public func startReading(at offset: UInt64, count: Int) {}

    /// Reads exactly `count` bytes at `offset`, or throws ``VaultError/truncated(path:size:)``.
    func readExactly(_ count: Int, at offset: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = try bytes.withUnsafeMutableBytes { (buffer) throws in
            try self.read(into: buffer, at: offset)
        }
        guard read == count else {
            throw VaultError.truncated(path: name, size: (try? size()) ?? 0)
        }
        return bytes
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { (buffer) throws in try write(buffer, at: offset) }
    }
}

/// A vault file on disk, with the single-writer lock of the format (an `fcntl` lock on byte 0).
public final class FileBlockDevice: BlockDevice {
    // Sendable: the descriptor is fixed at init; pread, pwrite and fsync are thread-safe.
    public let name: String
    private let descriptor: Int32

    public enum Access: Sendable {
        case readOnly
        case readWrite
    }

    /// Opens an existing file and takes its lock: shared for reading, exclusive for writing.
    ///
    /// - Throws: ``VaultError/locked(path:pid:)`` when another process holds a conflicting
    ///   lock, with that process's pid.
    public init(openingExisting path: String, access: Access) throws {
        let flags = (access == .readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC
        let descriptor = open(path, flags)
        guard descriptor >= 0 else {
            throw VaultError.io(operation: "open", path: path, errno: errno)
        }
        self.name = path
        self.descriptor = descriptor
        try lock(exclusive: access == .readWrite)
    }

    /// Opens an existing file for reading without taking any lock, to peek at its header.
    init(reading path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw VaultError.io(operation: "open", path: path, errno: errno)
        }
        self.name = path
        self.descriptor = descriptor
    }

    /// Creates a new file (never replacing one) with mode 0600, and locks it for writing.
    public init(creating path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw VaultError.io(operation: "create", path: path, errno: errno)
        }
        self.name = path
        self.descriptor = descriptor
        try lock(exclusive: true)
    }

    deinit {
        // Closing the descriptor releases the lock.
        close(descriptor)
    }

    /// The pid of the process holding the vault at `path` open for writing, if any.
    public static func writerPID(of path: String) -> Int32? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var probe = flock()
        probe.l_type = Int16(F_WRLCK)
        probe.l_whence = Int16(SEEK_SET)
        probe.l_start = 0
        probe.l_len = 1
        guard fcntl(descriptor, F_GETLK, &probe) == 0, probe.l_type != Int16(F_UNLCK) else {
            return nil
        }
        return probe.l_pid
    }

    private func lock(exclusive: Bool) throws {
        var request = flock()
        request.l_type = Int16(exclusive ? F_WRLCK : F_RDLCK)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = 0
        request.l_len = 1
        if fcntl(descriptor, F_SETLK, &request) == 0 { return }
        let failure = errno
        guard failure == EACCES || failure == EAGAIN else {
            throw VaultError.io(operation: "lock", path: name, errno: failure)
        }
        var probe = request
        let holder: Int32? =
            fcntl(descriptor, F_GETLK, &probe) == 0 && probe.l_type != Int16(F_UNLCK)
            ? probe.l_pid : nil
        throw VaultError.locked(path: name, pid: holder)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let count = pread(
                descriptor, buffer.baseAddress! + done, buffer.count - done,
                off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw VaultError.io(operation: "read", path: name, errno: errno)
            }
            if count == 0 { break }
            done += count
        }
        return done
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let count = pwrite(
                descriptor, bytes.baseAddress! + done, bytes.count - done,
                off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw VaultError.io(operation: "write", path: name, errno: errno)
            }
            done += count
        }
    }

    public func startWriteback(at offset: UInt64, count: Int) {
        _ = csystem_start_writeback(descriptor, Int64(offset), Int64(count))
    }

    /// The kernel cuts one request to read ahead short at the device's read-ahead size or its
    /// largest transfer, whichever is larger: 128 KiB on many machines. Asked in pieces of
    /// that size, the whole range is read.
    static let readAheadPiece: UInt64 = 128 << 10

    public func startReading(at offset: UInt64, count: Int) {
        let end = offset + UInt64(count)
        var position = offset
        while position < end {
            let piece = min(Self.readAheadPiece, end - position)
            _ = posix_fadvise(descriptor, off_t(position), off_t(piece), POSIX_FADV_WILLNEED)
            position += piece
        }
    }

    public func sync() throws {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw VaultError.io(operation: "fsync", path: name, errno: errno)
        }
    }

    public func size() throws -> UInt64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw VaultError.io(operation: "stat", path: name, errno: errno)
        }
        return UInt64(status.st_size)
    }
}

/// The text of a system error number.
func systemErrorText(_ number: Int32) -> String {
    String(cString: strerror(number))
}
