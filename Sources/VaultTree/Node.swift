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
    /// Leaves: the record keys. Branches: the smallest key of each child; the first is empty.
    var keys: [[UInt8]]
    /// Leaves only.
    var values: [[UInt8]]
    /// Branches only.
    var children: [ChildLink]
    /// The page this node was read from, or nil for a node never written.
    var pointer: PagePointer?
    var isDirty: Bool
    /// The tree operation that last passed through this node, for dropping the least
    /// recently used ones.
    var lastUsed: UInt64 = 0

    var isLeaf: Bool { level == 0 }

    init(level: UInt8, keys: [[UInt8]] = [], values: [[UInt8]] = [], children: [ChildLink] = []) {
        self.level = level
        self.keys = keys
        self.values = values
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
        var size = Self.headerSize
        if isLeaf {
            for index in keys.indices {
                size += Self.leafEntryOverhead + keys[index].count + values[index].count
            }
        } else {
            for index in keys.indices {
                size += Self.branchEntryOverhead + (index == 0 ? 0 : keys[index].count)
            }
        }
        return size
    }

    func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: VaultFormat.pageSize)
        writer.u8(isLeaf ? 1 : 2)
        writer.u8(level)
        writer.u16(UInt16(keys.count))
        writer.zeros(4)
        for index in keys.indices {
            if isLeaf {
                writer.u16(UInt16(keys[index].count))
                writer.u16(UInt16(values[index].count))
                writer.raw(keys[index])
                writer.raw(values[index])
            } else {
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
        let node = Node(level: level)
        node.keys.reserveCapacity(count)
        for index in 0..<count {
            if type == 1 {
                let keyLength = Int(try reader.u16())
                let valueLength = Int(try reader.u16())
                node.keys.append(try reader.raw(keyLength))
                node.values.append(try reader.raw(valueLength))
            } else {
                let key = try reader.raw(Int(try reader.u16()))
                guard (index == 0) == key.isEmpty else {
                    throw VaultError.malformed("branch key emptiness")
                }
                node.keys.append(key)
                node.children.append(
                    ChildLink(
                        pointer: try PagePointer(encoded: try reader.raw(PagePointer.encodedSize)),
                        node: nil))
            }
            if index > (type == 1 ? 0 : 1) {
                guard KeyOrder.precedes(node.keys[index - 1], node.keys[index]) else {
                    throw VaultError.malformed("node keys out of order")
                }
            }
        }
        guard type == 1 || count > 0 else { throw VaultError.malformed("empty branch") }
        node.pointer = pointer
        node.isDirty = false
        return node
    }
}
