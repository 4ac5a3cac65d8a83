import Crypto
import Testing

/// A known-answer case: key, nonce, plaintext, additional data, ciphertext and tag in hex.
struct GCMVector: Sendable, CustomTestStringConvertible {
    let name: String
    let key: String
    let nonce: String
    let plaintext: String
    let aad: String
    let ciphertext: String
    let tag: String

    var testDescription: String { name }
}

/// The 256-bit cases with 96-bit IVs from McGrew and Viega, "The Galois/Counter Mode of
/// Operation (GCM)", revised 2005, Appendix B, test cases 13 to 16. (Cases 17 and 18 use
/// 64-bit and 480-bit IVs, which this API does not accept.)
let gcmSpecificationVectors: [GCMVector] = [
    GCMVector(
        name: "test case 13",
        key: "0000000000000000000000000000000000000000000000000000000000000000",
        nonce: "000000000000000000000000", plaintext: "", aad: "", ciphertext: "",
        tag: "530f8afbc74536b9a963b4f1c4cb738b"),
    GCMVector(
        name: "test case 14",
        key: "0000000000000000000000000000000000000000000000000000000000000000",
        nonce: "000000000000000000000000", plaintext: "00000000000000000000000000000000",
        aad: "", ciphertext: "cea7403d4d606b6e074ec5d3baf39d18",
        tag: "d0d1c8a799996bf0265b98b5d48ab919"),
    GCMVector(
        name: "test case 15",
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        nonce: "cafebabefacedbaddecaf888",
        plaintext: """
            d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
            1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255
            """,
        aad: "",
        ciphertext: """
            522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
            8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad
            """,
        tag: "b094dac5d93471bdec1a502270e3cc6c"),
    GCMVector(
        name: "test case 16",
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        nonce: "cafebabefacedbaddecaf888",
        plaintext: """
            d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
            1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39
            """,
        aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        ciphertext: """
            522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
            8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
            """,
        tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
]

@Suite("AES-256-GCM")
struct AES256GCMTests {
    @Test("seals to the published ciphertext and tag", arguments: gcmSpecificationVectors)
    func sealMatchesVector(_ vector: GCMVector) throws {
        let key = try AES256GCM.Key(SecretBytes(copying: [UInt8](hex: vector.key)))
        let nonce = try AES256GCM.Nonce(bytes: [UInt8](hex: vector.nonce))
        let sealed = try key.seal(
            [UInt8](hex: vector.plaintext), authenticating: [UInt8](hex: vector.aad), nonce: nonce)
        #expect(sealed.ciphertext.hex == [UInt8](hex: vector.ciphertext).hex)
        #expect(sealed.tag.bytes.hex == vector.tag)
    }

    @Test("opens the published ciphertext", arguments: gcmSpecificationVectors)
    func openMatchesVector(_ vector: GCMVector) throws {
        let key = try AES256GCM.Key(SecretBytes(copying: [UInt8](hex: vector.key)))
        let plaintext = try key.open(
            [UInt8](hex: vector.ciphertext), tag: AES256GCM.Tag(bytes: [UInt8](hex: vector.tag)),
            authenticating: [UInt8](hex: vector.aad),
            nonce: AES256GCM.Nonce(bytes: [UInt8](hex: vector.nonce)))
        #expect(plaintext.hex == [UInt8](hex: vector.plaintext).hex)
    }

    /// Every single-bit change to ciphertext, tag, nonce or additional data must be refused.
    @Test("refuses every single-bit flip", arguments: gcmSpecificationVectors.suffix(2))
    func everyBitFlipFails(_ vector: GCMVector) throws {
        let key = try AES256GCM.Key(SecretBytes(copying: [UInt8](hex: vector.key)))
        let ciphertext = [UInt8](hex: vector.ciphertext)
        let tag = [UInt8](hex: vector.tag)
        let nonce = [UInt8](hex: vector.nonce)
        let aad = [UInt8](hex: vector.aad)

        func opens(_ c: [UInt8], _ t: [UInt8], _ n: [UInt8], _ a: [UInt8]) throws -> Bool {
            do {
                _ = try key.open(
                    c, tag: AES256GCM.Tag(bytes: t), authenticating: a,
                    nonce: AES256GCM.Nonce(bytes: n))
                return true
            } catch CryptoError.authenticationFailure {
                return false
            }
        }

        #expect(try opens(ciphertext, tag, nonce, aad))
        var refused = 0
        for field in 0..<4 {
            let original = [ciphertext, tag, nonce, aad][field]
            for bit in 0..<(original.count * 8) {
                var flipped = original
                flipped[bit / 8] ^= 1 << UInt8(bit % 8)
                let fields = (0..<4).map {
                    $0 == field ? flipped : [ciphertext, tag, nonce, aad][$0]
                }
                #expect(try !opens(fields[0], fields[1], fields[2], fields[3]))
                refused += 1
            }
        }
        #expect(refused == (ciphertext.count + tag.count + nonce.count + aad.count) * 8)
    }

    @Test("nonces and tags loaded from raw bytes equal those made from the same bytes")
    func loadingFromRawBytes() throws {
        let bytes = try SystemRandom.bytes(count: 40)
        let nonce = try AES256GCM.Nonce(bytes: bytes[3..<15])
        let tag = try AES256GCM.Tag(bytes: bytes[5..<21])
        bytes.withUnsafeBytes { raw in
            #expect(
                AES256GCM.Nonce(loadingFrom: UnsafeRawBufferPointer(rebasing: raw[3..<15])) == nonce
            )
            #expect(
                AES256GCM.Tag(loadingFrom: UnsafeRawBufferPointer(rebasing: raw[5..<21])) == tag)
        }
        #expect(try AES256GCM.Tag(bytes: bytes[5..<21]).bytes == Array(bytes[5..<21]))
    }

    @Test("a batch of seals and opens in one session matches single calls")
    func session() throws {
        let key = try AES256GCM.Key.random()
        let nonces = try (0..<4).map { _ in try AES256GCM.Nonce.random() }
        let messages = (0..<4).map { [UInt8](repeating: UInt8($0), count: 100 + $0) }
        let sealed = try key.withSession { session in
            try zip(messages, nonces).map { message, nonce in
                var ciphertext = [UInt8](repeating: 0, count: message.count)
                let tag = try message.withUnsafeBytes { input in
                    try ciphertext.withUnsafeMutableBytes { output in
                        try session.seal(
                            input, authenticating: UnsafeRawBufferPointer(start: nil, count: 0),
                            nonce: nonce, into: output)
                    }
                }
                return (ciphertext, tag)
            }
        }
        for (index, (ciphertext, tag)) in sealed.enumerated() {
            #expect(try key.open(ciphertext, tag: tag, nonce: nonces[index]) == messages[index])
            #expect(try key.seal(messages[index], nonce: nonces[index]).ciphertext == ciphertext)
        }
    }

    @Test("a wrong key fails to open")
    func wrongKeyFails() throws {
        let key = try AES256GCM.Key.random()
        let other = try AES256GCM.Key.random()
        let nonce = try AES256GCM.Nonce.random()
        let sealed = try key.seal(Array("api key".utf8), authenticating: [1, 2, 3], nonce: nonce)
        #expect(throws: CryptoError.authenticationFailure) {
            try other.open(
                sealed.ciphertext, tag: sealed.tag, authenticating: [1, 2, 3], nonce: nonce)
        }
    }

    @Test("a failed open leaves no plaintext in the output buffer")
    func failedOpenWipesOutput() throws {
        let key = try AES256GCM.Key.random()
        let nonce = try AES256GCM.Nonce.random()
        let secret = [UInt8](repeating: 0x41, count: 4096)
        let sealed = try key.seal(secret, nonce: nonce)
        var badTag = sealed.tag.bytes
        badTag[0] ^= 0x80
        var output = [UInt8](repeating: 0xEE, count: secret.count)
        #expect(throws: CryptoError.authenticationFailure) {
            try sealed.ciphertext.withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { out in
                    try key.open(
                        input, tag: AES256GCM.Tag(bytes: badTag),
                        authenticating: UnsafeRawBufferPointer(start: nil, count: 0),
                        nonce: nonce, into: out)
                }
            }
        }
        #expect(output.allSatisfy { $0 == 0 })
    }

    @Test("seals in place, and round-trips every size from 0 to 1 KiB and 64 KiB")
    func roundTripsInPlace() throws {
        let key = try AES256GCM.Key.random()
        for size in Array(0...1024) + [4096, 65536] {
            let original = try SystemRandom.bytes(count: size)
            let nonce = try AES256GCM.Nonce.random()
            var buffer = original
            let tag = try buffer.withUnsafeMutableBytes { bytes in
                try key.seal(
                    UnsafeRawBufferPointer(bytes), authenticating: .init(start: nil, count: 0),
                    nonce: nonce, into: bytes)
            }
            if size >= 16 { #expect(buffer != original) }
            try buffer.withUnsafeMutableBytes { bytes in
                try key.open(
                    UnsafeRawBufferPointer(bytes), tag: tag,
                    authenticating: .init(start: nil, count: 0), nonce: nonce,
                    into: bytes)
            }
            #expect(buffer == original)
        }
    }

    @Test("is safe to use from many threads at once")
    func concurrentUse() async throws {
        let key = try AES256GCM.Key.random()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for round in 0..<200 {
                        let message = [UInt8](
                            repeating: UInt8(truncatingIfNeeded: task &+ round), count: 4096)
                        let nonce = try AES256GCM.Nonce.random()
                        let sealed = try key.seal(
                            message, authenticating: [UInt8(task)], nonce: nonce)
                        let opened = try key.open(
                            sealed.ciphertext, tag: sealed.tag, authenticating: [UInt8(task)],
                            nonce: nonce)
                        #expect(opened == message)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("rejects keys, nonces and tags of the wrong size, and short output buffers")
    func rejectsWrongSizes() throws {
        #expect(throws: CryptoError.invalidKeySize(expected: 32, actual: 16)) {
            try AES256GCM.Key(SecretBytes(copying: [UInt8](repeating: 0, count: 16)))
        }
        #expect(throws: CryptoError.self) {
            try AES256GCM.Nonce(bytes: [UInt8](repeating: 0, count: 8))
        }
        #expect(throws: CryptoError.self) {
            try AES256GCM.Tag(bytes: [UInt8](repeating: 0, count: 12))
        }
        let key = try AES256GCM.Key.random()
        let input = [UInt8](repeating: 1, count: 32)
        var output = [UInt8](repeating: 0, count: 16)
        #expect(throws: CryptoError.bufferTooSmall(needed: 32, available: 16)) {
            try input.withUnsafeBytes { i in
                try output.withUnsafeMutableBytes { o in
                    try key.seal(
                        i, authenticating: .init(start: nil, count: 0), nonce: .random(), into: o)
                }
            }
        }
    }

    @Test("random nonces do not repeat")
    func randomNoncesDiffer() throws {
        var seen = Set<AES256GCM.Nonce>()
        for _ in 0..<10_000 { seen.insert(try .random()) }
        #expect(seen.count == 10_000)
    }
}
