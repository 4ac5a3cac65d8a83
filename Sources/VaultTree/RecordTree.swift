import VaultStore

/// The copy-on-write B+tree of (key, value) records that holds all of a vault's metadata
/// (§9 of the spec).
///
/// Changes stay in memory until ``flush()`` writes every changed node to a new page, from
/// the leaves up, and returns the new root; the pages the changed nodes replace are released
/// to the store. Unchanged subtrees keep their pages and are shared with the previous state.
///
/// Not thread-safe: the filesystem above serialises access.
public final class RecordTree {
    public let store: PageStore
    private var root: Node?
    private var rootPointer: PagePointer
    /// How many decoded nodes to keep beyond those with unflushed changes; the least recently
    /// used clean ones go first. The default holds the block map of about half a gigabyte of
    /// file data (some 67 block pointers a leaf), so random reads over a file that size do
    /// not decode the same leaves again and again.
    public let cachedNodeLimit: Int
    /// Counts operations, to stamp the nodes each one passes through.
    private var clock: UInt64 = 0
    /// Nodes decoded or made by splits since the last trim.
    private var loadsSinceTrim = 0
    private var activeOperations = 0
    /// Goes up with every insert and removal: a reader that saw the same count before and
    /// after some work knows that no record changed in between.
    public private(set) var changeCount: UInt64 = 0

    /// The tree whose root page is `root` (`.null` for an empty tree).
    public init(store: PageStore, root: PagePointer, cachedNodeLimit: Int = 2048) {
        self.store = store
        self.rootPointer = root
        self.cachedNodeLimit = max(2, cachedNodeLimit)
    }

    /// Runs one public operation; when the outermost one ends, drops old nodes if there are
    /// too many.
    private func operation<R>(_ body: () throws -> R) rethrows -> R {
        clock += 1
        activeOperations += 1
        defer {
            activeOperations -= 1
            if activeOperations == 0 && loadsSinceTrim >= cachedNodeLimit / 2 { trim() }
        }
        return try body()
    }

    /// How many decoded nodes are held below the root.
    public var loadedNodeCount: Int {
        func count(_ node: Node) -> Int {
            node.children.reduce(0) { total, link in total + (link.node.map { 1 + count($0) } ?? 0)
            }
        }
        return root.map(count) ?? 0
    }

    /// Whether there are changes not yet flushed.
    public var hasChanges: Bool { root?.isDirty ?? false }

    // MARK: - Reading

    /// The value stored under `key`, or nil.
    public func value(for key: [UInt8]) throws -> [UInt8]? {
        try operation {
            guard var node = try rootNode() else { return nil }
            while !node.isLeaf {
                node = try child(of: node, at: Self.childIndex(in: node, for: key))
            }
            let (index, found) = node.records.search(key)
            return found ? node.records.value(at: index) : nil
        }
    }

    /// Calls `body` with every record whose key is at least `start` and below `end`, in key
    /// order, until it returns false. The key and value bytes are lent for the call only, and
    /// `body` must not change the tree.
    public func forEach(
        from start: [UInt8], below end: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try operation {
            guard let root = try rootNode() else { return }
            _ = try visit(root, from: start, below: end, body)
        }
    }

