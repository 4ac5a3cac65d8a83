import Crypto
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The encrypted page store: header and keyslots, superblocks, page sealing, allocation and
/// commits (§3 to §8 and §11 of the spec). It knows nothing of what pages mean; the tree
/// above it decides that.
///
/// Reads may run on any number of threads at once, and so may sealing and writing pages;
/// allocation, releases and the bookkeeping of commits are serialised by the store's own
/// lock, and a commit's syncs run outside it.
public final class PageStore: @unchecked Sendable {
    // @unchecked Sendable: every mutable field lives in `state`, behind a Mutex.

    public let device: any BlockDevice
    public let isReadOnly: Bool
    /// The keyslot that opened the vault; nil when it was opened with the master key or made.
    public let unlockedSlot: Int?
    let keys: KeyHierarchy
    let state: Mutex<State>
    private let scratch = ScratchBuffers()

    struct State {
        var header: VaultHeader
        var superblock: Superblock
        /// Pages that may be allocated now.
        var allocatable = PageRangeSet()
        /// Pages freed since the last commit; allocatable only once the next commit is durable.
        var releasedSinceCommit = PageRangeSet()
        /// Pages allocated since the last commit: unreferenced by any durable state, so
        /// releasing one makes it allocatable at once.
        var allocatedSinceCommit = Set<UInt64>()
        /// The pages of the committed free list, replaced at the next commit.
        var freeListPages: [UInt64] = []
        /// Pages the durable state uses and the commit being made frees: allocatable once that
        /// commit is durable.
        var freedByCommitInFlight = PageRangeSet()
        var commitInFlight = false
        /// The error of a sync that failed; see ``PageStore/completeCommit(_:)``.
        var syncFailure: (any Error)?

        /// Returns pages allocated since the last commit and never named by anything, after a
        /// failure part way through using them.
        mutating func giveBack(_ pages: [UInt64]) {
            for page in pages where allocatedSinceCommit.remove(page) != nil {
                allocatable.insert(page)
            }
        }
        var pageCount: UInt64
        var epoch: UInt32
        var sealedInEpoch: UInt64
        var writer: WriterRecord
    }

    public var vaultID: [UInt8] { keys.vaultID }

    /// The unlocked master key, for handing to the process that will serve the vault (over a
    /// pipe, never argv or the environment), which opens it with ``Credential/masterKey(_:)``.
    public var masterKey: SecretBytes { keys.master }

    /// What the newest durable commit says.
    public struct CommittedState: Sendable, Equatable {
        public var sequence: UInt64
        public var commitID: [UInt8]
        public var root: PagePointer
        public var nextInode: UInt64
        public var writer: WriterRecord
        public var lineage: [LineageEntry]
    }

    public var committed: CommittedState {
        state.withLock { state in
            let block = state.superblock
            return CommittedState(
                sequence: block.sequence, commitID: block.commitID, root: block.root,
                nextInode: block.nextInode,
                writer: block.writer, lineage: block.lineage)
        }
    }

    /// Space accounting, in pages of ``VaultFormat/pageSize`` bytes.
    public struct Usage: Sendable, Equatable {
        public var pageCount: UInt64
        public var freePages: UInt64
        public var quotaPages: UInt64
    }

    public var usage: Usage {
        state.withLock { state in
            Usage(
                pageCount: state.pageCount,
                freePages: state.allocatable.pageCount + state.releasedSinceCommit.pageCount
                    + state.freedByCommitInFlight.pageCount,
                quotaPages: state.superblock.quotaPages)
        }
    }

    private init(
        device: any BlockDevice, readOnly: Bool, keys: KeyHierarchy, state: State,
        unlockedSlot: Int? = nil
    ) {
        self.device = device
        self.isReadOnly = readOnly
        self.unlockedSlot = unlockedSlot
        self.keys = keys
        self.state = Mutex(state)
    }

