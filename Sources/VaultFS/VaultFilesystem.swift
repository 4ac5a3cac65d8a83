import Dispatch
import Synchronization
import VaultStore
import VaultTree

/// A POSIX filesystem in a vault: the operations a FUSE daemon, `claude-env vault` and tests
/// call, addressed by inode number as in FUSE's low-level API.
///
/// Thread-safe: operations are serialised. Every failure is a ``FilesystemError`` carrying
/// the errno the caller should see; a page that fails authentication is `EIO`.
public final class VaultFilesystem: @unchecked Sendable {
    // @unchecked Sendable: `core` is only touched while `lock` is held.
    public static let rootInode: UInt64 = 1

    /// How much decrypted data to keep, and when to write it out.
    public struct CacheLimits: Sendable {
        /// Clean file blocks kept in memory, in bytes.
        public var cleanBytes: Int
        /// Changed blocks held before they are sealed and written (they are committed later).
        public var dirtyBytes: Int

        public init(cleanBytes: Int = 32 << 20, dirtyBytes: Int = 16 << 20) {
            self.cleanBytes = cleanBytes
            self.dirtyBytes = dirtyBytes
        }

        /// `bytes` in all: two thirds for clean blocks, one third for changed ones.
        public init(totalBytes bytes: Int) {
            self.init(cleanBytes: bytes / 3 * 2, dirtyBytes: bytes / 3)
        }

        /// What ``init(cleanBytes:dirtyBytes:)`` keeps by default, in all.
        public static let defaultTotalBytes = 48 << 20
    }

    public let store: PageStore
    private let core: FilesystemCore
    // TODO(perf): one lock serialises every operation but sealing and fetching blocks from
    // disk, so metadata-heavy work from many processes queues behind it on many-core hosts.
    private let lock = Mutex(())
    /// Held while a batch of changed blocks is sealed outside `lock`, and while a commit is
    /// prepared, so that no commit names a state with pages written but not yet in the tree.
    /// Always taken before `lock`, never while holding it.
    private let sealing = Mutex(())
    /// Held by a commit from start to durable, so that commits follow one another; the syncs
    /// at its end hold neither `sealing` nor `lock`. Always taken before both.
    private let committing = Mutex(())
    /// Whether the background sealer is queued or running.
    private let sealerActive = Atomic<Bool>(false)
    private let sealerQueue = DispatchQueue(label: "claude-env.sealer")
    /// Whether a commit to relieve memory pressure is queued or running.
    private let pressureCommitQueued = Atomic<Bool>(false)
    private let pressureCommitQueue = DispatchQueue(label: "claude-env.pressure-commit")
    private let scheduler = CommitScheduler()

    private init(store: PageStore, core: FilesystemCore) {
        self.store = store
        self.core = core
    }

    /// Makes a new, empty filesystem in a freshly created store: a root directory with
    /// `mode` owned by `uid`:`gid`, committed.
    public static func format(
        _ store: PageStore, rootMode: UInt32 = 0o700, uid: UInt32, gid: UInt32,
        limits: CacheLimits = .init()
    ) throws(FilesystemError) -> VaultFilesystem {
        try run {
            let core = FilesystemCore(store: store, root: .null, nextInode: 2, limits: limits)
            try core.makeRoot(mode: rootMode, uid: uid, gid: gid)
            try core.commit()
            return VaultFilesystem(store: store, core: core)
        }
    }

    /// The filesystem in an opened store. A writable one removes orphans left by a crash.
    public static func open(
        _ store: PageStore, limits: CacheLimits = .init(), removingOrphans: Bool = true
    ) throws(FilesystemError) -> VaultFilesystem {
        try run {
            let committed = store.committed
            let core = FilesystemCore(
                store: store, root: committed.root, nextInode: committed.nextInode, limits: limits)
            if removingOrphans {
                _ = try core.attributes(VaultFilesystem.rootInode)
                if !store.isReadOnly { try core.removeOrphans() }
            }
            return VaultFilesystem(store: store, core: core)
        }
    }

