import VaultStore

/// A leaf's records packed one after another exactly as its page holds them (§9.1 of the
/// spec): the key's length and the value's length, two bytes each, little-endian, then the
/// key and the value.
///
/// A decoded leaf is then its page's bytes and one offset per record, under half the memory
/// of a heap array per key and per value, and a search compares keys in place.
struct LeafRecords {
    /// The records, packed.
    private(set) var bytes: [UInt8] = []
    /// Where each record starts in `bytes`.
    private var starts: [UInt32] = []

    /// The two lengths before each record's key.
    static let lengthsSize = 4

    init() {}

    var count: Int { starts.count }
    var isEmpty: Bool { starts.isEmpty }

    /// The records' encoded size, without the node's header.
    var byteCount: Int { bytes.count }

    /// The encoded size of record `index`, lengths included.
    func size(at index: Int) -> Int {
        let end = index + 1 < starts.count ? Int(starts[index + 1]) : bytes.count
        return end - Int(starts[index])
    }

    /// Decodes `count` records from `page` at `offset`, checking that they lie within the
    /// page and that their keys increase; hostile bytes produce an error, never a trap.
    init(decoding page: [UInt8], at offset: Int, count: Int) throws {
        guard offset <= page.count else {
            throw VaultError.malformed("leaf records past the end of their page")
        }
        var starts: [UInt32] = []
        starts.reserveCapacity(count)
        let end = try page.withUnsafeBytes { raw throws -> Int in
            var position = offset
            var previousKey: UnsafeRawBufferPointer? = nil
            for _ in 0..<count {
                guard position + Self.lengthsSize <= raw.count,
                    position + Self.lengthsSize + Self.lengths(in: raw, at: position).total
                        <= raw.count
                else {
                    throw VaultError.malformed("leaf record past the end of its page")
                }
                let (key, value) = Self.record(in: raw, at: position)
                if let previousKey {
                    guard KeyOrder.compare(previousKey, key) < 0 else {
                        throw VaultError.malformed("node keys out of order")
                    }
                }
                previousKey = key
                starts.append(UInt32(position - offset))
                position += Self.lengthsSize + key.count + value.count
            }
            return position
        }
        self.bytes = Array(page[offset..<end])
        self.starts = starts
    }

