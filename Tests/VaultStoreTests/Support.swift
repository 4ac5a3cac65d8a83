import Crypto
import Foundation
import VaultStore

/// The cheapest derivation the minimums allow, so tests spend their time on the store.
let testDerivation = KeyDerivation.scrypt(Scrypt.Parameters(logN: 15, r: 8, p: 1))

func password(_ text: String) -> Credential { .password(SecretBytes(copying: text.utf8)) }

func makeStore(
    _ device: MemoryBlockDevice = MemoryBlockDevice(), recovery: Bool = false,
    quotaPages: UInt64 = 0
) throws -> (PageStore, MemoryBlockDevice, RecoveryKey?) {
    let (store, key) = try PageStore.create(
        device: device, password: SecretBytes(copying: "correct horse".utf8),
        derivation: testDerivation,
        withRecoveryKey: recovery, quotaPages: quotaPages)
    return (store, device, key)
}

func page(filledWith byte: UInt8) -> [UInt8] {
    [UInt8](repeating: byte, count: VaultFormat.pageSize)
}

/// A page whose bytes say which page and version it is, so that a mix-up cannot go unseen.
func labelledPage(_ label: String) -> [UInt8] {
    var bytes = Array(label.utf8)
    bytes += [UInt8](repeating: 0x5A, count: VaultFormat.pageSize - bytes.count)
    return bytes
}

func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        .path
}
