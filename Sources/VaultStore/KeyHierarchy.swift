import Crypto
import Synchronization

/// The keys derived from the master key (§4 of the spec), each for one purpose.
final class KeyHierarchy: Sendable {
    let master: SecretBytes
    let vaultID: [UInt8]
    let headerKey: AES256GCM.Key
    let superblockKey: AES256GCM.Key
    private let pageKeys = Mutex<[UInt32: AES256GCM.Key]>([:])

    init(master: SecretBytes, vaultID: [UInt8]) throws {
        self.master = master
        self.vaultID = vaultID
        headerKey = try Self.derive(master, vaultID, Array("claude-env header".utf8))
        superblockKey = try Self.derive(master, vaultID, Array("claude-env superblock".utf8))
    }

    /// The page key of `epoch`, derived once and kept.
    func pageKey(epoch: UInt32) throws -> AES256GCM.Key {
        if let key = pageKeys.withLock({ $0[epoch] }) { return key }
        var info = ByteWriter()
        info.raw(Array("claude-env pages".utf8))
        info.u32(epoch)
        let key = try Self.derive(master, vaultID, info.bytes)
        return pageKeys.withLock { keys in
            if let existing = keys[epoch] { return existing }
            keys[epoch] = key
            return key
        }
    }

    private static func derive(_ master: SecretBytes, _ vaultID: [UInt8], _ info: [UInt8]) throws
        -> AES256GCM.Key
    {
        try AES256GCM.Key(HKDF.deriveKey(from: master, salt: vaultID, info: info, outputCount: 32))
    }
}
