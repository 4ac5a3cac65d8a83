import Crypto

/// How a keyslot turns a secret into its key-encryption key.
public enum KeyDerivation: Sendable, Equatable, CustomStringConvertible {
    case scrypt(Scrypt.Parameters)
    case pbkdf2(iterations: UInt32)
    /// For recovery keys only, whose 256 bits of entropy make a slow KDF pointless.
    case hkdf

    /// The default for passwords: scrypt N = 2^17, r = 8, p = 1.
    public static let passwordDefault = KeyDerivation.scrypt(.default)

    public static let minimumScryptLogN: UInt8 = 15
    public static let minimumScryptR: UInt32 = 8
    public static let minimumPBKDF2Iterations: UInt32 = 600_000

    public var description: String {
        switch self {
        case .scrypt(let parameters): return parameters.description
        case .pbkdf2(let iterations): return "PBKDF2-HMAC-SHA256 \(iterations) iterations"
        case .hkdf: return "HKDF-SHA256"
        }
    }
}

/// What a keyslot is unlocked with.
public enum Credential: Sendable {
    case password(SecretBytes)
    /// The 32 bytes of a recovery key (see ``RecoveryKey``).
    case recoveryKey(SecretBytes)
    /// The master key itself, as handed from an unlocking process to the one that serves the
    /// vault; checked against the header's tag, since no keyslot is involved.
    case masterKey(SecretBytes)
}

