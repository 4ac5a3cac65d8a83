import Crypto
import TestSupport
import Testing
import VaultStore
import VaultTree

func makeTree() throws -> (RecordTree, PageStore, MemoryBlockDevice) {
    let device = MemoryBlockDevice()
    let (store, _) = try PageStore.create(
        device: device, password: SecretBytes(copying: "pw".utf8),
        derivation: .scrypt(Scrypt.Parameters(logN: 15, r: 8, p: 1)))
    return (RecordTree(store: store, root: .null), store, device)
}

@Suite("record tree")
struct RecordTreeTests {
    @Test(
        "random inserts, updates and removals match a dictionary, across flushes and reopens",
        arguments: [1, 2, 3])
    func modelBased(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        var (tree, store, device) = try makeTree()
        var model: [[UInt8]: [UInt8]] = [:]
        var keys: [[UInt8]] = []

        for step in 0..<4000 {
            let choice = Int.random(in: 0..<10, using: &random)
            if choice < 5 || keys.isEmpty {
                let key = (0..<Int.random(in: 1...40, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
                let value = [UInt8](
                    repeating: UInt8(step & 0xff), count: Int.random(in: 0...300, using: &random))
                try tree.insert(value, for: key)
                if model[key] == nil { keys.append(key) }
                model[key] = value
            } else if choice < 7 {
                let key = keys[Int.random(in: 0..<keys.count, using: &random)]
                let value = Array("updated \(step)".utf8)
                try tree.insert(value, for: key)
                model[key] = value
            } else {
                let index = Int.random(in: 0..<keys.count, using: &random)
                let key = keys.remove(at: index)
                #expect(try tree.remove(key))
                model[key] = nil
                #expect(try tree.remove(key) == false)
            }
            if step % 97 == 0 {
                let probe =
                    keys.isEmpty ? [1] : keys[Int.random(in: 0..<keys.count, using: &random)]
                #expect(try tree.value(for: probe) == model[probe])
            }
            if step % 500 == 499 {
                let root = try tree.flush()
                try store.commit(root: root, nextInode: 2)
                if step % 1000 == 999 {
                    store = try PageStore.open(
                        device: device, credential: .masterKey(store.masterKey), readOnly: false)
                    tree = RecordTree(store: store, root: store.committed.root)
                }
                try checkEverything(tree, store: store, model: model)
            }
        }
        // Remove everything: the tree empties and every page is free but the free list's one.
        for key in keys { #expect(try tree.remove(key)) }
        let root = try tree.flush()
        try store.commit(root: root, nextInode: 2)
        #expect(root.isNull)
        #expect(store.usage.freePages == store.usage.pageCount - 4 - 1)
    }

    @Test("with a small node cache, clean nodes are dropped and reloaded without changing a record")
    func boundedNodeCache() throws {
        var random = SplitMix(state: 7)
        let (_, store, _) = try makeTree()
        var tree = RecordTree(store: store, root: .null, cachedNodeLimit: 8)
        var model: [[UInt8]: [UInt8]] = [:]
        for step in 0..<6000 {
            let key = Array("key \(Int.random(in: 0..<3000, using: &random))".utf8)
            if step % 7 == 3 {
                #expect(try tree.remove(key) == (model.removeValue(forKey: key) != nil))
            } else {
                let value = [UInt8](repeating: UInt8(step & 0xff), count: step % 90)
                try tree.insert(value, for: key)
                model[key] = value
            }
            if step % 250 == 249 {
                try store.commit(root: try tree.flush(), nextInode: 2)
                for probe in model.keys.shuffled(using: &random).prefix(200) {
                    #expect(try tree.value(for: probe) == model[probe])
                }
                #expect(tree.loadedNodeCount <= 8 + 4)
            }
        }
        tree = RecordTree(store: store, root: try tree.flush(), cachedNodeLimit: 8)
        try checkEverything(tree, store: store, model: model)
    }

    func checkEverything(_ tree: RecordTree, store: PageStore, model: [[UInt8]: [UInt8]]) throws {
        var seen: [([UInt8], [UInt8])] = []
        try tree.forEach(from: []) { key, value in
            seen.append((Array(key), Array(value)))
            return true
        }
        let expected = model.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        #expect(seen.map(\.0) == expected.map(\.key))
        #expect(seen.map(\.1) == expected.map(\.value))

        let report = tree.verify(root: store.committed.root)
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.records == model.count)
        // No page leaks: the pages in use are the nodes plus the free list's own pages.
        let usage = store.usage
        let inUse = usage.pageCount - 4 - usage.freePages
        #expect(inUse >= UInt64(report.nodePages.count))
        #expect(inUse <= UInt64(report.nodePages.count) + 2)
    }

    @Test("prefix scans return exactly the matching records in order")
    func prefixScan() throws {
        let (tree, _, _) = try makeTree()
        for a in 0..<20 {
            for b in 0..<50 { try tree.insert([UInt8(b)], for: [UInt8(a), 0xff, UInt8(b)]) }
        }
        var found: [[UInt8]] = []
        try tree.forEach(withPrefix: [7, 0xff]) { key, _ in
            found.append(Array(key))
            return true
        }
        #expect(found == (0..<50).map { [7, 0xff, UInt8($0)] })
        var firstThree: [[UInt8]] = []
        try tree.forEach(from: [3]) { key, _ in
            firstThree.append(Array(key))
            return firstThree.count < 3
        }
        #expect(firstThree == [[3, 0xff, 0], [3, 0xff, 1], [3, 0xff, 2]])
    }

    @Test("large records split nodes correctly and a 100,000-record tree stays shallow")
    func manyRecords() throws {
        let (tree, store, _) = try makeTree()
        for index in 0..<100_000 {
            var key: [UInt8] = []
            withUnsafeBytes(of: UInt64(index).bigEndian) { key.append(contentsOf: $0) }
            try tree.insert(Array("value \(index)".utf8), for: key)
        }
        let big = [UInt8](repeating: 7, count: RecordTree.maximumValueLength(forKeyLength: 3))
        for index in 0..<50 { try tree.insert(big, for: [0xfe, 0, UInt8(index)]) }
        let root = try tree.flush()
        try store.commit(root: root, nextInode: 2)
        let report = tree.verify(root: root)
        #expect(report.problems.isEmpty)
        #expect(report.records == 100_050)
        #expect(report.depth <= 4)
        #expect(try tree.value(for: [0xfe, 0, 49]) == big)
    }

    @Test("records written in key order fill their nodes; written out of order, half or more")
    func fillFactor() throws {
        // A file's block records: 8-byte inode, type, 8-byte block number; a 40-byte pointer.
        func blockKey(_ inode: UInt64, _ index: UInt64) -> [UInt8] {
            withUnsafeBytes(of: inode.bigEndian) { Array($0) } + [4]
                + withUnsafeBytes(of: index.bigEndian) { Array($0) }
        }
        let value = [UInt8](repeating: 9, count: 40)
        let perLeaf = (4096 - 8) / (4 + 17 + 40)
        let count = 20_000

        let (inOrder, store, _) = try makeTree()
        // Two files written side by side, each in order, as two writers would.
        for index in 0..<UInt64(count / 2) {
            try inOrder.insert(value, for: blockKey(5, index))
            try inOrder.insert(value, for: blockKey(9, index))
        }
        let ordered = inOrder.verify(root: try inOrder.flush())
        #expect(ordered.problems.isEmpty)
        #expect(ordered.records == count)
        #expect(ordered.nodePages.count <= count / perLeaf + 16)

        let (shuffled, _, _) = try makeTree()
        var random = SplitMix(state: 4)
        for index in (0..<UInt64(count)).shuffled(using: &random) {
            try shuffled.insert(value, for: blockKey(5, index))
        }
        let report = shuffled.verify(root: try shuffled.flush())
        #expect(report.problems.isEmpty)
        #expect(report.records == count)
        #expect(report.nodePages.count <= 2 * count / perLeaf + 16)
        _ = store
    }

    @Test("a commit after one change rewrites only the path to the root")
    func changeCostsOnePath() throws {
        let (tree, store, device) = try makeTree()
        for index in 0..<20_000 {
            try tree.insert([UInt8](repeating: 1, count: 50), for: Array("key \(index)".utf8))
        }
        try store.commit(root: try tree.flush(), nextInode: 2)
        let depth = tree.verify(root: store.committed.root).depth
        device.clearEvents()
        try tree.insert([2], for: Array("key 777".utf8))
        try store.commit(root: try tree.flush(), nextInode: 2)
        let pageWrites = device.events.filter {
            if case .write(_, let bytes) = $0 { return bytes.count == 4096 } else { return false }
        }.count
        // The path, one free-list page, one superblock.
        #expect(pageWrites <= depth + 2)
    }
}
