import VaultStore

/// The kinds of record in the tree, each the ninth byte of its key (§9.2 of the spec).
enum RecordType: UInt8 {
    case inode = 1
    case directoryEntry = 2
    case directoryIndex = 3
    case fileBlock = 4
    case inlineData = 5
    case extendedAttribute = 6
    case symlinkTarget = 7
    case orphan = 8
}

/// Builds record keys: the inode number in big-endian order, the type, then the rest.
enum RecordKey {
    static func make(_ inode: UInt64, _ type: RecordType, _ rest: [UInt8] = []) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(9 + rest.count)
        withUnsafeBytes(of: inode.bigEndian) { key.append(contentsOf: $0) }
        key.append(type.rawValue)
        key.append(contentsOf: rest)
        return key
    }

    /// Allocates once: a key like this is made for every block of every read.
    static func make(_ inode: UInt64, _ type: RecordType, number: UInt64) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(17)
        withUnsafeBytes(of: inode.bigEndian) { key.append(contentsOf: $0) }
        key.append(type.rawValue)
        withUnsafeBytes(of: number.bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    /// Every record of `inode`.
    static func prefix(_ inode: UInt64) -> [UInt8] {
        withUnsafeBytes(of: inode.bigEndian, Array.init)
    }

    static func readBigEndian<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// What kind of file an inode is, from the type bits of its mode.
public enum FileType: UInt8, Sendable {
    case fifo = 1
    case characterDevice = 2
    case directory = 4
    case blockDevice = 6
    case regular = 8
    case symbolicLink = 10
    case socket = 12

    /// From `st_mode`; nil for an invalid type.
    public init?(mode: UInt32) {
        self.init(rawValue: UInt8((mode >> 12) & 0xf))
    }

    /// The type bits of `st_mode`.
    public var modeBits: UInt32 { UInt32(rawValue) << 12 }
}

/// An inode's attributes (§9.3 of the spec), as the tree stores them.
public struct InodeAttributes: Sendable, Equatable {
    public var inode: UInt64
    /// `st_mode`: type and permission bits.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var linkCount: UInt32
    public var size: UInt64
    /// Nanoseconds since 1970.
    public var accessTime: Int64
    public var modificationTime: Int64
    public var changeTime: Int64
    public var birthTime: Int64
    public var rdev: UInt64
    var nextCookie: UInt64
    public var generation: UInt32
    var flags: UInt32
    /// For directories, the directory holding this one.
    var parent: UInt64

    static let encodedSize = 88
    static let inlineFlag: UInt32 = 1

    public var type: FileType { FileType(mode: mode) ?? .regular }
    var isInline: Bool {
        get { flags & Self.inlineFlag != 0 }
        set { flags = newValue ? flags | Self.inlineFlag : flags & ~Self.inlineFlag }
    }

    /// The space the file's blocks take, in 512-byte units, as `st_blocks` counts.
    public var blocks512: UInt64 { isInline ? 0 : (size + 4095) / 4096 * 8 }

    func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: Self.encodedSize)
        writer.u32(mode)
        writer.u32(uid)
        writer.u32(gid)
        writer.u32(linkCount)
        writer.u64(size)
        writer.i64(accessTime)
        writer.i64(modificationTime)
        writer.i64(changeTime)
        writer.i64(birthTime)
        writer.u64(rdev)
        writer.u64(nextCookie)
        writer.u32(generation)
        writer.u32(flags)
        writer.u64(parent)
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], inode: UInt64) throws -> InodeAttributes {
        guard bytes.count == encodedSize else {
            throw VaultError.malformed("inode \(inode) record of \(bytes.count) bytes")
        }
        var reader = ByteReader(bytes)
        return InodeAttributes(
            inode: inode, mode: try reader.u32(), uid: try reader.u32(), gid: try reader.u32(),
            linkCount: try reader.u32(), size: try reader.u64(), accessTime: try reader.i64(),
            modificationTime: try reader.i64(), changeTime: try reader.i64(),
            birthTime: try reader.i64(),
            rdev: try reader.u64(), nextCookie: try reader.u64(), generation: try reader.u32(),
            flags: try reader.u32(), parent: try reader.u64())
    }
}

/// A directory entry's value: the child, its type and its cookie.
struct DirectoryEntryValue {
    var inode: UInt64
    var type: FileType
    var cookie: UInt64

    func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 17)
        writer.u64(inode)
        writer.u8(type.rawValue)
        writer.u64(cookie)
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> DirectoryEntryValue {
        guard bytes.count == 17 else { throw VaultError.malformed("directory entry") }
        var reader = ByteReader(bytes)
        let inode = try reader.u64()
        guard let type = FileType(rawValue: try reader.u8()) else {
            throw VaultError.malformed("directory entry type")
        }
        return DirectoryEntryValue(inode: inode, type: type, cookie: try reader.u64())
    }
}

/// One entry as `readdir` returns it.
public struct DirectoryListing: Sendable, Equatable {
    public var name: [UInt8]
    public var inode: UInt64
    public var type: FileType
    /// Pass this back to continue after this entry.
    public var cookie: UInt64
}
