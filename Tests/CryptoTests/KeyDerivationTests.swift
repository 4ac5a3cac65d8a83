import Crypto
import Testing

@Suite("HKDF-SHA256")
struct HKDFTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let ikm: [UInt8]
        let salt: [UInt8]
        let info: [UInt8]
        let okm: String
        var testDescription: String { name }
    }

    /// RFC 5869, Appendix A, test cases 1 to 3 (the SHA-256 ones).
    static let vectors = [
        Vector(
            name: "RFC 5869 A.1", ikm: [UInt8](repeating: 0x0b, count: 22),
            salt: [UInt8](hex: "000102030405060708090a0b0c"),
            info: [UInt8](hex: "f0f1f2f3f4f5f6f7f8f9"),
            okm:
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        ),
        Vector(
            name: "RFC 5869 A.2", ikm: Array(0x00...0x4f), salt: Array(0x60...0xaf),
            info: Array(0xb0...0xff),
            okm: """
                b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                cc30c58179ec3e87c14c01d5c1f3434f1d87
                """),
        Vector(
            name: "RFC 5869 A.3 (no salt, no info)", ikm: [UInt8](repeating: 0x0b, count: 22),
            salt: [], info: [],
            okm:
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        ),
    ]

    @Test("derives the published output", arguments: vectors)
    func matchesVector(_ vector: Vector) throws {
        let okm = try HKDF.deriveKey(
            from: SecretBytes(copying: vector.ikm), salt: vector.salt, info: vector.info,
            outputCount: vector.okm.count / 2)
        #expect(okm.bytes.hex == vector.okm)
    }

    @Test("different info gives independent keys")
    func infoSeparatesKeys() throws {
        let master = try SecretBytes.random(count: 32)
        let a = try HKDF.deriveKey(from: master, info: Array("pages".utf8), outputCount: 32)
        let b = try HKDF.deriveKey(from: master, info: Array("keyslots".utf8), outputCount: 32)
        #expect(a != b)
    }
}

@Suite("scrypt")
struct ScryptTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let password: String
        let salt: String
        let parameters: Scrypt.Parameters
        let output: String
        var testDescription: String { "\(parameters)" }
    }

    /// RFC 7914, section 12. The last one needs 1 GiB, far above OpenSSL's default limit of
    /// 32 MB, and so proves that the memory limit reaches OpenSSL.
    static let vectors = [
        Vector(
            password: "", salt: "", parameters: .init(logN: 4, r: 1, p: 1),
            output: """
                77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
                fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906
                """),
        Vector(
            password: "password", salt: "NaCl", parameters: .init(logN: 10, r: 8, p: 16),
            output: """
                fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
                2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640
                """),
        Vector(
            password: "pleaseletmein", salt: "SodiumChloride",
            parameters: .init(logN: 14, r: 8, p: 1),
            output: """
                7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2\
                d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887
                """),
        Vector(
            password: "pleaseletmein", salt: "SodiumChloride",
            parameters: .init(logN: 20, r: 8, p: 1),
            output: """
                2101cb9b6a511aaeaddbbe09cf70f881ec568d574a2ffd4dabe5ee9820adaa47\
                8e56fd8f4ba5d09ffa1c6d927c40f4c337304049e8a952fbcbf45c6fa77a41a4
                """),
    ]

    @Test("derives the published output", arguments: vectors)
    func matchesVector(_ vector: Vector) throws {
        let key = try Scrypt.deriveKey(
            password: SecretBytes(copying: vector.password.utf8), salt: Array(vector.salt.utf8),
            parameters: vector.parameters, outputCount: 64)
        #expect(key.bytes.hex == vector.output)
    }

    @Test("the default parameters fit the default memory limit and exceed OpenSSL's own")
    func defaultsNeedExplicitLimit() {
        #expect(Scrypt.Parameters.default.memoryNeeded > 32 * 1024 * 1024)
        #expect(Scrypt.Parameters.default.memoryNeeded <= Scrypt.defaultMemoryLimit)
        #expect(Scrypt.Parameters(logN: 20, r: 8, p: 1).memoryNeeded <= Scrypt.defaultMemoryLimit)
    }

    @Test("refuses to allocate beyond the caller's memory limit")
    func enforcesMemoryLimit() {
        let parameters = Scrypt.Parameters(logN: 15, r: 8, p: 1)
        #expect(
            throws: CryptoError.memoryLimitExceeded(needed: parameters.memoryNeeded, limit: 1 << 20)
        ) {
            try Scrypt.deriveKey(
                password: SecretBytes(copying: "pw".utf8), salt: [1], parameters: parameters,
                outputCount: 32,
                memoryLimit: 1 << 20)
        }
        #expect(throws: CryptoError.self) {
            try Scrypt.deriveKey(
                password: SecretBytes(copying: "pw".utf8), salt: [1],
                parameters: .init(logN: 60, r: 8, p: 1),
                outputCount: 32)
        }
    }

    @Test("rejects parameters outside the algorithm's domain")
    func rejectsInvalidParameters() {
        for parameters in [
            Scrypt.Parameters(logN: 0, r: 8, p: 1), .init(logN: 10, r: 0, p: 1),
            .init(logN: 10, r: 8, p: 0),
        ] {
            #expect(throws: CryptoError.self) {
                try Scrypt.deriveKey(
                    password: SecretBytes(copying: "pw".utf8), salt: [1], parameters: parameters,
                    outputCount: 32)
            }
        }
    }
}

@Suite("PBKDF2-HMAC-SHA256")
struct PBKDF2Tests {
    /// RFC 7914, section 11.
    @Test(
        "derives the published output",
        arguments: [
            (
                "passwd", "salt", UInt32(1),
                """
                55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783
                """
            ),
            (
                "Password", "NaCl", UInt32(80_000),
                """
                4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
                a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d
                """
            ),
        ])
    func matchesVector(password: String, salt: String, iterations: UInt32, output: String) throws {
        let key = try PBKDF2.deriveKey(
            password: SecretBytes(copying: password.utf8), salt: Array(salt.utf8),
            iterations: iterations,
            outputCount: 64)
        #expect(key.bytes.hex == output)
    }

    @Test("rejects zero iterations")
    func rejectsZeroIterations() {
        #expect(throws: CryptoError.self) {
            try PBKDF2.deriveKey(
                password: SecretBytes(copying: "pw".utf8), salt: [1], iterations: 0, outputCount: 32
            )
        }
    }
}