    /// The free pages and the pages of the committed free list, for verification.
    public var freeSpace: (free: [ClosedRange<UInt64>], freeListPages: [UInt64]) {
        state.withLock { state in
            var free = state.allocatable
            free.formUnion(state.releasedSinceCommit)
            free.formUnion(state.freedByCommitInFlight)
            return (free.ranges.map { $0.first...($0.end - 1) }, state.freeListPages)
        }
    }

    /// Problems with the header copies and superblock slots: each copy must authenticate and
    /// agree, and the older superblock slot must hold the previous commit (or, before a second
    /// commit, never have been written).
    public func metadataProblems() -> [String] {
        var problems: [String] = []
        let pageSize = UInt64(VaultFormat.pageSize)
        let (header, superblock) = state.withLock { ($0.header, $0.superblock) }
        for copy in 0..<2 {
            let name = copy == 0 ? "header copy A" : "header copy B"
            guard
                let page = try? device.readExactly(
                    VaultFormat.pageSize, at: UInt64(copy) * pageSize),
                VaultHeader.isAuthentic(page, key: keys.headerKey),
                let decoded = try? VaultHeader.decodeUnauthenticated(page, path: device.name)
            else {
                problems.append("\(name) is damaged (the other copy is in use)")
                continue
            }
            if decoded != header { problems.append("\(name) differs from the header in use") }
        }
        let older = 1 - Superblock.slot(for: superblock.sequence)
        let page = try? device.readExactly(VaultFormat.pageSize, at: UInt64(2 + older) * pageSize)
        let previous = page.flatMap {
            Superblock.decode($0, slot: older, key: keys.superblockKey, vaultID: keys.vaultID)
        }
        let neverWritten =
            superblock.sequence == 1 && page.map { $0.allSatisfy { $0 == 0 } } == true
        if previous?.sequence != superblock.sequence - 1 && !neverWritten {
            problems.append("superblock slot \(older) does not hold the previous commit")
        }
        return problems
    }

    /// The vault id of the file at `path`, from its plaintext header; nil if it is not a vault.
    public static func peekVaultID(atPath path: String) -> [UInt8]? {
        VaultHeader.peekVaultID(path)
    }

    // MARK: - Creating and opening

    /// Writes a new, empty vault to `device`: both header copies with one password slot (and a
    /// recovery-key slot when asked), and a first superblock whose tree is empty.
    public static func create(
        device: any BlockDevice, password: SecretBytes,
        derivation: KeyDerivation = .passwordDefault,
        withRecoveryKey: Bool = false, quotaPages: UInt64 = 0
    ) throws -> (store: PageStore, recoveryKey: RecoveryKey?) {
        let master = try SecretBytes.random(count: 32)
        let vaultID = try SystemRandom.bytes(count: 16)
        let keys = try KeyHierarchy(master: master, vaultID: vaultID)
        let now = MachineIdentity.now()
        var slots: [Keyslot?] = Array(repeating: nil, count: VaultFormat.keyslotCount)
        slots[0] = try Keyslot.make(
            kind: .password, derivation: derivation, secret: password, master: master, index: 0,
            vaultID: vaultID,
            created: now)
        var recoveryKey: RecoveryKey?
        if withRecoveryKey {
            let key = try RecoveryKey.generate()
            slots[1] = try Keyslot.make(
                kind: .recoveryKey, derivation: .hkdf, secret: key.secret, master: master, index: 1,
                vaultID: vaultID,
                created: now)
            recoveryKey = key
        }
        let header = VaultHeader(vaultID: vaultID, sequence: 1, keyslots: slots)
        let writer = MachineIdentity.currentWriter()
        // Sequence 0 is never written; the first commit below is sequence 1.
        let initial = Superblock(
            sequence: 0, commitID: [UInt8](repeating: 0, count: 16), committedAt: now,
            pageCount: VaultFormat.firstAllocatablePage, quotaPages: quotaPages, epoch: 0,
            sealedInEpoch: 0,
            root: .null, freeList: .null, nextInode: 2, pagesInUse: 0, writer: writer, lineage: [])
        let store = PageStore(
            device: device, readOnly: false, keys: keys,
            state: State(
                header: header, superblock: initial, pageCount: VaultFormat.firstAllocatablePage,
                epoch: 0,
                sealedInEpoch: 0, writer: writer))
        try store.writeHeaderCopies(header)
        // An unwritten slot must not authenticate: fill both with zeros first.
        try device.write(
            [UInt8](repeating: 0, count: 2 * VaultFormat.pageSize),
            at: 2 * UInt64(VaultFormat.pageSize))
        try store.commit(root: .null, nextInode: 2)
        return (store, recoveryKey)
    }

