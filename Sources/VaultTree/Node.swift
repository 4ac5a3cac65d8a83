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
        var bytes = [UInt8]()
        bytes.reserveCapacity(4096)
        bytes.append(isLeaf ? 1 : 2)
        bytes.append(level)
        appendU16(&bytes, UInt16(keys.count))
        bytes.append(contentsOf: [0, 0, 0, 0])
        for index in keys.indices {
            if isLeaf {
                appendU16(&bytes, UInt16(keys[index].count))
                appendU16(&bytes, UInt16(values[index].count))
                bytes.append(contentsOf: keys[index])
                bytes.append(contentsOf: values[index])
            } else {
                let key = index == 0 ? [] : keys[index]
                appendU16(&bytes, UInt16(key.count))
                bytes.append(contentsOf: key)
                bytes.append(contentsOf: children[index].pointer.encoded)
            }
        }
        precondition(bytes.count <= 4096, "node of \(bytes.count) bytes")
        bytes.append(contentsOf: repeatElement(0, count: 4096 - bytes.count))
        return bytes
    }

    /// Decodes a node page; hostile bytes produce an error, never a trap.
    static func decode(_ page: [UInt8], pointer: PagePointer) throws -> Node {
        guard page.count >= headerSize else { throw VaultError.malformed("short node") }
        let type = page[0]
        let level = page[1]
        let count = Int(readU16(page, 2))
        guard (type == 1 && level == 0) || (type == 2 && level > 0) else {
            throw VaultError.malformed("node type \(type) at level \(level)")
        }
        let node = Node(level: level)
        node.keys.reserveCapacity(count)
        var offset = headerSize
        func take(_ length: Int) throws -> [UInt8] {
            guard length >= 0, offset + length <= page.count else {
                throw VaultError.malformed("node entry past its page")
            }
            defer { offset += length }
            return Array(page[offset..<offset + length])
        }
        for index in 0..<count {
            if type == 1 {
                let header = try take(4)
                let key = try take(Int(readU16(header, 0)))
                let value = try take(Int(readU16(header, 2)))
                node.keys.append(key)
                node.values.append(value)
            } else {
                let key = try take(Int(readU16(try take(2), 0)))
                guard (index == 0) == key.isEmpty else {
                    throw VaultError.malformed("branch key emptiness")
                }
                node.keys.append(key)
                node.children.append(
                    ChildLink(
                        pointer: try PagePointer(encoded: try take(PagePointer.encodedSize)),
                        node: nil))
            }
            if index > (type == 1 ? 0 : 1) {
                guard node.keys[index - 1].lexicographicallyPrecedes(node.keys[index]) else {
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

private func appendU16(_ bytes: inout [UInt8], _ value: UInt16) {
    bytes.append(UInt8(value & 0xff))
    bytes.append(UInt8(value >> 8))
}

private func readU16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
    UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
}
