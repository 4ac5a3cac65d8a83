// Feeds arbitrary bytes to every parser of bytes read from a vault file. Built two ways:
// normally, as a program that replays inputs named on its command line (so CI keeps it
// compiling and the found inputs stay fixed); and with `Fuzz/run.sh`, under libFuzzer.
import Crypto
import Foundation

@testable import VaultFS
@testable import VaultStore
@testable import VaultTree

/// A fixed key, so that inputs can also reach the parsers that run after decryption.
let fuzzKey = try! AES256GCM.Key(SecretBytes(copying: [UInt8](repeating: 0x42, count: 32)))
let fuzzVaultID = [UInt8](repeating: 7, count: 16)

/// Runs every parser on `bytes`. Any input may be rejected; none may crash or hang.
func exerciseParsers(_ bytes: [UInt8]) {
    // The header is read before any key is known: the first line of defence.
    _ = try? VaultHeader.checkIdentity(bytes, path: "fuzz")
    _ = try? VaultHeader.decodeUnauthenticated(page(bytes), path: "fuzz")
    _ = VaultHeader.isAuthentic(page(bytes), key: fuzzKey)
    var reader = ByteReader(bytes)
    _ = try? Keyslot.decode(from: &reader)

    // A superblock as found on disk, and one whose body authenticates.
    _ = Superblock.decode(page(bytes), slot: 0, key: fuzzKey, vaultID: fuzzVaultID)
    _ = Superblock.decode(
        sealedSuperblock(bytes), slot: Int(bytes.first ?? 0) % 2, key: fuzzKey, vaultID: fuzzVaultID
    )

    // Page contents after decryption.
    _ = try? Node.decode(page(bytes), pointer: .null)
    _ = try? FreeListPage.decode(page(bytes))
    _ = try? PagePointer(encoded: Array(bytes.prefix(PagePointer.encodedSize)))

    // Records of the tree.
    _ = try? InodeAttributes.decode(Array(bytes.prefix(InodeAttributes.encodedSize)), inode: 2)
    _ = try? DirectoryEntryValue.decode(Array(bytes.prefix(17)))

    // Text read from the user or from this machine's state.
    let text = String(decoding: bytes, as: UTF8.self)
    _ = RecoveryKey(parsing: text)
    _ = FreshnessRecord(encoded: text)
}

/// `bytes` cut or padded to one page.
func page(_ bytes: [UInt8]) -> [UInt8] {
    var page = Array(bytes.prefix(VaultFormat.pageSize))
    page += [UInt8](repeating: 0, count: VaultFormat.pageSize - page.count)
    return page
}

/// `bytes` as the body of a superblock page sealed with the fuzz key.
func sealedSuperblock(_ bytes: [UInt8]) -> [UInt8] {
    var body = Array(bytes.prefix(VaultFormat.pageSize - 32))
    body += [UInt8](repeating: 0, count: VaultFormat.pageSize - 32 - body.count)
    let slot = Int(bytes.first ?? 0) % 2
    var aad = ByteWriter()
    aad.raw(Array("claude-env superblock".utf8))
    aad.raw(fuzzVaultID)
    aad.u8(UInt8(slot))
    aad.u32(UInt32(body.count))
    let nonce = try! AES256GCM.Nonce(bytes: [UInt8](repeating: 1, count: 12))
    let sealed = try! fuzzKey.seal(body, authenticating: aad.bytes, nonce: nonce)
    var page = ByteWriter()
    page.raw(nonce.bytes)
    page.raw(sealed.tag.bytes)
    page.u32(UInt32(body.count))
    page.raw(sealed.ciphertext)
    return page.bytes
}

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        exerciseParsers(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    // SwiftPM enters an executable through `<module>_main`; here it hands over to libFuzzer.
    @_cdecl("vault_format_fuzz_main")
    func fuzzMain(
        _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
    }
#else
    @main
    enum ReplayInputs {
        static func main() {
            let paths = CommandLine.arguments.dropFirst()
            var count = 0
            for path in paths {
                let files =
                    (try? FileManager.default.contentsOfDirectory(atPath: path)).map {
                        $0.map { path + "/" + $0 }
                    } ?? [path]
                for file in files {
                    guard let data = FileManager.default.contents(atPath: file) else { continue }
                    exerciseParsers(Array(data))
                    count += 1
                }
            }
            print("replayed \(count) inputs through every vault parser")
        }
    }
#endif
