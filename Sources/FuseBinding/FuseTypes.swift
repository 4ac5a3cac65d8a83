/// An inode's attributes as FUSE reports them (`struct stat`), in Swift types.
public struct FuseAttributes: Sendable {
    public var inode: UInt64
    public var mode: UInt32
    public var linkCount: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var rdev: UInt64
    public var size: UInt64
    /// In 512-byte units.
    public var blocks: UInt64
    /// Nanoseconds since 1970.
    public var accessTime: Int64
    public var modificationTime: Int64
    public var changeTime: Int64

    public init(
        inode: UInt64, mode: UInt32, linkCount: UInt32, uid: UInt32, gid: UInt32, rdev: UInt64,
        size: UInt64,
        blocks: UInt64, accessTime: Int64, modificationTime: Int64, changeTime: Int64
    ) {
        self.inode = inode
        self.mode = mode
        self.linkCount = linkCount
        self.uid = uid
        self.gid = gid
        self.rdev = rdev
        self.size = size
        self.blocks = blocks
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
    }
}

/// A lookup's answer: the inode, its generation, and how long the kernel may cache both.
public struct FuseEntry: Sendable {
    public var attributes: FuseAttributes
    public var generation: UInt64
    public var timeout: Double

    public init(attributes: FuseAttributes, generation: UInt64, timeout: Double) {
        self.attributes = attributes
        self.generation = generation
        self.timeout = timeout
    }
}

/// A `setattr` request: the fields to change, nil for the rest.
public struct FuseAttributeChanges: Sendable {
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var size: UInt64?
    /// Nanoseconds since 1970; `now` is resolved by the binding.
    public var accessTime: Int64?
    public var modificationTime: Int64?
}

/// Space figures for `statfs`.
public struct FuseFilesystemStatistics: Sendable {
    public var blockSize: UInt64
    public var blocks: UInt64
    public var freeBlocks: UInt64
    public var files: UInt64
    public var freeFiles: UInt64
    public var maximumNameLength: UInt64

    public init(
        blockSize: UInt64, blocks: UInt64, freeBlocks: UInt64, files: UInt64, freeFiles: UInt64,
        maximumNameLength: UInt64
    ) {
        self.blockSize = blockSize
        self.blocks = blocks
        self.freeBlocks = freeBlocks
        self.files = files
        self.freeFiles = freeFiles
        self.maximumNameLength = maximumNameLength
    }
}

/// One directory entry for `readdir` and `readdirplus`.
public struct FuseDirectoryEntry: Sendable {
    public var name: [UInt8]
    public var inode: UInt64
    /// The type bits of `st_mode`.
    public var mode: UInt32
    /// The offset to continue after this entry.
    public var nextOffset: UInt64
    /// For `readdirplus`: the entry as `lookup` would give it. Nil for "." and "..", which
    /// the kernel does not take entries for.
    public var entry: FuseEntry?

    public init(
        name: [UInt8], inode: UInt64, mode: UInt32, nextOffset: UInt64, entry: FuseEntry? = nil
    ) {
        self.name = name
        self.inode = inode
        self.mode = mode
        self.nextOffset = nextOffset
        self.entry = entry
    }
}

/// Who made a request.
public struct FuseCaller: Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var umask: UInt32
}

/// The flags of `rename2`.
public enum FuseRenameFlags: Sendable {
    case replace
    case noReplace
    case exchange
}
