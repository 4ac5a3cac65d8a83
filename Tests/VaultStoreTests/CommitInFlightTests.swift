import Crypto
import Synchronization
import Testing
import VaultStore

/// A memory device whose syncs can be made to fail, as a disk error would.
private final class FailingSyncDevice: BlockDevice {
    let inner = MemoryBlockDevice()
    let failingSyncs = Atomic<Int>(0)
    let failingWrites = Atomic<Int>(0)

    var name: String { inner.name }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try inner.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        if failingWrites.load(ordering: .relaxed) > 0 {
            failingWrites.subtract(1, ordering: .relaxed)
            throw VaultError.io(operation: "pwrite", path: name, errno: 28)
        }
        try inner.write(bytes, at: offset)
    }

    func sync() throws {
        if failingSyncs.load(ordering: .relaxed) > 0 {
            failingSyncs.subtract(1, ordering: .relaxed)
            throw VaultError.io(operation: "fsync", path: name, errno: 5)
        }
        try inner.sync()
    }

    func size() throws -> UInt64 { try inner.size() }
}

@Suite("commits in flight")
struct CommitInFlightTests {
    @Test("pages written while a commit is made touch neither the durable state nor the new one")
    func writesDuringCommit() throws {
        let (store, device, _) = try makeStore()
        let a = try store.write(labelledPage("a"), kind: .fileData)
        try store.commit(root: a, nextInode: 2)

        store.release(a)
        let b = try store.write(labelledPage("b"), kind: .fileData)
        let prepared = try store.prepareCommit(root: b, nextInode: 3)
        // Meanwhile: new pages, and a page the commit names released again.
        store.release(b)
        let during = try store.write(
            batch: (0..<20).map { _ in page(filledWith: 7) }, kind: .fileData)
        #expect(!during.contains { $0.page == a.page || $0.page == b.page })
        #expect(store.committed.root == a)
        let free = store.usage.freePages

        // A crash now finds the previous commit whole.
        let crashed = try PageStore.open(
            device: MemoryBlockDevice(bytes: device.bytes), credential: password("correct horse"),
            readOnly: true)
        #expect(crashed.committed.root == a)
        #expect(try crashed.read(a, kind: .fileData) == labelledPage("a"))

        try store.completeCommit(prepared)
        #expect(store.committed.root == b)
        #expect(store.usage.freePages == free)
        let reopened = try PageStore.open(
            device: device, credential: password("correct horse"), readOnly: true)
        #expect(reopened.committed.root == b)
        #expect(reopened.committed.nextInode == 3)
        #expect(try reopened.read(b, kind: .fileData) == labelledPage("b"))
        // `a` is free now, `b` only after the next commit.
        let free2 = store.freeSpace.free
        #expect(free2.contains { $0.contains(a.page) })
        #expect(free2.contains { $0.contains(b.page) })
        let next = try store.write(
            batch: (0..<Int(store.usage.freePages)).map { _ in page(filledWith: 8) },
            kind: .fileData)
        #expect(!next.contains { $0.page == b.page })
    }

    @Test("a sync that fails is final: the vault stays at its last durable commit, intact")
    func failedSync() throws {
        let device = FailingSyncDevice()
        let (store, _) = try PageStore.create(
            device: device, password: SecretBytes(copying: "correct horse".utf8),
            derivation: testDerivation)
        let a = try store.write(labelledPage("a"), kind: .fileData)
        try store.commit(root: a, nextInode: 2)

        store.release(a)
        let b = try store.write(labelledPage("b"), kind: .fileData)
        device.failingSyncs.store(1, ordering: .relaxed)
        #expect(throws: VaultError.self) { try store.commit(root: b, nextInode: 2) }
        #expect(store.committed.root == a)
        let during = try store.write(
            batch: (0..<20).map { _ in page(filledWith: 7) }, kind: .fileData)
        #expect(!during.contains { $0.page == a.page })
        // The disk would now take the sync, but what it dropped is gone: no later commit.
        #expect(throws: VaultError.self) { try store.commit(root: b, nextInode: 2) }

        let reopened = try PageStore.open(
            device: device.inner, credential: password("correct horse"), readOnly: true)
        #expect(reopened.committed.root == a)
        #expect(try reopened.read(a, kind: .fileData) == labelledPage("a"))
        #expect(reopened.metadataProblems().isEmpty)
    }

    @Test("pages of a write or a free list that fails to reach the disk are given back")
    func failedWrites() throws {
        let device = FailingSyncDevice()
        let (store, _) = try PageStore.create(
            device: device, password: SecretBytes(copying: "correct horse".utf8),
            derivation: testDerivation)
        let kept = try store.write(labelledPage("kept"), kind: .fileData)
        try store.commit(root: kept, nextInode: 2)
        let before = store.usage

        device.failingWrites.store(1, ordering: .relaxed)
        #expect(throws: VaultError.self) {
            try store.write(batch: (0..<20).map { _ in page(filledWith: 1) }, kind: .fileData)
        }
        // The pages it took are free again: as many fit without the file growing twice.
        let grown = store.usage.pageCount
        let second = try store.write(
            batch: (0..<20).map { _ in page(filledWith: 2) }, kind: .fileData)
        #expect(store.usage.pageCount == grown)
        #expect(grown == before.pageCount + 20)
        for pointer in second { store.release(pointer) }

        // A free list that fails to be written leaves nothing allocated behind it.
        device.failingWrites.store(1, ordering: .relaxed)
        #expect(throws: VaultError.self) { try store.commit(root: kept, nextInode: 2) }
        try store.commit(root: kept, nextInode: 2)
        let reopened = try PageStore.open(
            device: device.inner, credential: password("correct horse"), readOnly: false)
        #expect(reopened.committed.root == kept)
        // Past the header and superblock pages, every page is the kept one, free, or the free
        // list's: none is lost.
        let space = reopened.freeSpace
        let free = space.free.reduce(0) { $0 + $1.count }
        #expect(
            reopened.usage.pageCount - 4
                == UInt64(free) + UInt64(space.freeListPages.count) + 1)
    }
}
