/// A set of page numbers kept as sorted, disjoint, non-adjacent ranges.
struct PageRangeSet: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        var first: UInt64
        var count: UInt64
        var end: UInt64 { first + count }
    }

    private(set) var ranges: [Range] = []

    var pageCount: UInt64 { ranges.reduce(0) { $0 + $1.count } }
    var isEmpty: Bool { ranges.isEmpty }

    func contains(_ page: UInt64) -> Bool {
        let index = firstRange(endingAfter: page)
        return index < ranges.count && ranges[index].first <= page
    }

    /// Adds one page, merging with its neighbours. Adding a page already present is a bug.
    mutating func insert(_ page: UInt64) {
        insert(Range(first: page, count: 1))
    }

    mutating func insert(_ range: Range) {
        guard range.count > 0 else { return }
        var index = firstRange(endingAfter: range.first)
        if index > 0 && ranges[index - 1].end == range.first {
            index -= 1
        }
        precondition(
            index == ranges.count || ranges[index].first >= range.end
                || ranges[index].end == range.first,
            "page range \(range.first)+\(range.count) overlaps free space")
        if index < ranges.count && ranges[index].end == range.first {
            ranges[index].count += range.count
            if index + 1 < ranges.count && ranges[index + 1].first == ranges[index].end {
                ranges[index].count += ranges[index + 1].count
                ranges.remove(at: index + 1)
            }
        } else if index < ranges.count && ranges[index].first == range.end {
            ranges[index].first = range.first
            ranges[index].count += range.count
        } else {
            ranges.insert(range, at: index)
        }
    }

    /// Removes and returns the lowest page, or nil when empty. Never adds a range.
    mutating func removeFirst() -> UInt64? {
        guard !ranges.isEmpty else { return nil }
        let page = ranges[0].first
        ranges[0].first += 1
        ranges[0].count -= 1
        if ranges[0].count == 0 { ranges.removeFirst() }
        return page
    }

    mutating func formUnion(_ other: PageRangeSet) {
        for range in other.ranges { insert(range) }
    }

    /// The index of the first range whose end is past `page`.
    private func firstRange(endingAfter page: UInt64) -> Int {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].end <= page { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// The free-list page (§8 of the spec): a pointer to the next page and up to 253 ranges.
enum FreeListPage {
    // (4096 - 48) / 16: the ranges after the next pointer, the count and the reserved word.
    static let rangesPerPage = 253

    static func encode(next: PagePointer, ranges: ArraySlice<PageRangeSet.Range>) -> [UInt8] {
        var writer = ByteWriter(capacity: VaultFormat.pageSize)
        next.encode(into: &writer)
        writer.u32(UInt32(ranges.count))
        writer.u32(0)
        for range in ranges {
            writer.u64(range.first)
            writer.u64(range.count)
        }
        writer.pad(to: VaultFormat.pageSize)
        return writer.bytes
    }

    static func decode(_ page: [UInt8]) throws -> (next: PagePointer, ranges: [PageRangeSet.Range])
    {
        var reader = ByteReader(page)
        let next = try PagePointer.decode(from: &reader)
        let count = Int(try reader.u32())
        try reader.skip(4)
        guard count <= rangesPerPage else {
            throw VaultError.malformed("free-list page with \(count) ranges")
        }
        var ranges: [PageRangeSet.Range] = []
        for _ in 0..<count {
            ranges.append(PageRangeSet.Range(first: try reader.u64(), count: try reader.u64()))
        }
        return (next, ranges)
    }
}
