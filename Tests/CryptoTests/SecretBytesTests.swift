import Crypto
import Glibc
import Testing

@Suite("SecretBytes")
struct SecretBytesTests {
    @Test("never shows its bytes in descriptions, debug output or reflection")
    func neverPrintsBytes() {
        let secret = SecretBytes(copying: Array("hunter2-hunter2".utf8))
        var dumped = ""
        dump(secret, to: &dumped)
        for text in [
            secret.description, secret.debugDescription, "\(secret)", String(reflecting: secret),
            dumped,
        ] {
            #expect(!text.contains("hunter2"))
            #expect(!text.contains("104"))  // the first byte, 'h', in decimal
        }
        #expect(secret.description.contains("15 bytes"))
    }

    @Test("compares by content")
    func comparesByContent() {
        let a = SecretBytes(copying: [1, 2, 3, 4])
        #expect(a == SecretBytes(copying: [1, 2, 3, 4]))
        #expect(a != SecretBytes(copying: [1, 2, 3, 5]))
        #expect(a != SecretBytes(copying: [1, 2, 3]))
        #expect(SecretBytes(copying: []) == SecretBytes(copying: []))
    }

    @Test("keeps exactly the bytes it was given")
    func holdsBytes() throws {
        let source = try SystemRandom.bytes(count: 5000)
        let secret = SecretBytes(copying: source)
        #expect(secret.count == 5000)
        #expect(secret.bytes == source)
    }

    @Test("is locked in memory when the limit allows it")
    func locksWhenAllowed() {
        // Root, and most desktop sessions, may lock at least a page; the flag must then be set.
        let secret = SecretBytes(copying: [1, 2, 3])
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit)
        if limit.rlim_cur >= 4096 || getuid() == 0 {
            #expect(secret.isLockedInMemory)
        }
    }

    @Test("an initializer that throws leaves nothing behind and propagates its error")
    func throwingInitializer() {
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            _ = try SecretBytes(count: 16) { (buffer) throws(Refused) in
                buffer.storeBytes(of: 7, as: UInt8.self)
                throw Refused()
            }
        }
    }

    @Test("random secrets differ")
    func randomDiffers() throws {
        #expect(try SecretBytes.random(count: 32) != SecretBytes.random(count: 32))
    }
}