    /// Every record whose key starts with `prefix`, in key order.
    public func forEach(
        withPrefix prefix: [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try forEach(from: prefix, below: Self.successor(ofPrefix: prefix), body)
    }

    private func visit(
        _ node: Node, from start: [UInt8], below end: [UInt8]?,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        if node.isLeaf { return try node.records.visit(from: start, below: end, body) }
        var index = Self.childIndex(in: node, for: start)
        while index < node.children.count {
            if let end, index > 0, !KeyOrder.precedes(node.keys[index], end) { return false }
            guard try visit(try child(of: node, at: index), from: start, below: end, body) else {
                return false
            }
            index += 1
        }
        return true
    }

    // MARK: - Writing

    /// Stores `value` under `key`, replacing any value there.
    public func insert(_ value: [UInt8], for key: [UInt8]) throws {
        changeCount += 1
        return try operation { try insertRecord(value, for: key) }
    }

    private func insertRecord(_ value: [UInt8], for key: [UInt8]) throws {
        precondition(
            Node.leafEntryOverhead + key.count + value.count <= Node.maximumLeafEntry,
            "record of \(key.count)+\(value.count) bytes exceeds the entry limit")
        let root = try rootNode() ?? Node(level: 0)
        self.root = root
        if let sibling = try insert(value, for: key, into: root) {
            let newRoot = Node(
                level: root.level + 1, keys: [[], sibling.firstKey],
                children: [
                    ChildLink(pointer: .null, node: root), ChildLink(pointer: .null, node: sibling),
                ])
            if !sibling.isLeaf { sibling.keys[0] = [] }
            self.root = newRoot
            loadsSinceTrim += 1
        }
    }

    /// The largest value that fits beside a key of `keyLength` bytes.
    public static func maximumValueLength(forKeyLength keyLength: Int) -> Int {
        Node.maximumLeafEntry - Node.leafEntryOverhead - keyLength
    }

    /// Inserts below `node`; returns a new right sibling if `node` had to split. For a branch
    /// sibling, its first key is the separator the parent needs (then cleared by the caller).
    private func insert(_ value: [UInt8], for key: [UInt8], into node: Node) throws -> Node? {
        node.isDirty = true
        // Where the new entry went, and whether it follows the one before it here: keys that
        // arrive in increasing order (a file's blocks, new inodes) split differently.
        let position: Int
        var added = true
        if node.isLeaf {
            let (index, found) = node.records.search(key)
            if found {
                node.records.replaceValue(at: index, with: value)
                added = false
            } else {
                node.records.insert(key: key, value: value, at: index)
            }
            position = index
        } else {
            let index = Self.childIndex(in: node, for: key)
            let target = try child(of: node, at: index)
            guard let sibling = try insert(value, for: key, into: target) else { return nil }
            let separator = sibling.firstKey
            if !sibling.isLeaf { sibling.keys[0] = [] }
            node.keys.insert(separator, at: index + 1)
            node.children.insert(ChildLink(pointer: .null, node: sibling), at: index + 1)
            position = index + 1
        }
        let sequential = added && node.lastInsert.map { $0 + 1 == position } ?? false
        if added { node.lastInsert = position }
        guard node.encodedSize > VaultFormat.pageSize else { return nil }
        node.lastInsert = nil
        return split(node, after: position, sequential: sequential)
    }

    /// Moves part of `node` into a new right sibling. When the entry at `position` that
    /// overflowed it is its last, that entry alone moves; when it continues an ascending run
    /// inside the node, the cut falls just after it; otherwise the upper half moves, by
    /// encoded size. Keys written in order (a file's blocks, new inodes) then fill one node
    /// after another instead of leaving each half empty, which would double the pages a
    /// commit writes and the nodes a cache must hold.
    private func split(_ node: Node, after position: Int, sequential: Bool) -> Node {
        var cut = 0
        if position == node.entryCount - 1 {
            // Without its last entry the node is as it was before the insert, so it fits.
            cut = position
        } else if sequential,
            Self.encodedSize(of: node, below: position + 1) <= VaultFormat.pageSize
        {
            cut = position + 1
        } else {
            let target = node.encodedSize / 2
            var size = Node.headerSize
            while cut < node.entryCount - 1 {
                let entry = Self.entrySize(of: node, at: cut)
                if size + entry > target && cut > 0 { break }
                size += entry
                cut += 1
            }
        }
        loadsSinceTrim += 1
        if node.isLeaf { return Node(level: 0, records: node.records.split(at: cut)) }
        let sibling = Node(
            level: node.level, keys: Array(node.keys[cut...]),
            children: Array(node.children[cut...]))
        node.keys.removeSubrange(cut...)
        node.children.removeSubrange(cut...)
        return sibling
    }

    private static func entrySize(of node: Node, at index: Int) -> Int {
        node.isLeaf
            ? node.records.size(at: index) : Node.branchEntryOverhead + node.keys[index].count
    }

    /// The encoded size of `node`'s first `count` entries alone.
    private static func encodedSize(of node: Node, below count: Int) -> Int {
        (0..<count).reduce(Node.headerSize) { $0 + entrySize(of: node, at: $1) }
    }

    /// Removes the record under `key`; returns whether there was one.
    @discardableResult
    public func remove(_ key: [UInt8]) throws -> Bool {
        changeCount += 1
        return try operation { try removeRecord(key) }
    }

    private func removeRecord(_ key: [UInt8]) throws -> Bool {
        guard let root = try rootNode() else { return false }
        guard try remove(key, from: root) else { return false }
        // A branch left with one child hands the root to it.
        var top = root
        if !top.isLeaf && top.children.isEmpty {
            if let old = top.pointer { store.release(old) }
            top = Node(level: 0)
        }
        while !top.isLeaf && top.children.count == 1 {
            let only = try child(of: top, at: 0)
            if let old = top.pointer { store.release(old) }
            top = only
            top.isDirty = true
        }
        self.root = top
        return true
    }

    private func remove(_ key: [UInt8], from node: Node) throws -> Bool {
        if node.isLeaf {
            let (index, found) = node.records.search(key)
            guard found else { return false }
            node.records.remove(at: index)
            node.lastInsert = nil
            node.isDirty = true
            return true
        }
        let index = Self.childIndex(in: node, for: key)
        let target = try child(of: node, at: index)
        guard try remove(key, from: target) else { return false }
        node.isDirty = true
        node.lastInsert = nil
        if target.entryCount == 0 {
            release(node.children[index])
            node.keys.remove(at: index)
            node.children.remove(at: index)
            if index == 0 && !node.keys.isEmpty { node.keys[0] = [] }
        } else if target.encodedSize < VaultFormat.pageSize / 4 {
            try mergeIfSmall(node, at: index)
        }
        return true
    }

    /// Joins child `index` with a neighbour when both fit in one page.
    private func mergeIfSmall(_ parent: Node, at index: Int) throws {
        let leftIndex = index > 0 ? index - 1 : index
        guard leftIndex + 1 < parent.children.count else { return }
        let left = try child(of: parent, at: leftIndex)
        let right = try child(of: parent, at: leftIndex + 1)
        let separator = parent.keys[leftIndex + 1]
        let rightSize = right.encodedSize - Node.headerSize + (right.isLeaf ? 0 : separator.count)
        guard left.encodedSize + rightSize <= VaultFormat.pageSize else { return }
        if left.isLeaf {
            left.records.append(contentsOf: right.records)
        } else {
            left.keys += [separator] + right.keys.dropFirst()
            left.children += right.children
        }
        left.isDirty = true
        release(parent.children[leftIndex + 1])
        parent.keys.remove(at: leftIndex + 1)
        parent.children.remove(at: leftIndex + 1)
    }

    private func release(_ link: ChildLink) {
        if let node = link.node, let pointer = node.pointer {
            store.release(pointer)
        } else if link.node == nil {
            store.release(link.pointer)
        }
    }

    // MARK: - Flushing

    /// Writes every changed node to a new page and returns the root's pointer, to be named by
    /// the next commit.
    public func flush() throws -> PagePointer {
        guard let root, root.isDirty || root.pointer == nil else { return rootPointer }
        if root.isLeaf && root.records.isEmpty {
            if let old = root.pointer { store.release(old) }
            self.root = nil
            rootPointer = .null
            return .null
        }
        rootPointer = try write(root)
        // The nodes just written are clean now, and may go.
        trim()
        return rootPointer
    }

    private func write(_ node: Node) throws -> PagePointer {
        if !node.isLeaf {
            for index in node.children.indices {
                if let child = node.children[index].node, child.isDirty || child.pointer == nil {
                    node.children[index].pointer = try write(child)
                }
            }
        }
        if let old = node.pointer { store.release(old) }
        let pointer = try store.write(node.encode(), kind: .treeNode)
        if node.isLeaf { node.records.compact() }
        node.pointer = pointer
        node.isDirty = false
        return pointer
    }

    /// Forgets every loaded node below the root, to bound memory; flush first.
    public func dropCachedNodes() {
        guard let root, !root.isDirty else { return }
        for index in root.children.indices { root.children[index].node = nil }
    }

    /// Drops the least recently used clean nodes, with their subtrees, down to half of
    /// ``cachedNodeLimit``. A node is never used after its parent in one operation, so a
    /// subtree is never newer than its top; a clean node has only clean nodes below it.
    private func trim() {
        loadsSinceTrim = 0
        guard let root else { return }
        var loaded = 0
        var stamps: [UInt64] = []
        func survey(_ node: Node) {
            for link in node.children {
                guard let child = link.node else { continue }
                loaded += 1
                if !child.isDirty { stamps.append(child.lastUsed) }
                survey(child)
            }
        }
        survey(root)
        guard loaded > cachedNodeLimit, !stamps.isEmpty else { return }
        stamps.sort()
        let cutoff = stamps[min(loaded - cachedNodeLimit / 2, stamps.count) - 1]
        func drop(_ node: Node) {
            for index in node.children.indices {
                guard let child = node.children[index].node else { continue }
                if !child.isDirty && child.lastUsed <= cutoff {
                    node.children[index].node = nil
                } else {
                    drop(child)
                }
            }
        }
        drop(root)
    }

    // MARK: - Navigation

    private func rootNode() throws -> Node? {
        if let root { return root }
        guard !rootPointer.isNull else { return nil }
        let node = try Node.decode(
            try store.read(rootPointer, kind: .treeNode), pointer: rootPointer)
        root = node
        return node
    }

    private func child(of node: Node, at index: Int) throws -> Node {
        if let loaded = node.children[index].node {
            loaded.lastUsed = clock
            return loaded
        }
        let pointer = node.children[index].pointer
        let child = try Node.decode(try store.read(pointer, kind: .treeNode), pointer: pointer)
        guard child.level + 1 == node.level else {
            throw VaultError.malformed("node level out of place")
        }
        child.lastUsed = clock
        node.children[index].node = child
        loadsSinceTrim += 1
        return child
    }

    /// The child of a branch whose range holds `key`: the last whose first key is not above it.
    static func childIndex(in node: Node, for key: [UInt8]) -> Int {
        var low = 1
        var high = node.keys.count
        while low < high {
            let middle = (low + high) / 2
            if KeyOrder.precedes(key, node.keys[middle]) {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low - 1
    }

    /// The smallest key above every key that starts with `prefix`, or nil if there is none.
    public static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}
