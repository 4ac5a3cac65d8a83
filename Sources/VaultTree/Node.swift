import VaultStore

/// A child of a branch: its page, and the node itself once loaded.
struct ChildLink {
    var pointer: PagePointer
    var node: Node?
}

/// One decoded node of the tree (§9.1 of the spec). A node that differs from its page is
/// `dirty` and is written to a new page at the next flush.
final class Node {
    var level: UInt8
    /// Leaves only: the records, packed as on the page.
    var records: LeafRecords
    /// Branches only: the smallest key of each child; the first is empty.
    var keys: [[UInt8]]
    /// Branches only.
    var children: [ChildLink]
    /// The page this node was read from, or nil for a node never written.
    var pointer: PagePointer?
    var isDirty: Bool
    /// The tree operation that last passed through this node, for dropping the least
    /// recently used ones.
    var lastUsed: UInt64 = 0
    /// Where the last entry was inserted since the node was loaded, split or shrunk; for
    /// telling keys that arrive in order from others. Not part of the page.
    var lastInsert: Int?

    var isLeaf: Bool { level == 0 }

    /// Records of a leaf, children of a branch.
    var entryCount: Int { isLeaf ? records.count : children.count }

    /// The smallest key below this node: a leaf's first record's, or a branch's separator
    /// from its parent (as a split leaves it, before the caller clears it).
    var firstKey: [UInt8] { isLeaf ? records.key(at: 0) : keys[0] }

    /// The key of entry `index`: a record's, or a branch's separator.
    func key(at index: Int) -> [UInt8] { isLeaf ? records.key(at: index) : keys[index] }

    init(
        level: UInt8, records: LeafRecords = LeafRecords(), keys: [[UInt8]] = [],
        children: [ChildLink] = []
    ) {
        self.level = level
        self.records = records
        self.keys = keys
        self.children = children
        self.pointer = nil
        self.isDirty = true
    }

    static let headerSize = 8
    static let leafEntryOverhead = 4
    static let branchEntryOverhead = 2 + PagePointer.encodedSize

    /// The largest leaf entry, key and value with their lengths, so that any node that
    /// overflows splits into two that fit.
    public static let maximumLeafEntry = 1024

    var encodedSize: Int {
        if isLeaf { return Self.headerSize + records.byteCount }
        var size = Self.headerSize
        for index in keys.indices {
            size += Self.branchEntryOverhead + (index == 0 ? 0 : keys[index].count)
        }
        return size
    }

    func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: VaultFormat.pageSize)
        writer.u8(isLeaf ? 1 : 2)
        writer.u8(level)
        writer.u16(UInt16(entryCount))
        writer.zeros(4)
        if isLeaf {
            writer.raw(records.bytes)
        } else {
            for index in keys.indices {
                let key = index == 0 ? [] : keys[index]
                writer.u16(UInt16(key.count))
                writer.raw(key)
                writer.raw(children[index].pointer.encoded)
            }
        }
        writer.pad(to: VaultFormat.pageSize)
        return writer.bytes
    }

    /// Decodes a node page; hostile bytes produce an error, never a trap.
    static func decode(_ page: [UInt8], pointer: PagePointer) throws -> Node {
        var reader = ByteReader(page)
        let type = try reader.u8()
        let level = try reader.u8()
        let count = Int(try reader.u16())
        try reader.skip(4)
        guard (type == 1 && level == 0) || (type == 2 && level > 0) else {
            throw VaultError.malformed("node type \(type) at level \(level)")
        }
        let node: Node
        if type == 1 {
            node = Node(
                level: level, records: try LeafRecords(decoding: page, at: headerSize, count: count)
            )
        } else {
            guard count > 0 else { throw VaultError.malformed("empty branch") }
            node = Node(level: level)
            node.keys.reserveCapacity(count)
            node.children.reserveCapacity(count)
            for index in 0..<count {
                let key = try reader.raw(Int(try reader.u16()))
                guard (index == 0) == key.isEmpty else {
                    throw VaultError.malformed("branch key emptiness")
                }
                if index > 1 {
                    guard KeyOrder.precedes(node.keys[index - 1], key) else {
                        throw VaultError.malformed("node keys out of order")
                    }
                }
                node.keys.append(key)
                node.children.append(
                    ChildLink(
                        pointer: try PagePointer(encoded: try reader.raw(PagePointer.encodedSize)),
                        node: nil))
            }
        }
        node.pointer = pointer
        node.isDirty = false
        return node
    }
}