    /// Opens the vault on `device` with `credential`.
    ///
    /// - Throws: ``VaultError/notAVault(path:)``, ``VaultError/unsupportedVersion(found:supported:)``
    ///   before any key derivation; ``VaultError/wrongPassword``; ``VaultError/headerDamaged``;
    ///   ``VaultError/noValidSuperblock``.
    public static func open(
        device: any BlockDevice, credential: Credential, readOnly: Bool, trustFreeList: Bool = true
    ) throws -> PageStore {
        let size = try device.size()
        guard size > 0 else { throw VaultError.notAVault(path: device.name) }
        let pageSize = UInt64(VaultFormat.pageSize)
        let firstBytes = try device.readExactly(Int(min(size, pageSize)), at: 0)
        try VaultHeader.checkIdentity(firstBytes, path: device.name)
        guard size >= 4 * pageSize else {
            throw VaultError.truncated(path: device.name, size: size)
        }
        let copies = [
            try device.readExactly(VaultFormat.pageSize, at: 0),
            try device.readExactly(VaultFormat.pageSize, at: pageSize),
        ]

        let parsed = copies.compactMap {
            try? VaultHeader.decodeUnauthenticated($0, path: device.name)
        }
        guard !parsed.isEmpty else { throw VaultError.headerDamaged }
        var master: SecretBytes?
        var unlockedSlot: Int?
        var weakness: VaultError?
        if case .masterKey(let key) = credential { master = key }
        search: for header in parsed where master == nil {
            for (index, slot) in header.keyslots.enumerated() {
                guard let slot else { continue }
                let secret: SecretBytes
                switch (credential, slot.kind) {
                case (.password(let password), .password): secret = password
                case (.recoveryKey(let key), .recoveryKey): secret = key
                default: continue
                }
                do {
                    master = try slot.unwrap(secret, index: index, vaultID: header.vaultID)
                    unlockedSlot = index
                    break search
                } catch let error as VaultError where error != .wrongPassword {
                    weakness = error
                }
            }
        }
        guard let master else { throw weakness ?? VaultError.wrongPassword }

        // The copy to trust is one whose tag verifies with the unlocked master key.
        var header: VaultHeader?
        var keys: KeyHierarchy?
        for (page, candidate) in zip(
            copies, copies.map { try? VaultHeader.decodeUnauthenticated($0, path: device.name) })
        {
            guard let candidate else { continue }
            let candidateKeys = try KeyHierarchy(master: master, vaultID: candidate.vaultID)
            guard VaultHeader.isAuthentic(page, key: candidateKeys.headerKey) else { continue }
            if header == nil || candidate.sequence > header!.sequence {
                header = candidate
                keys = candidateKeys
            }
        }
        guard let header, let keys else {
            // A master key that fits no header is as wrong as a wrong password.
            if case .masterKey = credential { throw VaultError.wrongPassword }
            throw VaultError.headerDamaged
        }

        let blocks = (0..<2).compactMap { slot -> Superblock? in
            guard
                let page = try? device.readExactly(
                    VaultFormat.pageSize, at: UInt64(2 + slot) * pageSize)
            else {
                return nil
            }
            return Superblock.decode(
                page, slot: slot, key: keys.superblockKey, vaultID: keys.vaultID)
        }
        guard let superblock = blocks.max(by: { $0.sequence < $1.sequence }) else {
            throw VaultError.noValidSuperblock
        }
        let store = PageStore(
            device: device, readOnly: readOnly, keys: keys,
            state: State(
                header: header, superblock: superblock, pageCount: superblock.pageCount,
                epoch: superblock.epoch,
                sealedInEpoch: superblock.sealedInEpoch,
                writer: readOnly ? superblock.writer : MachineIdentity.currentWriter()),
            unlockedSlot: unlockedSlot)
        // Without the free list nothing is allocatable: new pages go past the end, so that
        // repair never overwrites a page it has not yet read.
        if trustFreeList { try store.loadFreeList() }
        return store
    }

