import VaultStore

extension FilesystemCore {
    private func regularFile(_ inode: UInt64) throws -> InodeAttributes {
        let attributes = try attributes(inode)
        switch attributes.type {
        case .regular: return attributes
        case .directory: throw FilesystemError.isDirectory
        default: throw FilesystemError.invalid
        }
    }

    /// The current bytes of one block: changed, cached, or read and authenticated from its
    /// page; zeros for a hole.
    private func block(_ id: BlockID) throws -> [UInt8] {
        if !dirtyBlocks.isEmpty, let dirty = dirtyBlocks[id] { return dirty.bytes }
        if let cached = cache.value(for: id) { return cached }
        guard
            let record = try tree.value(for: RecordKey.make(id.inode, .fileBlock, number: id.index))
        else {
            return Self.zeroBlock
        }
        let bytes = try store.read(try PagePointer(encoded: record), kind: .fileData)
        cache.insert(bytes, for: id)
        return bytes
    }

    /// The bytes of a hole's block, shared by every read of one.
    static let zeroBlock = [UInt8](repeating: 0, count: VaultFormat.pageSize)

    /// Fetches of this many blocks or more are streaming reads: they go to the reader without
    /// displacing the cache, since the kernel keeps its own copy of what it reads.
    static let streamingBlocks = 32

    /// Reads up to `count` bytes at `offset`, as slices of the blocks themselves, which share
    /// their storage with the cache, so that nothing is copied or allocated for the bytes.
    /// `fetched` and `pages` are blocks the caller fetched with the lock free, used if the
    /// tree has not changed since (else cached if still current); without them, missing
    /// blocks are fetched here.
    func readPieces(
        _ inode: UInt64, at offset: UInt64, count: Int, fetched: MissingBlocks? = nil,
        pages: [[UInt8]] = []
    ) throws -> [ArraySlice<UInt8>] {
        let attributes = try regularFile(inode)
        guard count > 0, offset < attributes.size else { return [] }
        let end = min(attributes.size, offset + UInt64(count))
        if attributes.isInline {
            let content = try tree.value(for: RecordKey.make(inode, .inlineData)) ?? []
            var bytes = [UInt8](repeating: 0, count: Int(end - offset))
            let available = min(UInt64(content.count), end)
            if offset < available {
                bytes.replaceSubrange(
                    0..<Int(available - offset), with: content[Int(offset)..<Int(available)])
            }
            return [bytes[...]]
        }
        // Fetched blocks the tree still names, in block order.
        var current: [(BlockID, PagePointer)] = []
        if let fetched {
            if fetched.treeChanges == tree.changeCount {
                current = fetched.blocks
            } else {
                try adopt(fetched, pages: pages)
            }
        } else {
            try prefetch(inode, blocks: (offset / Self.blockSize)...((end - 1) / Self.blockSize))
        }
        let caching = current.count < Self.streamingBlocks
        var next = 0
        var pieces: [ArraySlice<UInt8>] = []
        pieces.reserveCapacity(Int((end - offset) / Self.blockSize) + 2)
        var position = offset
        while position < end {
            let index = position / Self.blockSize
            let within = Int(position % Self.blockSize)
            let take = Int(min(Self.blockSize - UInt64(within), end - position))
            let id = BlockID(inode: inode, index: index)
            while next < current.count && current[next].0.index < index { next += 1 }
            let bytes: [UInt8]
            if next < current.count, current[next].0 == id,
                dirtyBlocks.isEmpty || dirtyBlocks[id] == nil
            {
                bytes = pages[next]
                if caching && !cache.contains(id) { cache.insert(bytes, for: id) }
            } else {
                bytes = try block(id)
            }
            pieces.append(bytes[within..<within + take])
            position += UInt64(take)
        }
        return pieces
    }

    /// Reads and authenticates, on every core, the blocks of `range` that are neither changed
    /// nor cached, and caches them: a large read then costs one parallel batch, not a page at
    /// a time.
    private func prefetch(_ inode: UInt64, blocks range: ClosedRange<UInt64>) throws {
        let missing = try missingBlocks(inode, blocks: range)
        guard missing.count > 1 else { return }
        let pages = try store.read(batch: missing.map(\.1), kind: .fileData)
        for (index, entry) in missing.enumerated() { cache.insert(pages[index], for: entry.0) }
    }

