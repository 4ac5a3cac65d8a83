import Crypto

/// Commits (§11 of the spec), in two steps so that the slow part, the two syncs, runs while
/// the state goes on changing: ``PageStore/prepareCommit(root:nextInode:)`` writes the free
/// list and fixes the next superblock, ``PageStore/completeCommit(_:)`` syncs, writes it and
/// syncs again. Pages written meanwhile come from pages free in both the durable state and
/// the one being committed, so neither is disturbed.
extension PageStore {
    /// A commit whose free list is written and whose superblock is fixed, but not yet durable.
    public struct PreparedCommit: Sendable {
        fileprivate let superblock: Superblock
        fileprivate let freedPages: PageRangeSet
    }

    /// Makes the state whose tree is `root` durable. Pages released before this call become
    /// allocatable only after it returns.
    public func commit(root: PagePointer, nextInode: UInt64) throws {
        try completeCommit(try prepareCommit(root: root, nextInode: nextInode))
    }

    /// Writes the free list of the state whose tree is `root` and fixes the superblock that
    /// will name it. Until ``completeCommit(_:)`` returns, pages released before this call stay
    /// unallocatable, and no other commit may be prepared.
    public func prepareCommit(root: PagePointer, nextInode: UInt64) throws -> PreparedCommit {
        guard !isReadOnly else { throw VaultError.readOnly }
        return try state.withLock { state throws in
            precondition(!state.commitInFlight, "one commit at a time")
            if let failure = state.syncFailure { throw failure }
            // The old free list is replaced, so its pages are released like any other.
            // TODO(perf): rewritten whole at every commit; its cost grows with fragmentation, and
            // only the changed free-list pages need writing.
            for page in state.freeListPages where !state.allocatedSinceCommit.contains(page) {
                state.releasedSinceCommit.insert(page)
            }
            var persisted = state.allocatable
            persisted.formUnion(state.releasedSinceCommit)
            let chainLength =
                (persisted.ranges.count + FreeListPage.rangesPerPage - 1)
                / FreeListPage.rangesPerPage
            // Taking the lowest free pages never adds a range, so the chain stays long enough.
            var chainPages: [UInt64] = []
            var next = PagePointer.null
            do {
                for _ in 0..<chainLength {
                    chainPages.append(try allocate(&state, forCommit: true))
                }
                persisted = state.allocatable
                persisted.formUnion(state.releasedSinceCommit)
                let epoch = state.epoch
                let key = try keys.pageKey(epoch: epoch)
                for (index, page) in chainPages.enumerated().reversed() {
                    let first = min(index * FreeListPage.rangesPerPage, persisted.ranges.count)
                    let end = min(first + FreeListPage.rangesPerPage, persisted.ranges.count)
                    let (ciphertext, pointer) = try seal(
                        FreeListPage.encode(next: next, ranges: persisted.ranges[first..<end]),
                        page: page, kind: .freeList, epoch: epoch, key: key)
                    try device.write(ciphertext, at: page * UInt64(VaultFormat.pageSize))
                    next = pointer
                }
            } catch {
                // The chain's pages go back, or nothing would name them once the next
                // commit forgets what was allocated since this one.
                state.giveBack(chainPages)
                throw error
            }

            var block = state.superblock
            block.sequence += 1
            block.commitID = try SystemRandom.bytes(count: 16)
            block.committedAt = MachineIdentity.now()
            block.pageCount = state.pageCount
            block.epoch = state.epoch
            block.sealedInEpoch = state.sealedInEpoch
            block.root = root
            block.freeList = next
            block.nextInode = nextInode
            block.pagesInUse =
                state.pageCount - VaultFormat.firstAllocatablePage - persisted.pageCount
            block.writer = state.writer
            block.lineage.removeAll { $0.machineID == state.writer.machineID }
            block.lineage.insert(
                LineageEntry(
                    machineID: state.writer.machineID, sequence: block.sequence,
                    commitID: block.commitID), at: 0)
            block.lineage = Array(block.lineage.prefix(LineageEntry.maximumCount))

            // From here on the state being built is the one after this commit: a page it
            // releases may be named by this commit's tree, and one it allocates is in neither.
            let prepared = PreparedCommit(superblock: block, freedPages: state.releasedSinceCommit)
            state.freedByCommitInFlight = state.releasedSinceCommit
            state.releasedSinceCommit = PageRangeSet()
            state.allocatedSinceCommit = []
            state.freeListPages = chainPages
            state.commitInFlight = true
            return prepared
        }
    }

    /// Makes a prepared commit durable: sync (a file that grew needs its new length durable
    /// before the superblock names it), superblock, sync. On failure the durable state stays
    /// the previous one, and the pages it uses stay unallocatable.
    ///
    /// A failed sync is final: the system may have dropped the pages it could not write and
    /// report the next sync as a success, so a later superblock could name pages that never
    /// reached the disk. Every later commit fails with the same error, and the vault stays
    /// at its last durable commit.
    public func completeCommit(_ prepared: PreparedCommit) throws {
        var syncing = false
        do {
            syncing = true
            try device.sync()
            syncing = false
            let block = prepared.superblock
            let page = try block.encode(key: keys.superblockKey, vaultID: keys.vaultID)
            try device.write(
                page,
                at: UInt64(2 + Superblock.slot(for: block.sequence)) * UInt64(VaultFormat.pageSize))
            syncing = true
            try device.sync()
        } catch {
            state.withLock { state in
                state.releasedSinceCommit.formUnion(prepared.freedPages)
                state.freedByCommitInFlight = PageRangeSet()
                state.commitInFlight = false
                if syncing { state.syncFailure = error }
            }
            throw error
        }
        state.withLock { state in
            state.superblock = prepared.superblock
            state.allocatable.formUnion(prepared.freedPages)
            state.freedByCommitInFlight = PageRangeSet()
            state.commitInFlight = false
        }
    }
}
