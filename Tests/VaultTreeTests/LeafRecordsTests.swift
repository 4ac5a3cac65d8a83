import TestSupport
import Testing
import VaultStore

@testable import VaultTree

@Suite("packed leaf records")
struct LeafRecordsTests {
    /// The page a leaf with `records` encodes to.
    func leafPage(_ records: [([UInt8], [UInt8])]) -> [UInt8] {
        var page: [UInt8] = [1, 0, UInt8(records.count), 0, 0, 0, 0, 0]
        for (key, value) in records {
            page += [UInt8(key.count), 0, UInt8(value.count), 0] + key + value
        }
        return page + [UInt8](repeating: 0, count: VaultFormat.pageSize - page.count)
    }

    func contents(_ records: LeafRecords) -> [([UInt8], [UInt8])] {
        (0..<records.count).map { (records.key(at: $0), records.value(at: $0)) }
    }

    @Test(
        "inserts, replacements, removals, splits and joins match a sorted array", arguments: [7, 8])
    func modelBased(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        var records = LeafRecords()
        var model: [([UInt8], [UInt8])] = []
        for step in 0..<3000 {
            let key = [UInt8(Int.random(in: 0..<60, using: &random)), UInt8(step % 3)]
            let value = [UInt8](
                repeating: UInt8(step & 0xff), count: Int.random(in: 0...50, using: &random))
            let (index, found) = records.search(key)
            let modelIndex =
                model.firstIndex { !$0.0.lexicographicallyPrecedes(key) } ?? model.count
            #expect(index == modelIndex)
            #expect(found == (modelIndex < model.count && model[modelIndex].0 == key))
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                if found {
                    records.replaceValue(at: index, with: value)
                    model[index].1 = value
                } else {
                    records.insert(key: key, value: value, at: index)
                    model.insert((key, value), at: index)
                }
            case 6..<9:
                guard found else { continue }
                records.remove(at: index)
                model.remove(at: index)
            default:
                let upper = records.split(at: index)
                #expect(records.count == index)
                records.append(contentsOf: upper)
                records.compact()
            }
            #expect(records.byteCount == model.reduce(0) { $0 + 4 + $1.0.count + $1.1.count })
        }
        let expected = model
        #expect(contents(records).elementsEqual(expected) { $0 == $1 })

        // What the records encode to decodes back to them.
        let page = leafPage(Array(expected.prefix(40)))
        let decoded = try LeafRecords(decoding: page, at: Node.headerSize, count: 40)
        #expect(contents(decoded).elementsEqual(expected.prefix(40)) { $0 == $1 })
    }

    @Test("a visit stops at the end key and when asked to")
    func visit() throws {
        let keys: [[UInt8]] = [[1], [2], [2, 0], [3], [5]]
        let records = try LeafRecords(
            decoding: leafPage(keys.map { ($0, [9]) }), at: Node.headerSize, count: keys.count)
        var seen: [[UInt8]] = []
        let finished = records.visit(from: [2], below: [4]) { key, value in
            #expect(Array(value) == [9])
            seen.append(Array(key))
            return true
        }
        #expect(seen == [[2], [2, 0], [3]])
        #expect(finished == false)
        seen = []
        #expect(
            records.visit(from: [0], below: nil) { key, _ in
                seen.append(Array(key))
                return seen.count < 2
            } == false)
        #expect(seen == [[1], [2]])
        #expect(records.visit(from: [4], below: nil) { _, _ in true })
    }

    /// Pages of three records [1], [2], [3] with some bytes changed: where, and to what.
    @Test(
        "leaf pages that lie are refused",
        arguments: [
            ("a length past the page", [(8, 0xff), (9, 0xff)]),
            ("a count past the records", [(2, 0xff), (3, 0x7f)]),
            ("keys out of order", [(8 + 4, 9)]),
            ("a key twice", [(8 + 4, 2)]),
        ] as [(String, [(Int, UInt8)])])
    func hostile(what: String, changes: [(Int, UInt8)]) {
        var page = leafPage([([1], [7]), ([2], [7]), ([3], [7])])
        for (offset, byte) in changes { page[offset] = byte }
        #expect(throws: VaultError.self, "\(what)") {
            _ = try Node.decode(page, pointer: .null)
        }
    }
}
