import Crypto
import Foundation
import Testing
import VaultStore

@Suite("files that are not a usable vault")
struct BadInputTests {
    /// Writes `bytes` to a file, tries to open it, and checks that the file is untouched.
    func openFile(_ bytes: [UInt8], credential: Credential = password("correct horse")) throws
        -> VaultError?
    {
        let path = temporaryPath("bad")
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        var error: VaultError?
        do {
            let device = try FileBlockDevice(openingExisting: path, access: .readWrite)
            _ = try PageStore.open(device: device, credential: credential, readOnly: false)
        } catch let failure as VaultError {
            error = failure
        }
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes), "the file was changed")
        return error
    }

    func validVault() throws -> [UInt8] {
        let (store, device, _) = try makeStore()
        let pointer = try store.write(labelledPage("content"), kind: .treeNode)
        try store.commit(root: pointer, nextInode: 2)
        return device.bytes
    }

    @Test("an empty file, random bytes and other formats are not vaults")
    func notVaults() throws {
        let gzip: [UInt8] = [0x1f, 0x8b, 0x08, 0x00] + [UInt8](repeating: 0, count: 20000)
        let elf: [UInt8] = [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 1, count: 20000)
        for bytes in [
            [], try SystemRandom.bytes(count: 1 << 20), gzip, elf, Array("claude-env".utf8),
        ] {
            guard case .notAVault = try openFile(bytes) else {
                Issue.record("expected notAVault for a \(bytes.count)-byte file")
                continue
            }
        }
    }

    @Test("a vault of a future format version is refused before any password is tried")
    func futureVersion() throws {
        var bytes = try validVault()
        bytes[16] = 2
        bytes[4096 + 16] = 2
        #expect(
            try openFile(bytes, credential: password("anything"))
                == .unsupportedVersion(found: 2, supported: 1))
    }

    @Test("a truncated vault says so")
    func truncated() throws {
        let bytes = try validVault()
        guard case .truncated = try openFile(Array(bytes.prefix(3 * 4096))) else {
            Issue.record("expected truncated")
            return
        }
        // Cut inside the data: it opens, and the missing page reads as damaged.
        let device = MemoryBlockDevice(bytes: Array(bytes.prefix(bytes.count - 4096)))
        let store = try PageStore.open(
            device: device, credential: password("correct horse"), readOnly: true)
        #expect(throws: VaultError.self) { try store.read(store.committed.root, kind: .treeNode) }
    }

    @Test("a wrong password is refused and changes nothing")
    func wrongPassword() throws {
        #expect(
            try openFile(try validVault(), credential: password("incorrect horse"))
                == .wrongPassword)
    }

    @Test("weakened keyslot parameters are refused before deriving")
    func weakenedKeyslot() throws {
        var bytes = try validVault()
        // Slot 0 starts at 64; its log2(N) is at 68. Lower it in both copies.
        bytes[68] = 14
        bytes[4096 + 68] = 14
        guard case .weakKeyslot(index: 0, _) = try openFile(bytes) else {
            Issue.record("expected weakKeyslot")
            return
        }
        // Raising it is not weaker, but the parameters are bound into the slot: no key fits.
        bytes[68] = 16
        bytes[4096 + 68] = 16
        #expect(try openFile(bytes) == .wrongPassword)
    }

    @Test("a damaged header copy is survived; two are refused")
    func headerCopies() throws {
        var bytes = try validVault()
        bytes[3000] ^= 1
        #expect(try openFile(bytes) == nil)
        bytes[4096 + 3000] ^= 1
        #expect(try openFile(bytes) == .headerDamaged)
    }

    @Test("a superblock moved to the other slot, or damaged in both, is refused")
    func superblocks() throws {
        let bytes = try validVault()
        var moved = bytes
        // Sequence 2 lives in slot 0 (page 2); copy it over slot 1 and damage slot 0.
        moved.replaceSubrange(3 * 4096..<4 * 4096, with: bytes[2 * 4096..<3 * 4096])
        moved[2 * 4096 + 40] ^= 1
        #expect(try openFile(moved) == .noValidSuperblock)
    }

    @Test("an old superblock put back in its slot loses to the newer one")
    func rolledBackSlot() throws {
        let (store, device, _) = try makeStore()
        let old = device.bytes
        let pointer = try store.write(labelledPage("new"), kind: .treeNode)
        try store.commit(root: pointer, nextInode: 3)  // sequence 2, slot 0
        try store.commit(root: pointer, nextInode: 4)  // sequence 3, slot 1
        // Put back slot 1 as it was at sequence 1.
        device.tamper(at: 0) {
            $0.replaceSubrange(3 * 4096..<4 * 4096, with: old[3 * 4096..<4 * 4096])
        }
        let reopened = try PageStore.open(
            device: device, credential: password("correct horse"), readOnly: true)
        #expect(reopened.committed.sequence == 2)
        #expect(reopened.committed.nextInode == 3)
    }
}