    /// The key's and the value's length of the record at `start` in `raw`, which must hold
    /// those two lengths.
    private static func lengths(in raw: UnsafeRawBufferPointer, at start: Int) -> (
        key: Int, value: Int, total: Int
    ) {
        let key = Int(
            UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt16.self)))
        let value = Int(
            UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2, as: UInt16.self)))
        return (key, value, key + value)
    }

    /// The key and the value of the record at `start` in `raw`, which must hold all of it.
    private static func record(in raw: UnsafeRawBufferPointer, at start: Int) -> (
        key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer
    ) {
        let (keyLength, valueLength, _) = lengths(in: raw, at: start)
        let base = raw.baseAddress! + start + lengthsSize
        return (
            UnsafeRawBufferPointer(start: base, count: keyLength),
            UnsafeRawBufferPointer(start: base + keyLength, count: valueLength)
        )
    }

    func key(at index: Int) -> [UInt8] {
        bytes.withUnsafeBytes { Array(Self.record(in: $0, at: Int(starts[index])).key) }
    }

    func value(at index: Int) -> [UInt8] {
        bytes.withUnsafeBytes { Array(Self.record(in: $0, at: Int(starts[index])).value) }
    }

    /// Where `key` is, or would be inserted.
    func search(_ key: [UInt8]) -> (index: Int, found: Bool) {
        bytes.withUnsafeBytes { raw in
            key.withUnsafeBytes { wanted in search(wanted, in: raw) }
        }
    }

    private func search(_ wanted: UnsafeRawBufferPointer, in raw: UnsafeRawBufferPointer) -> (
        index: Int, found: Bool
    ) {
        var low = 0
        var high = starts.count
        var found = false
        while low < high {
            let middle = (low + high) / 2
            let order = KeyOrder.compare(Self.record(in: raw, at: Int(starts[middle])).key, wanted)
            if order < 0 {
                low = middle + 1
            } else {
                found = order == 0
                high = middle
            }
        }
        // The last probe that moved `high` down landed on `low` exactly when it matched.
        return (low, found && low < starts.count)
    }

    /// Calls `body` with each record whose key is at least `start` and below `end`, in order,
    /// until it returns false. Returns false if it stopped before the last record: at `end`,
    /// or because `body` asked. The bytes lent to `body` are valid only during the call.
    func visit(
        from start: [UInt8], below end: [UInt8]?,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) rethrows -> Bool {
        try bytes.withUnsafeBytes { raw in
            var index = start.withUnsafeBytes { search($0, in: raw).index }
            while index < starts.count {
                let (key, value) = Self.record(in: raw, at: Int(starts[index]))
                if let end {
                    let beforeEnd = end.withUnsafeBytes { KeyOrder.compare(key, $0) < 0 }
                    if !beforeEnd { return false }
                }
                guard try body(key, value) else { return false }
                index += 1
            }
            return true
        }
    }

    // MARK: - Changing

    mutating func insert(key: [UInt8], value: [UInt8], at index: Int) {
        let start = index < starts.count ? Int(starts[index]) : bytes.count
        var entry: [UInt8] = []
        entry.reserveCapacity(Self.lengthsSize + key.count + value.count)
        withUnsafeBytes(of: UInt16(key.count).littleEndian) { entry.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(value.count).littleEndian) { entry.append(contentsOf: $0) }
        entry += key
        entry += value
        bytes.insert(contentsOf: entry, at: start)
        starts.insert(UInt32(start), at: index)
        shiftStarts(after: index, by: entry.count)
    }

    mutating func replaceValue(at index: Int, with value: [UInt8]) {
        let start = Int(starts[index])
        let (keyLength, oldLength, _) = bytes.withUnsafeBytes { Self.lengths(in: $0, at: start) }
        let valueStart = start + Self.lengthsSize + keyLength
        if value.count == oldLength && !value.isEmpty {
            // The common case, a block moved to a new page: no bytes move.
            bytes.withUnsafeMutableBytes { raw in
                value.withUnsafeBytes {
                    raw.baseAddress!.advanced(by: valueStart).copyMemory(
                        from: $0.baseAddress!, byteCount: $0.count)
                }
            }
            return
        }
        bytes.replaceSubrange(valueStart..<valueStart + oldLength, with: value)
        bytes.withUnsafeMutableBytes {
            $0.storeBytes(
                of: UInt16(value.count).littleEndian, toByteOffset: start + 2, as: UInt16.self)
        }
        shiftStarts(after: index, by: value.count - oldLength)
    }

    mutating func remove(at index: Int) {
        let start = Int(starts[index])
        let size = size(at: index)
        bytes.removeSubrange(start..<start + size)
        starts.remove(at: index)
        shiftStarts(after: index - 1, by: -size)
    }

    /// Removes the records from `index` on, and returns them.
    mutating func split(at index: Int) -> LeafRecords {
        let cut = index < starts.count ? Int(starts[index]) : bytes.count
        var upper = LeafRecords()
        upper.bytes = Array(bytes[cut...])
        upper.starts = starts[index...].map { $0 - UInt32(cut) }
        bytes.removeSubrange(cut...)
        starts.removeSubrange(index...)
        return upper
    }

    mutating func append(contentsOf other: LeafRecords) {
        let base = UInt32(bytes.count)
        bytes += other.bytes
        starts += other.starts.lazy.map { $0 + base }
    }

    /// Gives back the spare capacity that insertions left, once the leaf is written.
    mutating func compact() {
        // `Array(_:)` of an array shares its storage: copy into storage of the right size.
        if bytes.capacity - bytes.count > 512 { bytes = Self.exactCopy(bytes) }
        if starts.capacity - starts.count > 16 { starts = Self.exactCopy(starts) }
    }

    private static func exactCopy<Element>(_ array: [Element]) -> [Element] {
        [Element](unsafeUninitializedCapacity: array.count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: array)
        }
    }

    private mutating func shiftStarts(after index: Int, by delta: Int) {
        guard delta != 0, index + 1 < starts.count else { return }
        for position in (index + 1)..<starts.count {
            starts[position] = UInt32(Int(starts[position]) + delta)
        }
    }
}
