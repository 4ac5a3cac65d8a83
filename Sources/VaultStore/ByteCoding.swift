/// Appends little-endian integers and raw bytes to a buffer.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { append(littleEndian: value) }
    public mutating func u32(_ value: UInt32) { append(littleEndian: value) }
    public mutating func u64(_ value: UInt64) { append(littleEndian: value) }
    public mutating func i64(_ value: Int64) { append(littleEndian: UInt64(bitPattern: value)) }
    public mutating func raw(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }
    public mutating func zeros(_ count: Int) {
        bytes.append(contentsOf: repeatElement(0, count: count))
    }

    /// Pads with zeros up to `length`.
    public mutating func pad(to length: Int) {
        precondition(
            bytes.count <= length, "encoded \(bytes.count) bytes into a \(length)-byte field")
        zeros(length - bytes.count)
    }

    private mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads little-endian integers and raw bytes, throwing instead of reading out of bounds.
///
/// Every parser of bytes from a vault file goes through this, so hostile input can only ever
/// produce ``VaultError/malformed(_:)``.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = min(end ?? bytes.count, bytes.count)
    }

    public var remaining: Int { max(0, end - offset) }

    public mutating func u8() throws -> UInt8 { try integer() }
    public mutating func u16() throws -> UInt16 { try integer() }
    public mutating func u32() throws -> UInt32 { try integer() }
    public mutating func u64() throws -> UInt64 { try integer() }
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try integer()) }

    public mutating func raw(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw VaultError.malformed("a \(count)-byte field runs past the end of its structure")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func skip(_ count: Int) throws {
        guard count >= 0, count <= remaining else {
            throw VaultError.malformed("a \(count)-byte gap runs past the end of its structure")
        }
        offset += count
    }

    private mutating func integer<T: FixedWidthInteger>() throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else {
            throw VaultError.malformed("a \(size)-byte integer runs past the end of its structure")
        }
        var value: T = 0
        for index in 0..<size {
            value |= T(bytes[offset + index]) << (8 * index)
        }
        offset += size
        return value
    }
}
