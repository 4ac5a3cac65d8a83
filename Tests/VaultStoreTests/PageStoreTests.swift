import Crypto
import Foundation
import Testing
import VaultStore

@Suite("page store")
struct PageStoreTests {
    @Test("a committed page reads back after reopening, and only with the right password")
    func roundTrip() throws {
        let (store, device, _) = try makeStore()
        let pointer = try store.write(labelledPage("hello"), kind: .treeNode)
        try store.commit(root: pointer, nextInode: 9)

        let reopened = try PageStore.open(
            device: device, credential: password("correct horse"), readOnly: true)
        #expect(reopened.committed.root == pointer)
        #expect(reopened.committed.nextInode == 9)
        #expect(reopened.committed.sequence == 2)
        #expect(try reopened.read(pointer, kind: .treeNode) == labelledPage("hello"))

        #expect(throws: VaultError.wrongPassword) {
            try PageStore.open(device: device, credential: password("wrong horse"), readOnly: true)
        }
    }

    @Test("the master key opens the vault without a keyslot; another key does not")
    func masterKey() throws {
        let (store, device, _) = try makeStore()
        _ = try PageStore.open(
            device: device, credential: .masterKey(store.masterKey), readOnly: true)
        #expect(throws: VaultError.wrongPassword) {
            try PageStore.open(
                device: device, credential: .masterKey(try .random(count: 32)), readOnly: true)
        }
    }

    @Test("the recovery key opens the vault, and a printed key parses back")
    func recoveryKey() throws {
        let (_, device, key) = try makeStore(recovery: true)
        let printed = try #require(key).formatted
        #expect(printed.count == 52 + 12)
        let parsed = try #require(
            RecoveryKey(parsing: printed.lowercased().replacingOccurrences(of: "-", with: " ")))
        _ = try PageStore.open(
            device: device, credential: .recoveryKey(parsed.secret), readOnly: true)
        #expect(RecoveryKey(parsing: String(printed.dropLast())) == nil)
        let other = try RecoveryKey.generate()
        #expect(throws: VaultError.wrongPassword) {
            try PageStore.open(
                device: device, credential: .recoveryKey(other.secret), readOnly: true)
        }
    }

    @Test("a changed password opens, the removed one no longer does, the master key stays")
    func changePassword() throws {
        let (store, device, _) = try makeStore()
        let pointer = try store.write(labelledPage("kept"), kind: .fileData)
        try store.commit(root: pointer, nextInode: 2)
        let added = try store.addKeyslot(password("new secret"), derivation: testDerivation)
        try store.removeKeyslot(at: 0)
        #expect(store.keyslots.map(\.index) == [added])
        #expect(throws: VaultError.lastKeyslot) { try store.removeKeyslot(at: added) }

        let reopened = try PageStore.open(
            device: device, credential: password("new secret"), readOnly: false)
        #expect(try reopened.read(pointer, kind: .fileData) == labelledPage("kept"))
        #expect(throws: VaultError.wrongPassword) {
            try PageStore.open(
                device: device, credential: password("correct horse"), readOnly: true)
        }
    }

    @Test("a flipped bit, a swapped page or an older version of a page is refused")
    func pageTampering() throws {
        let (store, device, _) = try makeStore()
        let first = try store.write(labelledPage("first"), kind: .fileData)
        let second = try store.write(labelledPage("second"), kind: .fileData)
        try store.commit(root: first, nextInode: 2)
        let pageSize = VaultFormat.pageSize
        let original = device.bytes

        // One bit of the first page.
        device.tamper(at: 0) { $0[Int(first.page) * pageSize + 100] ^= 0x04 }
        #expect(throws: VaultError.damagedPage(page: first.page)) {
            try store.read(first, kind: .fileData)
        }
        device.tamper(at: 0) { $0 = original }
        #expect(try store.read(first, kind: .fileData) == labelledPage("first"))

        // The two pages swapped.
        device.tamper(at: 0) { bytes in
            let a = Array(bytes[Int(first.page) * pageSize..<Int(first.page + 1) * pageSize])
            let b = Array(bytes[Int(second.page) * pageSize..<Int(second.page + 1) * pageSize])
            bytes.replaceSubrange(
                Int(first.page) * pageSize..<Int(first.page + 1) * pageSize, with: b)
            bytes.replaceSubrange(
                Int(second.page) * pageSize..<Int(second.page + 1) * pageSize, with: a)
        }
        #expect(throws: VaultError.damagedPage(page: first.page)) {
            try store.read(first, kind: .fileData)
        }
        #expect(throws: VaultError.damagedPage(page: second.page)) {
            try store.read(second, kind: .fileData)
        }
        device.tamper(at: 0) { $0 = original }

        // Read as the wrong kind.
        #expect(throws: VaultError.damagedPage(page: first.page)) {
            try store.read(first, kind: .treeNode)
        }

        // An older version of the same page: rewrite the page, keep the new pointer, put back
        // the old ciphertext.
        store.release(first)
        try store.commit(root: second, nextInode: 2)
        let replaced = try store.write(labelledPage("first, version 2"), kind: .fileData)
        #expect(replaced.page == first.page)
        let current = Array(
            device.bytes[Int(first.page) * pageSize..<Int(first.page + 1) * pageSize])
        device.tamper(at: 0) { bytes in
            bytes.replaceSubrange(
                Int(first.page) * pageSize..<Int(first.page + 1) * pageSize,
                with: original[Int(first.page) * pageSize..<Int(first.page + 1) * pageSize])
        }
        #expect(throws: VaultError.damagedPage(page: first.page)) {
            try store.read(replaced, kind: .fileData)
        }
        #expect(
            current != Array(original[Int(first.page) * pageSize..<Int(first.page + 1) * pageSize]))
    }

    @Test("freed pages are reused only after the commit that frees them")
    func reuseAfterCommit() throws {
        let (store, _, _) = try makeStore()
        let a = try store.write(page(filledWith: 1), kind: .fileData)
        try store.commit(root: a, nextInode: 2)
        store.release(a)
        let b = try store.write(page(filledWith: 2), kind: .fileData)
        #expect(b.page != a.page)
        try store.commit(root: b, nextInode: 2)
        let c = try store.write(page(filledWith: 3), kind: .fileData)
        #expect(c.page == a.page)

        // A page written and released within one commit is reusable at once.
        store.release(c)
        let d = try store.write(page(filledWith: 4), kind: .fileData)
        #expect(d.page == c.page)
    }

    @Test("the free list survives a reopen, and the file stops growing once pages are reused")
    func freeListPersists() throws {
        let (store, device, _) = try makeStore()
        var live = try store.write(
            batch: (0..<40).map { page(filledWith: UInt8($0)) }, kind: .fileData)
        try store.commit(root: live[0], nextInode: 2)
        for pointer in live[10...] where pointer.page % 3 != 0 { store.release(pointer) }
        live = live.filter { $0.page % 3 == 0 || live.firstIndex(of: $0)! < 10 }
        try store.commit(root: live[0], nextInode: 2)
        let usage = store.usage

        let reopened = try PageStore.open(
            device: device, credential: password("correct horse"), readOnly: false)
        #expect(reopened.usage == usage)
        let sizeBefore = try device.size()
        let fresh = try reopened.write(
            batch: (0..<Int(usage.freePages)).map { _ in page(filledWith: 9) }, kind: .fileData)
        #expect(try device.size() == sizeBefore)
        #expect(Set(fresh.map(\.page)).isDisjoint(with: Set(live.map(\.page))))
        for pointer in live {
            #expect(
                try reopened.read(pointer, kind: .fileData)
                    == page(filledWith: try store.read(pointer, kind: .fileData)[0]))
        }
    }

    @Test("free space fragmented into thousands of ranges spans several free-list pages")
    func fragmentedFreeList() throws {
        let (store, device, _) = try makeStore()
        let pointers = try store.write(
            batch: (0..<3000).map { _ in page(filledWith: 1) }, kind: .fileData)
        try store.commit(root: pointers[0], nextInode: 2)
        // Every other page freed: 1,500 separate ranges, six free-list pages.
        for pointer in pointers where pointer.page % 2 == 0 { store.release(pointer) }
        try store.commit(root: pointers.first { $0.page % 2 == 1 }!, nextInode: 2)
        let usage = store.usage
        #expect(usage.freePages >= 1490)
        let reopened = try PageStore.open(
            device: device, credential: .masterKey(store.masterKey), readOnly: false)
        #expect(reopened.usage == usage)
        #expect(reopened.freeSpace.freeListPages.count >= 6)
        for pointer in pointers where pointer.page % 2 == 1 {
            #expect(try reopened.read(pointer, kind: .fileData) == page(filledWith: 1))
        }
    }

    @Test("large batches are sealed in parallel and each page verifies on its own")
    func parallelBatch() throws {
        let (store, _, _) = try makeStore()
        let pages = (0..<300).map { labelledPage("page \($0)") }
        let pointers = try store.write(batch: pages, kind: .fileData)
        #expect(Set(pointers.map(\.page)).count == 300)
        #expect(Set(pointers.map(\.nonce)).count == 300)
        for (index, pointer) in pointers.enumerated() {
            #expect(try store.read(pointer, kind: .fileData) == pages[index])
        }
    }

    @Test("growing past the quota is refused with a clear error")
    func quota() throws {
        let (store, _, _) = try makeStore(quotaPages: 20)
        var written = 0
        #expect(throws: VaultError.quotaExceeded(quotaPages: 20)) {
            while true {
                _ = try store.write(page(filledWith: 1), kind: .fileData)
                written += 1
            }
        }
        // Four fixed pages, and eight kept back so that the full vault can still commit.
        #expect(written == 20 - 4 - 8)
        try store.commit(root: .null, nextInode: 2)
    }

    @Test("a second writer on the same file is refused with the holder's pid")
    func singleWriter() throws {
        let path = temporaryPath("vault")
        defer { unlink(path) }
        let device = try FileBlockDevice(creating: path)
        _ = try PageStore.create(
            device: device, password: SecretBytes(copying: "pw".utf8), derivation: testDerivation)
        // fcntl locks belong to the process, so the competing writer must be another process.
        let probe = try Subprocess.flockProbe(path)
        #expect(probe.contains("held by \(getpid())"))
    }
}

enum Subprocess {
    /// Asks a child process (python3) who holds the fcntl write lock on byte 0 of `path`.
    static func flockProbe(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import fcntl, struct, os, sys
            fd = os.open(sys.argv[1], os.O_RDWR)
            lock = struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 1, 0)
            result = fcntl.fcntl(fd, fcntl.F_GETLK, lock)
            kind, _, _, _, pid = struct.unpack('hhqqi', result)
            print('free' if kind == fcntl.F_UNLCK else 'held by %d' % pid)
            """,
            path,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
