import Crypto
import Foundation
import Glibc
import Testing
import VaultFS
import VaultStore

/// Vaults made by earlier builds, committed, and opened by every later one: the format must
/// never change by accident. Each golden vault has a `.contents` manifest listing what it holds.
///
/// To add one for a new format version, run with `MAKE_GOLDEN_VAULT=1`; never regenerate an
/// existing one.
@Suite("golden vault files")
struct GoldenVaultTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden")
    static let password = "golden vault password"

    /// Every kind of thing the format stores, with contents derived from their names.
    static func populate(_ fs: VaultFilesystem) throws {
        let home = try fs.directory(root, "home")
        _ = try fs.file(home.inode, ".bashrc", contents: name("export EDITOR=vi\n"))
        _ = try fs.file(home.inode, "inline-1000", contents: pattern(1000, seed: 1))
        _ = try fs.file(home.inode, "blocks-20000", contents: pattern(20_000, seed: 2))
        let sparse = try fs.file(home.inode, "sparse")
        try fs.write(sparse.inode, at: 10 << 20, name("tail"))
        let claude = try fs.directory(home.inode, ".claude")
        let credentials = try fs.makeNode(
            claude.inode, name(".credentials.json"), mode: 0o600, uid: 1000, gid: 1000)
        try fs.write(credentials.inode, at: 0, name("{\"token\":\"golden\"}"))
        _ = try fs.makeSymbolicLink(
            home.inode, name("link"), target: name(".claude/.credentials.json"), uid: 1000,
            gid: 1000)
        _ = try fs.link(
            try fs.lookup(home.inode, name(".bashrc")).inode, into: home.inode,
            as: name("bashrc-hardlink"))
        try fs.setExtendedAttribute(credentials.inode, name("user.origin"), name("golden"))
        let many = try fs.directory(root, "many")
        for index in 0..<300 {
            _ = try fs.file(many.inode, "entry-\(index)", contents: name("\(index)"))
        }
        _ = try fs.setAttributes(many.inode, .init(mode: 0o750))
    }

    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed)) }
    }

    /// A line per path: type, mode, size, SHA-256 of the contents (or the link target), xattrs.
    static func manifest(_ fs: VaultFilesystem) throws -> String {
        var lines: [String] = []
        func walk(_ inode: UInt64, _ path: String) throws {
            for entry in try fs.readDirectory(inode, after: 0, limit: .max) {
                let child = path + "/" + String(decoding: entry.name, as: UTF8.self)
                let attributes = try fs.attributes(entry.inode)
                var line =
                    "\(child) type=\(entry.type.rawValue) mode=\(String(attributes.mode, radix: 8)) "
                line += "size=\(attributes.size) links=\(attributes.linkCount)"
                switch entry.type {
                case .regular: line += " sha256=\(hex(SHA256.hash(try fs.contents(entry.inode))))"
                case .symbolicLink:
                    line +=
                        " target=\(String(decoding: try fs.readSymbolicLink(entry.inode), as: UTF8.self))"
                default: break
                }
                for xattr in try fs.extendedAttributeNames(entry.inode) {
                    let value = try fs.extendedAttribute(entry.inode, xattr)
                    line +=
                        " \(String(decoding: xattr, as: UTF8.self))=\(String(decoding: value, as: UTF8.self))"
                }
                lines.append(line)
                if entry.type == .directory { try walk(entry.inode, child) }
            }
        }
        try walk(root, "")
        return lines.joined(separator: "\n") + "\n"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    @Test(
        "format version 1 opens with its password and its recovery key, checks clean, and holds what it held"
    )
    func formatVersion1() throws {
        let vault = Self.directory.appendingPathComponent("format-1.vault")
        let manifestFile = Self.directory.appendingPathComponent("format-1.contents")
        let recoveryFile = Self.directory.appendingPathComponent("format-1.recovery-key")
        if ProcessInfo.processInfo.environment["MAKE_GOLDEN_VAULT"] == "1"
            && !FileManager.default.fileExists(atPath: vault.path)
        {
            let device = try FileBlockDevice(creating: vault.path)
            let (store, key) = try PageStore.create(
                device: device, password: SecretBytes(copying: Self.password.utf8),
                derivation: .scrypt(.init(logN: 15, r: 8, p: 1)), withRecoveryKey: true)
            let fs = try VaultFilesystem.format(store, rootMode: 0o755, uid: 1000, gid: 1000)
            try Self.populate(fs)
            try fs.commit()
            try Self.manifest(fs).write(to: manifestFile, atomically: true, encoding: .utf8)
            try (key!.formatted + "\n").write(to: recoveryFile, atomically: true, encoding: .utf8)
        }
        let original = try Data(contentsOf: vault)
        // A copy, so that the committed file is never opened for writing.
        let copy = temporaryCopy(original)
        defer { unlink(copy) }

        let device = try FileBlockDevice(openingExisting: copy, access: .readOnly)
        let store = try PageStore.open(
            device: device, credential: .password(SecretBytes(copying: Self.password.utf8)),
            readOnly: true)
        let fs = try VaultFilesystem.open(store)
        #expect(try Self.manifest(fs) == String(contentsOf: manifestFile, encoding: .utf8))
        let report = fs.check()
        #expect(report.isClean, "\(report.problems)")

        let recovery = try #require(
            RecoveryKey(parsing: try String(contentsOf: recoveryFile, encoding: .utf8)))
        _ = try PageStore.open(
            device: try FileBlockDevice(openingExisting: copy, access: .readOnly),
            credential: .recoveryKey(recovery.secret),
            readOnly: true)

        // Written by this build too: the golden vault takes new commits and still checks clean.
        let writable = try VaultFilesystem.open(
            PageStore.open(
                device: try FileBlockDevice(openingExisting: copy, access: .readWrite),
                credential: .password(SecretBytes(copying: Self.password.utf8)), readOnly: false))
        _ = try writable.file(root, "added-later", contents: name("new"))
        try writable.commit()
        #expect(writable.check().isClean)
        #expect(try Data(contentsOf: vault) == original)
    }

    func temporaryCopy(_ bytes: Data) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "golden-\(UUID().uuidString)"
        ).path
        FileManager.default.createFile(atPath: path, contents: bytes)
        return path
    }
}