    private static func run<R>(_ body: () throws -> R) throws(FilesystemError) -> R {
        do { return try body() } catch { throw FilesystemError.from(error) }
    }

    private func withCore<R: Sendable>(_ body: (FilesystemCore) throws -> R) throws(FilesystemError)
        -> R
    {
        try lock.withLock { _ throws(FilesystemError) in
            try Self.run { try body(core) }
        }
    }

    // MARK: - Names

    public func lookup(_ parent: UInt64, _ name: [UInt8]) throws(FilesystemError) -> InodeAttributes
    {
        try withCore { try $0.lookup(parent, name) }
    }

    public func attributes(_ inode: UInt64) throws(FilesystemError) -> InodeAttributes {
        try withCore { try $0.attributes(inode) }
    }

    public func makeDirectory(
        _ parent: UInt64, _ name: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32
    ) throws(FilesystemError) -> InodeAttributes {
        try withCore {
            try $0.makeNode(
                parent, name, mode: FileType.directory.modeBits | (mode & 0o7777), uid: uid,
                gid: gid)
        }
    }

    /// Creates a file (or FIFO, socket or device) named `name`; `EEXIST` if the name is taken.
    public func makeNode(
        _ parent: UInt64, _ name: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32, rdev: UInt64 = 0
    ) throws(FilesystemError) -> InodeAttributes {
        try withCore { core in
            guard
                let type = FileType(
                    mode: mode == mode & 0o7777 ? mode | FileType.regular.modeBits : mode),
                type != .directory, type != .symbolicLink
            else { throw FilesystemError.invalid }
            return try core.makeNode(
                parent, name, mode: type.modeBits | (mode & 0o7777), uid: uid, gid: gid, rdev: rdev)
        }
    }

    public func makeSymbolicLink(
        _ parent: UInt64, _ name: [UInt8], target: [UInt8], uid: UInt32, gid: UInt32
    ) throws(FilesystemError) -> InodeAttributes {
        try withCore { try $0.makeSymbolicLink(parent, name, target: target, uid: uid, gid: gid) }
    }

    public func readSymbolicLink(_ inode: UInt64) throws(FilesystemError) -> [UInt8] {
        try withCore { try $0.readSymbolicLink(inode) }
    }

    public func link(_ inode: UInt64, into parent: UInt64, as name: [UInt8]) throws(FilesystemError)
        -> InodeAttributes
    {
        try withCore { try $0.link(inode, into: parent, as: name) }
    }

    public func unlink(_ parent: UInt64, _ name: [UInt8]) throws(FilesystemError) {
        try withCore { try $0.unlink(parent, name) }
    }

    public func removeDirectory(_ parent: UInt64, _ name: [UInt8]) throws(FilesystemError) {
        try withCore { try $0.removeDirectory(parent, name) }
    }

    public enum RenameMode: Sendable {
        /// Replace the target if there is one (`rename(2)`).
        case replace
        /// Fail with `EEXIST` if the target exists (`RENAME_NOREPLACE`).
        case noReplace
        /// Swap the two names, which must both exist (`RENAME_EXCHANGE`).
        case exchange
    }

    public func rename(
        _ parent: UInt64, _ name: [UInt8], to newParent: UInt64, _ newName: [UInt8],
        mode: RenameMode = .replace
    ) throws(FilesystemError) {
        try withCore { try $0.rename(parent, name, to: newParent, newName, mode: mode) }
    }

    /// Up to `limit` entries after `cookie` (0 for the start), in a stable order.
    public func readDirectory(_ inode: UInt64, after cookie: UInt64, limit: Int = 1024)
        throws(FilesystemError) -> [DirectoryListing]
    {
        try withCore { try $0.readDirectory(inode, after: cookie, limit: limit) }
    }

    // MARK: - Attributes

    /// The attribute changes of a `setattr` call; nil leaves a field alone.
    public struct AttributeChanges: Sendable {
        public var mode: UInt32?
        public var uid: UInt32?
        public var gid: UInt32?
        public var size: UInt64?
        public var accessTime: Int64?
        public var modificationTime: Int64?