    /// The blocks a read of `count` bytes at `offset` would have to fetch from their pages,
    /// with the pages and the tree's ``RecordTree/changeCount`` they were found at, and the
    /// pages to start reading ahead.
    func missingBlocks(_ inode: UInt64, at offset: UInt64, count: Int) throws -> MissingBlocks {
        let attributes = try regularFile(inode)
        guard count > 0, offset < attributes.size, !attributes.isInline else {
            return MissingBlocks(blocks: [], treeChanges: tree.changeCount)
        }
        let end = min(attributes.size, offset + UInt64(count))
        let range = (offset / Self.blockSize)...((end - 1) / Self.blockSize)
        let blocks = try missingBlocks(inode, blocks: range)
        let ahead = readAhead(inode, reading: range, fetching: blocks)
        var around: Range<UInt64>? = nil
        if ahead == nil, blocks.count == 1 {
            let first = blocks[0].1.page / Self.readAroundPages * Self.readAroundPages
            around = first..<first + Self.readAroundPages
        }
        return MissingBlocks(
            blocks: blocks, treeChanges: tree.changeCount, readAhead: ahead, readAround: around)
    }

    /// The pages read in one go around a single block fetched on its own. The system reads a
    /// little around a page that a file asks for out of order, so that reads nearby find it
    /// cached; the vault is one file read at scattered places for every file in it, where
    /// that guess does less. A file written in order has its blocks side by side in the
    /// vault, so its neighbours come in with the block.
    static let readAroundPages: UInt64 = 8

    /// Pages to read ahead this many at a time: the kernel's own read-ahead asks for a
    /// megabyte at most, too little to keep a disk busy while a request is decrypted.
    static let readAheadPages: UInt64 = 2048

    /// Where the disk should read ahead for a read of `range` that fetches `fetched`: when the
    /// file is being read in order and the blocks lie in one run on disk, the pages after that
    /// run, a window at a time, asked again once half of it is left.
    private func readAhead(
        _ inode: UInt64, reading range: ClosedRange<UInt64>,
        fetching fetched: [(BlockID, PagePointer)]
    ) -> Range<UInt64>? {
        let previous = readStreams[inode]
        if previous == nil && readStreams.count >= 64 {
            readStreams.removeAll(keepingCapacity: true)
        }
        var stream = ReadStream(nextBlock: range.upperBound + 1, aheadTo: previous?.aheadTo ?? 0)
        defer { readStreams[inode] = stream }
        guard let previous, previous.nextBlock == range.lowerBound, fetched.count == range.count,
            let first = fetched.first?.1.page, let last = fetched.last?.1.page,
            last - first == UInt64(fetched.count - 1)
        else { return nil }
        let end = last + 1
        // Far behind or far ahead of the window: it no longer describes this run.
        if stream.aheadTo > end + 2 * Self.readAheadPages
            || stream.aheadTo + Self.readAheadPages < end
        {
            stream.aheadTo = end
        }
        guard stream.aheadTo < end + Self.readAheadPages / 2 else { return nil }
        let from = max(stream.aheadTo, end)
        stream.aheadTo = end + Self.readAheadPages
        return from..<stream.aheadTo
    }

    /// Caches blocks fetched without the lock, each only if the tree still names the page it
    /// came from and the block is neither changed nor cached meanwhile. `missing` is one
    /// file's, in block order.
    private func adopt(_ missing: MissingBlocks, pages: [[UInt8]]) throws {
        let fetched = missing.blocks
        guard let first = fetched.first, let last = fetched.last else { return }
        var next = 0
        try tree.forEach(
            from: RecordKey.make(first.0.inode, .fileBlock, number: first.0.index),
            below: RecordKey.make(last.0.inode, .fileBlock, number: last.0.index + 1)
        ) { key, value in
            let index = RecordKey.readBigEndian(key[9...])
            while next < fetched.count && fetched[next].0.index < index { next += 1 }
            guard next < fetched.count else { return false }
            let (id, pointer) = fetched[next]
            if id.index == index, (try? PagePointer(encoded: value)) == pointer,
                dirtyBlocks[id] == nil,
                !cache.contains(id)
            {
                cache.insert(pages[next], for: id)
            }
            return true
        }
    }