    /// Declares the pages in `inUse` the only ones the next commit's state uses; every other
    /// page from 4 up becomes free at that commit. For repair, which rebuilds the whole state.
    public func replaceFreeSpace(inUse: Set<UInt64>) {
        state.withLock { state in
            var free = PageRangeSet()
            var page = VaultFormat.firstAllocatablePage
            let allocated = state.allocatedSinceCommit
            let used = { (candidate: UInt64) in
                inUse.contains(candidate) || allocated.contains(candidate)
            }
            while page < state.pageCount {
                guard !used(page) else {
                    page += 1
                    continue
                }
                var end = page + 1
                while end < state.pageCount && !used(end) { end += 1 }
                free.insert(PageRangeSet.Range(first: page, count: end - page))
                page = end
            }
            state.allocatable = PageRangeSet()
            state.releasedSinceCommit = free
            state.freeListPages = []
        }
    }

    private func loadFreeList() throws {
        var pointer = state.withLock { $0.superblock.freeList }
        var free = PageRangeSet()
        var pages: [UInt64] = []
        let pageCount = state.withLock { $0.pageCount }
        while !pointer.isNull {
            guard pages.count < Int(pageCount) else {
                throw VaultError.malformed("free list loops")
            }
            pages.append(pointer.page)
            let (next, ranges) = try FreeListPage.decode(try read(pointer, kind: .freeList))
            for range in ranges {
                // Sorted, disjoint and apart across the whole chain, or the list is not ours.
                let lowest = free.ranges.last.map { $0.end + 1 } ?? VaultFormat.firstAllocatablePage
                guard range.count > 0, range.first >= lowest, range.count <= pageCount,
                    range.end <= pageCount
                else {
                    throw VaultError.malformed("free range \(range.first)+\(range.count)")
                }
                free.insert(range)
            }
            pointer = next
        }
        state.withLock { state in
            state.allocatable = free
            state.freeListPages = pages
        }
    }

    // MARK: - Pages