/// One entry of the header's keyslot table (§5.1 of the spec): the master key, wrapped under
/// a key derived from a password or a recovery key.
public struct Keyslot: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case password = 1
        case recoveryKey = 2
    }

    public var kind: Kind
    public var derivation: KeyDerivation
    /// Seconds since 1970.
    public var created: Int64
    var salt: [UInt8]
    var nonce: AES256GCM.Nonce
    var wrappedKey: [UInt8]
    var tag: AES256GCM.Tag

    /// Wraps `master` for slot `index` under a key derived from `secret`.
    static func make(
        kind: Kind, derivation: KeyDerivation, secret: SecretBytes, master: SecretBytes, index: Int,
        vaultID: [UInt8], created: Int64
    ) throws -> Keyslot {
        var slot = Keyslot(
            kind: kind, derivation: derivation, created: created,
            salt: try SystemRandom.bytes(count: 32),
            nonce: try .random(), wrappedKey: [],
            tag: try AES256GCM.Tag(bytes: [UInt8](repeating: 0, count: 16)))
        try slot.checkMinimums(index: index)
        let wrapping = try AES256GCM.Key(slot.keyEncryptionKey(secret))
        let sealed = try master.withUnsafeBytes { masterBytes in
            try wrapping.seal(
                Array(masterBytes), authenticating: slot.aad(index: index, vaultID: vaultID),
                nonce: slot.nonce)
        }
        slot.wrappedKey = sealed.ciphertext
        slot.tag = sealed.tag
        return slot
    }

    /// Unwraps the master key with `secret`; ``VaultError/wrongPassword`` if it does not fit.
    func unwrap(_ secret: SecretBytes, index: Int, vaultID: [UInt8]) throws -> SecretBytes {
        try checkMinimums(index: index)
        let wrapping = try AES256GCM.Key(keyEncryptionKey(secret))
        do {
            let plain = try wrapping.open(
                wrappedKey, tag: tag, authenticating: aad(index: index, vaultID: vaultID),
                nonce: nonce)
            return SecretBytes(copying: plain)
        } catch CryptoError.authenticationFailure {
            throw VaultError.wrongPassword
        }
    }

    /// Refuses parameters a tampered header could use to make guessing cheaper.
    func checkMinimums(index: Int) throws {
        switch derivation {
        case .scrypt(let parameters):
            if parameters.logN < KeyDerivation.minimumScryptLogN {
                throw VaultError.weakKeyslot(
                    index: index, reason: "scrypt N=2^\(parameters.logN) < 2^15")
            }
            if parameters.r < KeyDerivation.minimumScryptR || parameters.p < 1 {
                throw VaultError.weakKeyslot(
                    index: index, reason: "scrypt r=\(parameters.r) p=\(parameters.p)")
            }
            if parameters.logN > 40 || parameters.memoryNeeded > Scrypt.defaultMemoryLimit {
                throw VaultError.weakKeyslot(
                    index: index, reason: "scrypt would need more than 2 GiB")
            }
        case .pbkdf2(let iterations):
            if iterations < KeyDerivation.minimumPBKDF2Iterations {
                throw VaultError.weakKeyslot(
                    index: index, reason: "PBKDF2 \(iterations) iterations < 600000")
            }
        case .hkdf:
            if kind != .recoveryKey {
                throw VaultError.weakKeyslot(index: index, reason: "HKDF on a password slot")
            }
        }
    }

    private func keyEncryptionKey(_ secret: SecretBytes) throws -> SecretBytes {
        switch derivation {
        case .scrypt(let parameters):
            return try Scrypt.deriveKey(
                password: secret, salt: salt, parameters: parameters, outputCount: 32)
        case .pbkdf2(let iterations):
            return try PBKDF2.deriveKey(
                password: secret, salt: salt, iterations: iterations, outputCount: 32)
        case .hkdf:
            return try HKDF.deriveKey(
                from: secret, salt: salt, info: Array("claude-env recovery key".utf8),
                outputCount: 32)
        }
    }

    /// Bytes 0 to 23 of the encoded slot: everything that says how to derive its key.
    private var parameterBytes: [UInt8] {
        var writer = ByteWriter(capacity: 24)
        writer.u8(1)
        writer.u8(kind.rawValue)
        switch derivation {
        case .scrypt(let parameters):
            writer.u8(1)
            writer.u8(0)
            writer.u32(UInt32(parameters.logN))
            writer.u32(parameters.r)
            writer.u32(parameters.p)
        case .pbkdf2(let iterations):
            writer.u8(2)
            writer.u8(0)
            writer.u32(iterations)
            writer.zeros(8)
        case .hkdf:
            writer.u8(3)
            writer.zeros(13)
        }
        writer.i64(created)
        return writer.bytes
    }

    private func aad(index: Int, vaultID: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Array("claude-env keyslot".utf8))
        writer.raw(vaultID)
        writer.u16(UInt16(index))
        writer.raw(parameterBytes)
        return writer.bytes
    }

    func encode(into writer: inout ByteWriter) {
        let start = writer.bytes.count
        writer.raw(parameterBytes)
        writer.raw(salt)
        writer.raw(nonce.bytes)
        writer.raw(wrappedKey)
        writer.raw(tag.bytes)
        writer.zeros(VaultFormat.keyslotSize - (writer.bytes.count - start))
    }

    /// Parses one 128-byte entry; nil for an empty slot.
    static func decode(from reader: inout ByteReader) throws -> Keyslot? {
        var entry = ByteReader(try reader.raw(VaultFormat.keyslotSize))
        let state = try entry.u8()
        guard state != 0 else { return nil }
        guard state == 1 else { throw VaultError.malformed("keyslot state \(state)") }
        guard let kind = Kind(rawValue: try entry.u8()) else {
            throw VaultError.malformed("keyslot kind")
        }
        let kdf = try entry.u8()
        try entry.skip(1)
        let first = try entry.u32()
        let second = try entry.u32()
        let third = try entry.u32()
        let derivation: KeyDerivation
        switch kdf {
        case 1:
            guard first < 64 else { throw VaultError.malformed("scrypt log2(N) \(first)") }
            derivation = .scrypt(Scrypt.Parameters(logN: UInt8(first), r: second, p: third))
        case 2:
            derivation = .pbkdf2(iterations: first)
        case 3:
            derivation = .hkdf
        default:
            throw VaultError.malformed("keyslot KDF \(kdf)")
        }
        let created = try entry.i64()
        let salt = try entry.raw(32)
        let nonce = try AES256GCM.Nonce(bytes: try entry.raw(12))
        let wrapped = try entry.raw(32)
        let tag = try AES256GCM.Tag(bytes: try entry.raw(16))
        return Keyslot(
            kind: kind, derivation: derivation, created: created, salt: salt, nonce: nonce,
            wrappedKey: wrapped,
            tag: tag)
    }
}
