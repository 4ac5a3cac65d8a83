import Crypto

/// The plaintext, authenticated header (§5 of the spec), kept in two copies.
struct VaultHeader: Sendable, Equatable {
    /// The vault id of the file at `path`, read from its plaintext header without a key; nil
    /// if it is not a readable vault. For naming its mount point and state without a password.
    static func peekVaultID(_ path: String) -> [UInt8]? {
        guard let device = try? FileBlockDevice(reading: path),
            let bytes = try? device.readExactly(40, at: 0),
            Array(bytes.prefix(16)) == VaultFormat.magic
        else { return nil }
        return Array(bytes[24..<40])
    }

    var vaultID: [UInt8]
    var sequence: UInt64
    /// Exactly ``VaultFormat/keyslotCount`` entries; nil for an empty slot.
    var keyslots: [Keyslot?]

    private static let authenticatedLength = 4068

    /// Checks the parts of a header page that need no key: magic, version, page size.
    static func checkIdentity(_ page: [UInt8], path: String) throws {
        guard page.count >= 24, Array(page[0..<16]) == VaultFormat.magic else {
            throw VaultError.notAVault(path: path)
        }
        var reader = ByteReader(page, from: 16)
        let version = try reader.u32()
        guard version == VaultFormat.version else {
            throw VaultError.unsupportedVersion(found: version, supported: VaultFormat.version)
        }
        let pageSize = try reader.u32()
        guard pageSize == UInt32(VaultFormat.pageSize) else {
            throw VaultError.unsupportedPageSize(pageSize)
        }
    }

    /// Parses a header page without authenticating it; only keyslot unwrapping, then
    /// ``isAuthentic(_:key:)``, make its contents trustworthy.
    static func decodeUnauthenticated(_ page: [UInt8], path: String) throws -> VaultHeader {
        try checkIdentity(page, path: path)
        guard page.count == VaultFormat.pageSize else {
            throw VaultError.truncated(path: path, size: UInt64(page.count))
        }
        var reader = ByteReader(page, from: 24)
        let vaultID = try reader.raw(16)
        let sequence = try reader.u64()
        let count = try reader.u16()
        let size = try reader.u16()
        guard Int(count) == VaultFormat.keyslotCount, Int(size) == VaultFormat.keyslotSize else {
            throw VaultError.malformed("keyslot table of \(count) × \(size) bytes")
        }
        try reader.skip(12)
        var slots: [Keyslot?] = []
        for _ in 0..<VaultFormat.keyslotCount {
            slots.append(try Keyslot.decode(from: &reader))
        }
        return VaultHeader(vaultID: vaultID, sequence: sequence, keyslots: slots)
    }

    /// Whether the page's tag verifies under the header key.
    static func isAuthentic(_ page: [UInt8], key: AES256GCM.Key) -> Bool {
        guard page.count == VaultFormat.pageSize,
            let nonce = try? AES256GCM.Nonce(bytes: page[4068..<4080]),
            let tag = try? AES256GCM.Tag(bytes: page[4080..<4096])
        else { return false }
        return
            (try? key.open(
                [], tag: tag, authenticating: Array(page[0..<authenticatedLength]), nonce: nonce))
            != nil
    }

    /// The full page, with a fresh nonce and its tag.
    func encode(key: AES256GCM.Key) throws -> [UInt8] {
        var writer = ByteWriter(capacity: VaultFormat.pageSize)
        writer.raw(VaultFormat.magic)
        writer.u32(VaultFormat.version)
        writer.u32(UInt32(VaultFormat.pageSize))
        writer.raw(vaultID)
        writer.u64(sequence)
        writer.u16(UInt16(VaultFormat.keyslotCount))
        writer.u16(UInt16(VaultFormat.keyslotSize))
        writer.zeros(12)
        for slot in keyslots {
            if let slot {
                slot.encode(into: &writer)
            } else {
                writer.zeros(VaultFormat.keyslotSize)
            }
        }
        writer.pad(to: Self.authenticatedLength)
        let nonce = try AES256GCM.Nonce.random()
        let sealed = try key.seal([], authenticating: writer.bytes, nonce: nonce)
        writer.raw(nonce.bytes)
        writer.raw(sealed.tag.bytes)
        return writer.bytes
    }
}