        public init(
            mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: UInt64? = nil,
            accessTime: Int64? = nil, modificationTime: Int64? = nil
        ) {
            self.mode = mode
            self.uid = uid
            self.gid = gid
            self.size = size
            self.accessTime = accessTime
            self.modificationTime = modificationTime
        }
    }

    public func setAttributes(_ inode: UInt64, _ changes: AttributeChanges) throws(FilesystemError)
        -> InodeAttributes
    {
        try withCore { try $0.setAttributes(inode, changes) }
    }

    // MARK: - Contents

    /// Reads up to `count` bytes at `offset`. Blocks that must come from disk are read and
    /// decrypted with the lock free, so that other requests go on meanwhile.
    public func read(_ inode: UInt64, at offset: UInt64, count: Int) throws(FilesystemError)
        -> [UInt8]
    {
        Array(try readPieces(inode, at: offset, count: count).joined())
    }

    /// ``read(_:at:count:)`` as consecutive slices of whole or partial blocks, which share
    /// their storage with the cache: a reply can gather them without copying them together.
    public func readPieces(_ inode: UInt64, at offset: UInt64, count: Int)
        throws(FilesystemError) -> [ArraySlice<UInt8>]
    {
        try readPieces(inode, at: offset, count: count, afterFetching: {})
    }

    /// ``readPieces(_:at:count:)``, calling `afterFetching` between fetching blocks with the
    /// lock free and using them, so that tests can change the file in between.
    func readPieces(
        _ inode: UInt64, at offset: UInt64, count: Int, afterFetching: () -> Void
    ) throws(FilesystemError) -> [ArraySlice<UInt8>] {
        let missing = try withCore { try $0.missingBlocks(inode, at: offset, count: count) }
        // Asked first, so that the block's own read joins it rather than going alone.
        if let around = missing.readAround { store.startReading(pages: around) }
        // A page may be reused once a concurrent change frees it, and then fails to
        // authenticate: the read under the lock below then sees the current state.
        if !missing.blocks.isEmpty,
            let pages = try? store.read(batch: missing.blocks.map(\.1), kind: .fileData)
        {
            // Asked after this read, so that it does not queue behind pages wanted later.
            if let ahead = missing.readAhead { store.startReading(pages: ahead) }
            afterFetching()
            return try withCore { core in
                try core.readPieces(
                    inode, at: offset, count: count, fetched: missing, pages: pages)
            }
        }
        return try withCore { try $0.readPieces(inode, at: offset, count: count) }
    }

    /// Writes `bytes` at `offset`. Changed blocks wait in memory; once they pass half the
    /// dirty limit a background thread seals them while writes go on, and a write that
    /// leaves the limit reached seals batches itself until it is not.
    @discardableResult
    public func write(_ inode: UInt64, at offset: UInt64, _ bytes: [UInt8]) throws(FilesystemError)
        -> Int
    {
        do {
            return try bytes.withUnsafeBytes { try write(inode, at: offset, $0) }
        } catch {
            throw FilesystemError.from(error)
        }
    }

    /// Writes the bytes of `buffer`, which need only last for the call, at `offset`.
    @discardableResult
    public func write(_ inode: UInt64, at offset: UInt64, _ bytes: UnsafeRawBufferPointer)
        throws(FilesystemError) -> Int
    {
        let (written, dirty, limit) = try withCore { core in
            (try core.write(inode, at: offset, bytes), core.dirtyBlocks.count, core.dirtyBlockLimit)
        }
        if dirty * 2 >= limit { startBackgroundSealing() }
        if dirty >= limit {
            while try sealBatch(), try withCore({ $0.dirtyBlocks.count >= $0.dirtyBlockLimit }) {}
        }
        return written
    }