    private func missingBlocks(_ inode: UInt64, blocks range: ClosedRange<UInt64>) throws -> [(
        BlockID, PagePointer
    )] {
        var missing: [(BlockID, PagePointer)] = []
        try tree.forEach(
            from: RecordKey.make(inode, .fileBlock, number: range.lowerBound),
            below: RecordKey.make(inode, .fileBlock, number: range.upperBound + 1)
        ) { key, value in
            let id = BlockID(inode: inode, index: RecordKey.readBigEndian(key[9...]))
            if (dirtyBlocks.isEmpty || dirtyBlocks[id] == nil) && !cache.contains(id) {
                missing.append((id, try PagePointer(encoded: value)))
            }
            return true
        }
        return missing
    }

    func write(_ inode: UInt64, at offset: UInt64, _ bytes: UnsafeRawBufferPointer) throws -> Int {
        var attributes = try regularFile(inode)
        guard !bytes.isEmpty else { return 0 }
        let end = offset + UInt64(bytes.count)
        guard end <= Self.maximumFileSize else { throw FilesystemError.fileTooLarge }

        if attributes.isInline {
            if end <= Self.maximumInlineSize {
                var content = try tree.value(for: RecordKey.make(inode, .inlineData)) ?? []
                if content.count < Int(attributes.size) {
                    content += [UInt8](repeating: 0, count: Int(attributes.size) - content.count)
                }
                if content.count < Int(end) {
                    content += [UInt8](repeating: 0, count: Int(end) - content.count)
                }
                content.replaceSubrange(Int(offset)..<Int(end), with: bytes)
                try tree.insert(content, for: RecordKey.make(inode, .inlineData))
                attributes.size = max(attributes.size, end)
                touchForWrite(&attributes)
                try save(attributes)
                return bytes.count
            }
            try moveToBlocks(&attributes)
        }

        var position = offset
        var consumed = 0
        while position < end {
            let index = position / Self.blockSize
            let within = Int(position % Self.blockSize)
            let take = Int(min(Self.blockSize - UInt64(within), end - position))
            let id = BlockID(inode: inode, index: index)
            var block: [UInt8]
            if take == VaultFormat.pageSize {
                block = Array(bytes[consumed..<consumed + take])
            } else {
                block = try self.block(id)
                block.replaceSubrange(
                    within..<within + take, with: bytes[consumed..<consumed + take])
            }
            setDirty(block, for: id)
            position += UInt64(take)
            consumed += take
        }
        attributes.size = max(attributes.size, end)
        touchForWrite(&attributes)
        try save(attributes)
        return bytes.count
    }

    private func touchForWrite(_ attributes: inout InodeAttributes) {
        let now = Self.now()
        attributes.modificationTime = now
        attributes.changeTime = now
        hasChanges = true
    }

    private func setDirty(_ block: [UInt8], for id: BlockID) {
        cache.remove(id)
        dirtyVersion += 1
        dirtyBlocks[id] = DirtyBlock(bytes: block, version: dirtyVersion)
        hasChanges = true
    }

    /// Moves an inline file's content into its first block, for good.
    private func moveToBlocks(_ attributes: inout InodeAttributes) throws {
        let key = RecordKey.make(attributes.inode, .inlineData)
        let content = try tree.value(for: key) ?? []
        try tree.remove(key)
        attributes.isInline = false
        if attributes.size > 0 {
            var block = [UInt8](repeating: 0, count: VaultFormat.pageSize)
            block.replaceSubrange(0..<content.count, with: content)
            setDirty(block, for: BlockID(inode: attributes.inode, index: 0))
        }
    }

