import Crypto

/// What a page holds; bound into each page's authenticated data.
public enum PageKind: UInt8, Sendable {
    case treeNode = 1
    case fileData = 2
    case freeList = 3
}

/// A reference to one sealed page: where it is, which epoch's key sealed it, and its nonce
/// and tag. Held by the page's parent, so the parent authenticates exactly this version of it.
public struct PagePointer: Sendable, Equatable, Hashable {
    public static let encodedSize = 40

    /// The page number; 0 means "no page".
    public var page: UInt64
    public var epoch: UInt32
    public var nonce: AES256GCM.Nonce
    public var tag: AES256GCM.Tag

    public static let null = PagePointer(
        page: 0, epoch: 0, nonce: try! AES256GCM.Nonce(bytes: [UInt8](repeating: 0, count: 12)),
        tag: try! AES256GCM.Tag(bytes: [UInt8](repeating: 0, count: 16)))

    public var isNull: Bool { page == 0 }

    public init(page: UInt64, epoch: UInt32, nonce: AES256GCM.Nonce, tag: AES256GCM.Tag) {
        self.page = page
        self.epoch = epoch
        self.nonce = nonce
        self.tag = tag
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(page)
        hasher.combine(nonce)
    }

    func encode(into writer: inout ByteWriter) {
        writer.u64(page)
        writer.u32(epoch)
        writer.raw(nonce.bytes)
        writer.raw(tag.bytes)
    }

    /// The 40-byte encoding.
    public var encoded: [UInt8] {
        var writer = ByteWriter(capacity: Self.encodedSize)
        encode(into: &writer)
        return writer.bytes
    }

    static func decode(from reader: inout ByteReader) throws -> PagePointer {
        try PagePointer(encoded: try reader.raw(Self.encodedSize))
    }

    /// Decodes a 40-byte encoding.
    public init(encoded bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try PagePointer(encoded: $0) }
    }

    /// Decodes a 40-byte encoding in place: this runs for every block of every read.
    public init(encoded raw: UnsafeRawBufferPointer) throws {
        guard raw.count == Self.encodedSize else {
            throw VaultError.malformed(
                "a page pointer is \(Self.encodedSize) bytes, got \(raw.count)")
        }
        self.init(
            page: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            epoch: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
            nonce: AES256GCM.Nonce(loadingFrom: UnsafeRawBufferPointer(rebasing: raw[12..<24])),
            tag: AES256GCM.Tag(loadingFrom: UnsafeRawBufferPointer(rebasing: raw[24..<40])))
    }
}