    /// Seals one batch of changed blocks with `lock` free meanwhile. Once the tree records of
    /// blocks sealed since the last commit reach twice the dirty limit, a commit is started on
    /// a thread of its own, which lets the tree's decoded nodes go so that memory stays bounded
    /// by the cache limits; no writer waits for it. Returns false when nothing was changed.
    private func sealBatch() throws(FilesystemError) -> Bool {
        let (sealed, needsPressureCommit) = try sealing.withLock { _ throws(FilesystemError) in
            let sealed = try sealBatchWhileSealing()
            return (sealed, try withCore { $0.sealedSinceCommit >= 2 * $0.dirtyBlockLimit })
        }
        if needsPressureCommit { startPressureCommit() }
        return sealed
    }

    private func startPressureCommit() {
        guard
            pressureCommitQueued.compareExchange(
                expected: false, desired: true, ordering: .acquiring
            ).exchanged
        else { return }
        pressureCommitQueue.async { [weak self] in
            guard let self else { return }
            defer { self.pressureCommitQueued.store(false, ordering: .releasing) }
            // A failure leaves the changes uncommitted; the timer or an fsync meets it again.
            try? self.commit(droppingNodes: true, unlessSealedBelow: 2)
        }
    }

    /// Seals and installs one batch, for a caller holding `sealing`; false when nothing was
    /// changed.
    private func sealBatchWhileSealing() throws(FilesystemError) -> Bool {
        let batch = try withCore { $0.takeSealingBatch() }
        guard !batch.isEmpty else { return false }
        let pointers = try Self.run { try store.write(batch: batch.pages, kind: .fileData) }
        try withCore { try $0.install(batch, at: pointers) }
        return true
    }

    /// Seals on a thread of its own until a quarter of the dirty limit is left.
    private func startBackgroundSealing() {
        guard
            sealerActive.compareExchange(expected: false, desired: true, ordering: .acquiring)
                .exchanged
        else { return }
        sealerQueue.async { [weak self] in
            guard let self else { return }
            defer { self.sealerActive.store(false, ordering: .releasing) }
            // A failure leaves the blocks changed; the next writer or commit meets it again.
            while (try? self.withCore({ $0.dirtyBlocks.count * 4 > $0.dirtyBlockLimit })) == true,
                (try? self.sealBatch()) == true
            {}
        }
    }

    /// Notes that a process opened `inode`, so that unlinking it keeps its contents until
    /// ``closed(_:)``.
    public func opened(_ inode: UInt64) throws(FilesystemError) {
        try withCore { try $0.opened(inode) }
    }

    public func closed(_ inode: UInt64) throws(FilesystemError) {
        try withCore { try $0.closed(inode) }
    }

    // MARK: - Extended attributes

    public enum SetMode: Sendable {
        case createOrReplace
        /// `XATTR_CREATE`: fail with `EEXIST` if it exists.
        case create
        /// `XATTR_REPLACE`: fail with `ENODATA` if it does not.
        case replace
    }

    public func setExtendedAttribute(
        _ inode: UInt64, _ name: [UInt8], _ value: [UInt8], mode: SetMode = .createOrReplace
    ) throws(FilesystemError) {
        try withCore { try $0.setExtendedAttribute(inode, name, value, mode: mode) }
    }

    public func extendedAttribute(_ inode: UInt64, _ name: [UInt8]) throws(FilesystemError)
        -> [UInt8]
    {
        try withCore { try $0.extendedAttribute(inode, name) }
    }

    public func extendedAttributeNames(_ inode: UInt64) throws(FilesystemError) -> [[UInt8]] {
        try withCore { try $0.extendedAttributeNames(inode) }
    }

    public func removeExtendedAttribute(_ inode: UInt64, _ name: [UInt8]) throws(FilesystemError) {
        try withCore { try $0.removeExtendedAttribute(inode, name) }
    }

    // MARK: - Durability

    /// Makes every change so far durable; `fsync` of any file calls this.
    ///
    /// Most changed blocks are sealed with `lock` free, the rest and the tree under it; the
    /// syncs that make the commit durable then run while other operations go on.
    public func commit() throws(FilesystemError) {
        try commit(droppingNodes: false, unlessSealedBelow: 0)
    }

