import Crypto

/// Who wrote a committed state (§10 of the spec).
public struct WriterRecord: Sendable, Equatable {
    /// The first 16 bytes of SHA-256 of `/etc/machine-id`.
    public var machineID: [UInt8]
    public var pid: UInt32
    /// Seconds since 1970.
    public var openedAt: Int64
    /// At most 32 bytes.
    public var hostName: String

    static let empty = WriterRecord(
        machineID: [UInt8](repeating: 0, count: 16), pid: 0, openedAt: 0, hostName: "")

    func encode(into writer: inout ByteWriter) {
        writer.raw(machineID)
        writer.u32(pid)
        writer.u32(0)
        writer.i64(openedAt)
        let name = Array(hostName.utf8.prefix(32))
        writer.raw(name)
        writer.zeros(32 - name.count)
    }

    static func decode(from reader: inout ByteReader) throws -> WriterRecord {
        let machine = try reader.raw(16)
        let pid = try reader.u32()
        try reader.skip(4)
        let openedAt = try reader.i64()
        let name = try reader.raw(32)
        let hostName = String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
        return WriterRecord(machineID: machine, pid: pid, openedAt: openedAt, hostName: hostName)
    }
}

/// The last commit one machine made, as remembered in the superblock.
public struct LineageEntry: Sendable, Equatable {
    public var machineID: [UInt8]
    public var sequence: UInt64
    public var commitID: [UInt8]

    static let maximumCount = 8
}

/// One committed state of the vault (§7 of the spec).
struct Superblock: Sendable, Equatable {
    var sequence: UInt64
    var commitID: [UInt8]
    var committedAt: Int64
    var pageCount: UInt64
    var quotaPages: UInt64
    var epoch: UInt32
    var sealedInEpoch: UInt64
    var root: PagePointer
    var freeList: PagePointer
    var nextInode: UInt64
    var pagesInUse: UInt64
    var writer: WriterRecord
    var lineage: [LineageEntry]

    static func slot(for sequence: UInt64) -> Int { Int(sequence % 2) }

    private static func aad(vaultID: [UInt8], slot: Int, length: Int) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Array("claude-env superblock".utf8))
        writer.raw(vaultID)
        writer.u8(UInt8(slot))
        writer.u32(UInt32(length))
        return writer.bytes
    }

    func encode(key: AES256GCM.Key, vaultID: [UInt8]) throws -> [UInt8] {
        var body = ByteWriter(capacity: 600)
        body.u64(sequence)
        body.raw(commitID)
        body.i64(committedAt)
        body.u64(pageCount)
        body.u64(quotaPages)
        body.u32(epoch)
        body.u32(0)
        body.u64(sealedInEpoch)
        root.encode(into: &body)
        freeList.encode(into: &body)
        body.u64(nextInode)
        body.u64(pagesInUse)
        writer.encode(into: &body)
        body.u32(UInt32(lineage.count))
        body.u32(0)
        for entry in lineage.prefix(LineageEntry.maximumCount) {
            body.raw(entry.machineID)
            body.u64(entry.sequence)
            body.raw(entry.commitID)
        }
        // Padded to fill the page, so that no byte of the slot escapes authentication.
        body.pad(to: VaultFormat.pageSize - 32)
        let nonce = try AES256GCM.Nonce.random()
        let slot = Self.slot(for: sequence)
        let sealed = try key.seal(
            body.bytes,
            authenticating: Self.aad(vaultID: vaultID, slot: slot, length: body.bytes.count),
            nonce: nonce)
        var page = ByteWriter(capacity: VaultFormat.pageSize)
        page.raw(nonce.bytes)
        page.raw(sealed.tag.bytes)
        page.u32(UInt32(sealed.ciphertext.count))
        page.raw(sealed.ciphertext)
        page.pad(to: VaultFormat.pageSize)
        return page.bytes
    }

    /// Decrypts slot `slot`; nil if it does not authenticate (torn, damaged, or never written).
    static func decode(_ page: [UInt8], slot: Int, key: AES256GCM.Key, vaultID: [UInt8])
        -> Superblock?
    {
        do {
            var reader = ByteReader(page)
            let nonce = try AES256GCM.Nonce(bytes: try reader.raw(12))
            let tag = try AES256GCM.Tag(bytes: try reader.raw(16))
            let length = Int(try reader.u32())
            guard length == VaultFormat.pageSize - 32 else { return nil }
            let ciphertext = try reader.raw(length)
            let body = try key.open(
                ciphertext, tag: tag,
                authenticating: aad(vaultID: vaultID, slot: slot, length: length), nonce: nonce)
            var fields = ByteReader(body)
            var superblock = Superblock(
                sequence: try fields.u64(), commitID: try fields.raw(16),
                committedAt: try fields.i64(),
                pageCount: try fields.u64(), quotaPages: try fields.u64(), epoch: try fields.u32(),
                sealedInEpoch: 0, root: .null, freeList: .null, nextInode: 0, pagesInUse: 0,
                writer: .empty,
                lineage: [])
            try fields.skip(4)
            superblock.sealedInEpoch = try fields.u64()
            superblock.root = try PagePointer.decode(from: &fields)
            superblock.freeList = try PagePointer.decode(from: &fields)
            superblock.nextInode = try fields.u64()
            superblock.pagesInUse = try fields.u64()
            superblock.writer = try WriterRecord.decode(from: &fields)
            let count = try fields.u32()
            try fields.skip(4)
            guard count <= UInt32(LineageEntry.maximumCount) else { return nil }
            for _ in 0..<count {
                superblock.lineage.append(
                    LineageEntry(
                        machineID: try fields.raw(16), sequence: try fields.u64(),
                        commitID: try fields.raw(16)))
            }
            guard slot == Self.slot(for: superblock.sequence) else { return nil }
            return superblock
        } catch {
            return nil
        }
    }
}