    /// Runs `body` with the authenticated data of a page: the vault id, the page number and
    /// the kind, on the stack.
    private func withAAD<R>(
        page: UInt64, kind: PageKind, _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        try withUnsafeTemporaryAllocation(byteCount: 25, alignment: 8) { buffer in
            keys.vaultID.withUnsafeBytes { buffer.copyMemory(from: $0) }
            withUnsafeBytes(of: page.littleEndian) {
                UnsafeMutableRawBufferPointer(rebasing: buffer[16..<24]).copyMemory(from: $0)
            }
            buffer[24] = kind.rawValue
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    /// Reads and authenticates the page `pointer` names.
    ///
    /// - Throws: ``VaultError/damagedPage(page:)`` if it does not match its pointer exactly.
    public func read(_ pointer: PagePointer, kind: PageKind) throws -> [UInt8] {
        var plaintext = [UInt8](repeating: 0, count: VaultFormat.pageSize)
        try plaintext.withUnsafeMutableBytes { try read(pointer, kind: kind, into: $0) }
        return plaintext
    }

    /// Asks the disk for `pages` ahead of a read that will want them, without waiting; pages
    /// past the end of the vault are left out.
    public func startReading(pages: Range<UInt64>) {
        let end = min(pages.upperBound, state.withLock { $0.pageCount })
        guard pages.lowerBound < end else { return }
        let pageSize = UInt64(VaultFormat.pageSize)
        device.startReading(
            at: pages.lowerBound * pageSize, count: Int((end - pages.lowerBound) * pageSize))
    }

    /// Reads and authenticates many pages. Pages that lie next to each other on disk are read
    /// in one call.
    public func read(batch pointers: [PagePointer], kind: PageKind) throws -> [[UInt8]] {
        guard pointers.count >= 4 else { return try pointers.map { try read($0, kind: kind) } }
        let pageSize = VaultFormat.pageSize
        for pointer in pointers {
            guard !pointer.isNull, pointer.page >= VaultFormat.firstAllocatablePage else {
                throw VaultError.damagedPage(page: pointer.page)
            }
        }
        return try scratch.withBuffer(bytes: pointers.count * pageSize) { buffer in
            try read(batch: pointers, kind: kind, through: buffer)
        }
    }

    private func read(
        batch pointers: [PagePointer], kind: PageKind, through buffer: UnsafeMutableRawBufferPointer
    ) throws -> [[UInt8]] {
        let pageSize = VaultFormat.pageSize
        var first = 0
        while first < pointers.count {
            var end = first + 1
            while end < pointers.count && pointers[end].page == pointers[end - 1].page + 1 {
                end += 1
            }
            let run = UnsafeMutableRawBufferPointer(
                rebasing: buffer[first * pageSize..<end * pageSize])
            let offset = pointers[first].page * UInt64(pageSize)
            guard (try? device.read(into: run, at: offset)) == run.count else {
                // Past the end or unreadable: the page that fails says which.
                for index in first..<end { _ = try read(pointers[index], kind: kind) }
                throw VaultError.damagedPage(page: pointers[first].page)
            }
            first = end
        }
        // On this thread: reads come several at once, from the kernel's read-ahead and from
        // other processes, and splitting one over the cores costs more in wake-ups than it
        // saves. One key session for each run of pages sealed in the same epoch.
        var pages: [[UInt8]] = []
        pages.reserveCapacity(pointers.count)
        first = 0
        while first < pointers.count {
            let epoch = pointers[first].epoch
            var end = first + 1
            while end < pointers.count && pointers[end].epoch == epoch { end += 1 }
            try keys.pageKey(epoch: epoch).withSession { session in
                for index in first..<end {
                    // Not zeroed first: opening writes every byte, or wipes them all on failure.
                    pages.append(
                        try [UInt8](unsafeUninitializedCapacity: pageSize) { plaintext, count in
                            try open(
                                pointers[index], kind: kind,
                                ciphertext: UnsafeRawBufferPointer(
                                    rebasing: buffer[index * pageSize..<(index + 1) * pageSize]),
                                into: UnsafeMutableRawBufferPointer(plaintext), session: session)
                            count = pageSize
                        })
                }
            }
            first = end
        }
        return pages
    }

    /// Reads and authenticates a page into `buffer` (``VaultFormat/pageSize`` bytes).
    public func read(
        _ pointer: PagePointer, kind: PageKind, into buffer: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(buffer.count == VaultFormat.pageSize, "a page buffer is one page")
        guard !pointer.isNull, pointer.page >= VaultFormat.firstAllocatablePage else {
            throw VaultError.damagedPage(page: pointer.page)
        }
        let offset = pointer.page * UInt64(VaultFormat.pageSize)
        guard (try? device.read(into: buffer, at: offset)) == VaultFormat.pageSize else {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            throw VaultError.damagedPage(page: pointer.page)
        }
        try keys.pageKey(epoch: pointer.epoch).withSession { session in
            try open(
                pointer, kind: kind, ciphertext: UnsafeRawBufferPointer(buffer), into: buffer,
                session: session)
        }
    }

    /// Authenticates and decrypts one page's `ciphertext` into `plaintext`, which may be the
    /// same memory.
    private func open(
        _ pointer: PagePointer, kind: PageKind, ciphertext: UnsafeRawBufferPointer,
        into plaintext: UnsafeMutableRawBufferPointer, session: AES256GCM.Key.Session
    ) throws {
        do {
            try withAAD(page: pointer.page, kind: kind) { aad in
                try session.open(
                    ciphertext, tag: pointer.tag, authenticating: aad, nonce: pointer.nonce,
                    into: plaintext)
            }
        } catch {
            throw VaultError.damagedPage(page: pointer.page)
        }
    }

    /// Seals `plaintext` (one page) into a newly allocated page and writes it. The page is
    /// part of no durable state until a commit references it.
    public func write(_ plaintext: [UInt8], kind: PageKind) throws -> PagePointer {
        try write(batch: [plaintext], kind: kind)[0]
    }

    /// Seals many pages, on every core when there are enough of them, and writes them.
    public func write(batch: [[UInt8]], kind: PageKind) throws -> [PagePointer] {
        guard !isReadOnly else { throw VaultError.readOnly }
        for page in batch {
            precondition(
                page.count == VaultFormat.pageSize, "a page is \(VaultFormat.pageSize) bytes")
        }
        let (pages, epoch) = try state.withLock { state throws in
            var pages: [UInt64] = []
            do {
                for _ in batch { pages.append(try allocate(&state)) }
            } catch {
                state.giveBack(pages)
                throw error
            }
            return (pages, state.epoch)
        }
        do {
            return try seal(batch, kind: kind, into: pages, epoch: epoch)
        } catch {
            state.withLock { $0.giveBack(pages) }
            throw error
        }
    }

    /// Seals `batch` into `pages`, allocated for it, and writes them.
    private func seal(_ batch: [[UInt8]], kind: PageKind, into pages: [UInt64], epoch: UInt32)
        throws -> [PagePointer]
    {
        let key = try keys.pageKey(epoch: epoch)
        let pageSize = VaultFormat.pageSize
        // All the ciphertext in one buffer, so that pages that landed next to each other on
        // disk go out in one write.
        return try scratch.withBuffer(bytes: batch.count * pageSize) { output in
            let base = UnsafeSendableBuffer(output)
            var pointers = [PagePointer](repeating: .null, count: batch.count)
            try pointers.withUnsafeMutableBufferPointer { pointers in
                let sealed = UnsafeSlots(pointers)
                try inParallel(batch.count) { range in
                    try key.withSession { session in
                        for index in range {
                            sealed[index] = try self.seal(
                                batch[index], page: pages[index], kind: kind, epoch: epoch,
                                session: session, into: base.slice(index * pageSize, pageSize))
                        }
                    }
                }
            }
            try writeRuns(UnsafeRawBufferPointer(output), at: pages)
            if batch.count >= 8 {
                // Let the disk start on a large batch now, so the commit's sync waits less.
                for run in runs(of: pages) {
                    device.startWriteback(
                        at: pages[run.lowerBound] * UInt64(pageSize), count: run.count * pageSize)
                }
            }
            return pointers
        }
    }

    /// Runs `body` over `0..<count` split into contiguous ranges, on every core when there
    /// are enough indices to share; the first failure is thrown once all have ended. A few
    /// ranges per core even out cores that are busy elsewhere, and each range pays for its
    /// key session once.
    private func inParallel(
        _ count: Int, _ body: @Sendable (Range<Int>) throws -> Void
    ) throws {
        let chunks = min(count / 8, 4 * Self.processorCount)
        guard chunks > 1 else { return try body(0..<count) }
        let failure = Mutex<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            do {
                try body(count * chunk / chunks..<count * (chunk + 1) / chunks)
            } catch {
                failure.withLock { if $0 == nil { $0 = error } }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private static let processorCount = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Writes consecutive pages of `ciphertext` to `pages`, one call for each run of
    /// neighbouring page numbers.
    private func writeRuns(_ ciphertext: UnsafeRawBufferPointer, at pages: [UInt64]) throws {
        let pageSize = VaultFormat.pageSize
        for run in runs(of: pages) {
            try device.write(
                UnsafeRawBufferPointer(
                    rebasing: ciphertext[run.lowerBound * pageSize..<run.upperBound * pageSize]),
                at: pages[run.lowerBound] * UInt64(pageSize))
        }
    }

    /// The index ranges of `pages` whose page numbers follow one another.
    private func runs(of pages: [UInt64]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var first = 0
        while first < pages.count {
            var end = first + 1
            while end < pages.count && pages[end] == pages[end - 1] + 1 { end += 1 }
            runs.append(first..<end)
            first = end
        }
        return runs
    }

    /// Seals one page's plaintext for its place: a fresh nonce, and the page number and kind in
    /// the authenticated data.
    func seal(
        _ plaintext: [UInt8], page: UInt64, kind: PageKind, epoch: UInt32, key: AES256GCM.Key
    ) throws -> ([UInt8], PagePointer) {
        var ciphertext = [UInt8](repeating: 0, count: VaultFormat.pageSize)
        let pointer = try ciphertext.withUnsafeMutableBytes { output in
            try key.withSession { session in
                try seal(
                    plaintext, page: page, kind: kind, epoch: epoch, session: session, into: output)
            }
        }
        return (ciphertext, pointer)
    }

    /// Seals one page's plaintext into `ciphertext` (one page).
    private func seal(
        _ plaintext: [UInt8], page: UInt64, kind: PageKind, epoch: UInt32,
        session: AES256GCM.Key.Session, into ciphertext: UnsafeMutableRawBufferPointer
    ) throws -> PagePointer {
        precondition(
            plaintext.count == VaultFormat.pageSize, "a page is \(VaultFormat.pageSize) bytes")
        let nonce = try AES256GCM.Nonce.random()
        let tag = try plaintext.withUnsafeBytes { input in
            try withAAD(page: page, kind: kind) { aad in
                try session.seal(input, authenticating: aad, nonce: nonce, into: ciphertext)
            }
        }
        return PagePointer(page: page, epoch: epoch, nonce: nonce, tag: tag)
    }

    /// Says that the page `pointer` names is no longer used by the state being built.
    public func release(_ pointer: PagePointer) {
        guard !pointer.isNull else { return }
        state.withLock { state in
            if state.allocatedSinceCommit.remove(pointer.page) != nil {
                state.allocatable.insert(pointer.page)
            } else {
                state.releasedSinceCommit.insert(pointer.page)
            }
        }
    }

    /// Pages under the quota kept for commits, so that a full vault can still commit the free
    /// list that says it is full.
    static let commitReserve: UInt64 = 8

    func allocate(_ state: inout State, forCommit: Bool = false) throws -> UInt64 {
        let page: UInt64
        if let free = state.allocatable.removeFirst() {
            page = free
        } else {
            let quota = state.superblock.quotaPages
            let limit = forCommit ? quota : quota - min(quota, Self.commitReserve)
            if quota > 0 && state.pageCount >= limit {
                throw VaultError.quotaExceeded(quotaPages: quota)
            }
            guard state.pageCount < VaultFormat.maximumPages else {
                throw VaultError.quotaExceeded(quotaPages: VaultFormat.maximumPages)
            }
            page = state.pageCount
            state.pageCount += 1
        }
        state.allocatedSinceCommit.insert(page)
        state.sealedInEpoch += 1
        if state.sealedInEpoch >= VaultFormat.pagesPerEpoch {
            state.epoch += 1
            state.sealedInEpoch = 0
        }
        return page
    }
}