    func truncate(_ inode: UInt64, to size: UInt64) throws {
        var attributes = try regularFile(inode)
        guard size <= Self.maximumFileSize else { throw FilesystemError.fileTooLarge }
        if attributes.isInline {
            if size <= Self.maximumInlineSize {
                var content = try tree.value(for: RecordKey.make(inode, .inlineData)) ?? []
                if content.count > Int(size) { content.removeSubrange(Int(size)...) }
                if content.isEmpty {
                    try tree.remove(RecordKey.make(inode, .inlineData))
                } else {
                    try tree.insert(content, for: RecordKey.make(inode, .inlineData))
                }
                attributes.size = size
                touchForWrite(&attributes)
                try save(attributes)
                return
            }
            try moveToBlocks(&attributes)
        }
        if size < attributes.size {
            let keep = (size + Self.blockSize - 1) / Self.blockSize
            try removeRecords(
                from: RecordKey.make(inode, .fileBlock, number: keep),
                below: RecordKey.make(inode, .inlineData)
            ) { _, value in store.release(try PagePointer(encoded: value)) }
            for id in dirtyBlocks.keys where id.inode == inode && id.index >= keep {
                dirtyBlocks[id] = nil
            }
            cache.removeBlocks(of: inode, from: keep)
            // The bytes past the new end in the last kept block must read as zeros later.
            let within = Int(size % Self.blockSize)
            if within != 0 {
                let id = BlockID(inode: inode, index: size / Self.blockSize)
                var block = try self.block(id)
                if block[within...].contains(where: { $0 != 0 }) {
                    block.replaceSubrange(
                        within..., with: repeatElement(0, count: VaultFormat.pageSize - within))
                    setDirty(block, for: id)
                }
            }
        }
        attributes.size = size
        touchForWrite(&attributes)
        try save(attributes)
    }

    /// Seals every changed block into new pages, on all cores, and points the tree at them.
    /// They become durable with the next commit.
    func flushDirtyBlocks() throws {
        while true {
            let batch = takeSealingBatch()
            guard !batch.isEmpty else { return }
            try install(batch, at: try store.write(batch: batch.pages, kind: .fileData))
        }
    }

    /// The lowest-numbered changed blocks, a megabyte at most: enough to keep every core
    /// sealing, while the ciphertext made on the way stays small beside the cache. They stay
    /// changed, and readable, until ``install(_:at:)``.
    func takeSealingBatch(limit: Int = 256) -> SealingBatch {
        var batch = SealingBatch()
        while batch.ids.count < limit {
            if sealingQueueStart == sealingQueue.count {
                // Blocks taken in this refill already were sealed or are in flight.
                guard batch.isEmpty, !dirtyBlocks.isEmpty else { break }
                sealingQueue = dirtyBlocks.keys.sorted {
                    ($0.inode, $0.index) < ($1.inode, $1.index)
                }
                sealingQueueStart = 0
            }
            let id = sealingQueue[sealingQueueStart]
            sealingQueueStart += 1
            // Truncated or removed since the refill: nothing to seal.
            guard let block = dirtyBlocks[id] else { continue }
            batch.ids.append(id)
            batch.versions.append(block.version)
            batch.pages.append(block.bytes)
        }
        return batch
    }

    /// Points the tree at the pages a batch was sealed into. A block changed, truncated or
    /// removed since it was taken stays as it is now, and its new page is given back; so is
    /// every page not yet installed when the tree fails.
    func install(_ batch: SealingBatch, at pointers: [PagePointer]) throws {
        for (index, id) in batch.ids.enumerated() {
            guard dirtyBlocks[id]?.version == batch.versions[index] else {
                store.release(pointers[index])
                continue
            }
            let key = RecordKey.make(id.inode, .fileBlock, number: id.index)
            do {
                if let old = try tree.value(for: key) {
                    store.release(try PagePointer(encoded: old))
                }
                try tree.insert(pointers[index].encoded, for: key)
            } catch {
                for pointer in pointers[index...] { store.release(pointer) }
                throw error
            }
            dirtyBlocks[id] = nil
            cache.insert(batch.pages[index], for: id)
            sealedSinceCommit += 1
            hasChanges = true
        }
    }
}

/// Blocks to fetch from their pages, when the tree named those pages, and the pages to ask
/// the disk for: next, or together with the one block fetched.
struct MissingBlocks: Sendable {
    var blocks: [(BlockID, PagePointer)]
    var treeChanges: UInt64
    var readAhead: Range<UInt64>? = nil
    var readAround: Range<UInt64>? = nil
}

/// A file being read in order: the block after its last read, and the page up to which the
/// disk was asked to read ahead.
struct ReadStream {
    var nextBlock: UInt64
    var aheadTo: UInt64
}

/// A changed block and the stamp of its latest change.
struct DirtyBlock {
    var bytes: [UInt8]
    var version: UInt64
}

/// Changed blocks taken for sealing: their ids, change stamps and bytes, in step.
struct SealingBatch {
    var ids: [BlockID] = []
    var versions: [UInt64] = []
    var pages: [[UInt8]] = []

    var isEmpty: Bool { ids.isEmpty }
}
