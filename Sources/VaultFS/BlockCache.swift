/// A block of one file: the unit of caching and of data pages.
struct BlockID: Hashable {
    var inode: UInt64
    var index: UInt64
}

/// Decrypted, clean file blocks, least recently used first out, holding at most `capacity`.
struct BlockCache {
    private struct Entry {
        var id: BlockID
        var bytes: [UInt8]
        var newer: Int
        var older: Int
    }

    let capacity: Int
    private var entries: [Entry] = []
    private var slots: [BlockID: Int] = [:]
    private var newest = -1
    private var oldest = -1
    private var freeSlots: [Int] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { slots.count }

    func contains(_ id: BlockID) -> Bool { slots[id] != nil }

    mutating func value(for id: BlockID) -> [UInt8]? {
        guard let slot = slots[id] else { return nil }
        unlink(slot)
        linkAsNewest(slot)
        return entries[slot].bytes
    }

    mutating func insert(_ bytes: [UInt8], for id: BlockID) {
        if let slot = slots[id] {
            entries[slot].bytes = bytes
            unlink(slot)
            linkAsNewest(slot)
            return
        }
        if slots.count >= capacity, oldest >= 0 { remove(entries[oldest].id) }
        let entry = Entry(id: id, bytes: bytes, newer: -1, older: -1)
        let slot: Int
        if let free = freeSlots.popLast() {
            entries[free] = entry
            slot = free
        } else {
            entries.append(entry)
            slot = entries.count - 1
        }
        slots[id] = slot
        linkAsNewest(slot)
    }

    mutating func remove(_ id: BlockID) {
        guard let slot = slots.removeValue(forKey: id) else { return }
        unlink(slot)
        entries[slot].bytes = []
        freeSlots.append(slot)
    }

    /// Drops every block of `inode` from `index` on.
    mutating func removeBlocks(of inode: UInt64, from index: UInt64 = 0) {
        for id in slots.keys where id.inode == inode && id.index >= index { remove(id) }
    }

    private mutating func unlink(_ slot: Int) {
        let entry = entries[slot]
        if entry.newer >= 0 {
            entries[entry.newer].older = entry.older
        } else {
            newest = entry.older
        }
        if entry.older >= 0 {
            entries[entry.older].newer = entry.newer
        } else {
            oldest = entry.newer
        }
    }

    private mutating func linkAsNewest(_ slot: Int) {
        entries[slot].newer = -1
        entries[slot].older = newest
        if newest >= 0 { entries[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
