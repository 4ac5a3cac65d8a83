import Crypto
import Glibc
import Testing
import VaultFS
import VaultStore

func makeFilesystem(limits: VaultFilesystem.CacheLimits = .init()) throws -> (
    VaultFilesystem, MemoryBlockDevice
) {
    let device = MemoryBlockDevice()
    let (store, _) = try PageStore.create(
        device: device, password: SecretBytes(copying: "pw".utf8),
        derivation: .scrypt(Scrypt.Parameters(logN: 15, r: 8, p: 1)))
    return (try VaultFilesystem.format(store, uid: 1000, gid: 1000, limits: limits), device)
}

func reopen(_ filesystem: VaultFilesystem, _ device: MemoryBlockDevice) throws -> VaultFilesystem {
    let store = try PageStore.open(
        device: device, credential: .masterKey(filesystem.store.masterKey), readOnly: false)
    return try VaultFilesystem.open(store)
}

func name(_ text: String) -> [UInt8] { Array(text.utf8) }

let root = VaultFilesystem.rootInode

extension VaultFilesystem {
    func file(_ parent: UInt64, _ text: String, contents: [UInt8] = []) throws -> InodeAttributes {
        let attributes = try makeNode(parent, name(text), mode: 0o644, uid: 1000, gid: 1000)
        if !contents.isEmpty { try write(attributes.inode, at: 0, contents) }
        return try self.attributes(attributes.inode)
    }

    func directory(_ parent: UInt64, _ text: String) throws -> InodeAttributes {
        try makeDirectory(parent, name(text), mode: 0o755, uid: 1000, gid: 1000)
    }

    func names(_ inode: UInt64) throws -> [String] {
        try readDirectory(inode, after: 0).map { String(decoding: $0.name, as: UTF8.self) }
    }

    func contents(_ inode: UInt64) throws -> [UInt8] {
        try read(inode, at: 0, count: Int(attributes(inode).size) + 10)
    }
}

func expectErrno(
    _ number: Int32, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        try body()
        Issue.record("expected errno \(number), got success", sourceLocation: sourceLocation)
    } catch let error as FilesystemError {
        #expect(error.errno == number, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}
