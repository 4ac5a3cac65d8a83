import Crypto
import Synchronization
import Testing
import VaultStore

/// A memory device whose syncs can be made to fail, as a disk error would.
private final class FailingSyncDevice: BlockDevice {
    let inner = MemoryBlockDevice()
    let failingSyncs = Atomic<Int>(0)

    var name: String { inner.name }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try inner.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
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

    @Test("a sync that fails leaves the previous commit durable and its pages in place")
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

        // The retry commits, and the vault opens at it.
        try store.commit(root: b, nextInode: 2)
        let reopened = try PageStore.open(
            device: device.inner, credential: password("correct horse"), readOnly: true)
        #expect(reopened.committed.root == b)
        #expect(try reopened.read(b, kind: .fileData) == labelledPage("b"))
        #expect(reopened.metadataProblems().isEmpty)
    }
}