    /// A commit, skipped when a commit that ended meanwhile left fewer than `dirtyLimits` times
    /// the dirty limit of blocks sealed since.
    private func commit(droppingNodes: Bool, unlessSealedBelow dirtyLimits: Int)
        throws(FilesystemError)
    {
        try committing.withLock { _ throws(FilesystemError) in
            let prepared = try sealing.withLock { _ throws(FilesystemError) in
                let (dirty, sealed, limit) = try withCore {
                    ($0.dirtyBlocks.count, $0.sealedSinceCommit, $0.dirtyBlockLimit)
                }
                guard sealed >= dirtyLimits * limit else { return PageStore.PreparedCommit?.none }
                // As many batches as were changed when the commit began, so that writers who
                // go on changing blocks cannot hold it off.
                for _ in 0..<(dirty + 255) / 256 {
                    guard try sealBatchWhileSealing() else { break }
                }
                return try withCore { try $0.prepareCommit(droppingNodes: droppingNodes) }
            }
            guard let prepared else { return }
            do {
                try store.completeCommit(prepared)
            } catch {
                try? withCore { $0.hasChanges = true }
                throw FilesystemError.from(error)
            }
        }
    }

    /// Commits every `interval` while there are uncommitted changes, so that work is durable
    /// within that time even without `fsync`. A failed commit is passed to `onFailure` and
    /// retried at the next tick.
    public func commitPeriodically(
        every interval: Duration, afterCommit: @escaping @Sendable () -> Void = {},
        onFailure: @escaping @Sendable (FilesystemError) -> Void
    ) {
        scheduler.start(interval: interval) { [weak self] in
            guard let self, self.hasUncommittedChanges else { return }
            do {
                try self.commit()
                afterCommit()
            } catch {
                onFailure(FilesystemError.from(error))
            }
        }
    }

    /// Stops the periodic commits; the caller commits once more at shutdown.
    public func stopPeriodicCommits() {
        scheduler.stop()
    }

    /// Whether there are changes that a commit would write.
    public var hasUncommittedChanges: Bool {
        (try? withCore { $0.hasChanges }) ?? false
    }

    public struct Statistics: Sendable, Equatable {
        public var pageSize: Int
        public var pageCount: UInt64
        public var freePages: UInt64
        public var quotaPages: UInt64
        public var nextInode: UInt64
    }

    public var statistics: Statistics {
        let usage = store.usage
        let next = (try? withCore { $0.nextInode }) ?? 0
        return Statistics(
            pageSize: VaultFormat.pageSize, pageCount: usage.pageCount, freePages: usage.freePages,
            quotaPages: usage.quotaPages, nextInode: next)
    }

    /// Removes a directory entry without touching its inode, leaving the vault inconsistent;
    /// only for tests of check and repair.
    public func forgetEntryForTesting(_ parent: UInt64, _ name: [UInt8]) throws(FilesystemError) {
        try withCore { core in
            guard let entry = try core.entry(parent, name) else { throw FilesystemError.noEntry }
            try core.tree.remove(RecordKey.make(parent, .directoryEntry, name))
            try core.tree.remove(RecordKey.make(parent, .directoryIndex, number: entry.cookie))
            core.hasChanges = true
        }
    }
}

/// A repeating timer on a queue of its own.
final class CommitScheduler: @unchecked Sendable {
    // @unchecked Sendable: `timer` is only touched under `lock`.
    private let lock = Mutex(())
    private var timer: (any DispatchSourceTimer)?
    private let queue = DispatchQueue(label: "claude-env.commit-timer")

    func start(interval: Duration, _ tick: @escaping @Sendable () -> Void) {
        lock.withLock { _ in
            timer?.cancel()
            let source = DispatchSource.makeTimerSource(queue: queue)
            let nanoseconds =
                Int(interval.components.seconds) * 1_000_000_000
                + Int(interval.components.attoseconds / 1_000_000_000)
            source.schedule(
                deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds))
            source.setEventHandler(handler: tick)
            source.resume()
            timer = source
        }
    }

    func stop() {
        lock.withLock { _ in
            timer?.cancel()
            timer = nil
        }
    }

    deinit { timer?.cancel() }
}
