import CCrypto

/// HKDF with SHA-256 (RFC 5869): expands one strong key into independent keys per purpose.
public enum HKDF {
    /// Derives `outputCount` bytes from `key`, binding them to `salt` and `info`.
    ///
    /// An empty salt means the RFC's default, a string of zero bytes the length of a hash.
    public static func deriveKey(
        from key: SecretBytes, salt: [UInt8] = [], info: [UInt8], outputCount: Int
    ) throws(CryptoError) -> SecretBytes {
        guard outputCount > 0, outputCount <= 255 * 32 else {
            throw .invalidParameter(
                "HKDF-SHA256 output must be 1 to 8160 bytes, got \(outputCount)")
        }
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else {
            throw .library(operation: "EVP_KDF_fetch(HKDF)", reason: drainOpenSSLErrors())
        }
        defer { EVP_KDF_free(kdf) }
        guard let context = EVP_KDF_CTX_new(kdf) else {
            throw .library(operation: "EVP_KDF_CTX_new", reason: drainOpenSSLErrors())
        }
        defer { EVP_KDF_CTX_free(context) }

        return try SecretBytes(count: outputCount) { (output) throws(CryptoError) in
            try rethrowingCryptoError {
                try key.withUnsafeBytes { keyBytes in
                    try salt.withUnsafeBytes { saltBytes in
                        try info.withUnsafeBytes { infoBytes in
                            var parameters = [
                                OSSL_PARAM_construct_utf8_string(
                                    cString("digest"),
                                    UnsafeMutablePointer(mutating: cString("SHA256")), 0)
                            ]
                            // An empty salt or info is left out, which OpenSSL reads as the RFC's
                            // default.
                            for (name, bytes): (StaticString, UnsafeRawBufferPointer) in [
                                ("key", keyBytes), ("salt", saltBytes), ("info", infoBytes),
                            ]
                            where bytes.count > 0 {
                                parameters.append(
                                    OSSL_PARAM_construct_octet_string(
                                        cString(name),
                                        UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                        bytes.count))
                            }
                            parameters.append(OSSL_PARAM_construct_end())
                            try check(
                                EVP_KDF_derive(
                                    context,
                                    output.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                    output.count, &parameters),
                                "EVP_KDF_derive(HKDF)")
                        }
                    }
                }
            }
        }
    }
}

/// A C string for a compile-time constant; its storage lives as long as the program.
private func cString(_ text: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// scrypt (RFC 7914), the default password KDF: memory-hard, so guessing costs memory too.
public enum Scrypt {
    /// The cost parameters of one derivation.
    public struct Parameters: Sendable, Hashable, CustomStringConvertible {
        /// log2 of N, the CPU and memory cost.
        public var logN: UInt8
        /// The block size factor.
        public var r: UInt32
        /// The parallelisation factor.
        public var p: UInt32

        public init(logN: UInt8, r: UInt32, p: UInt32) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        /// N = 2^17, r = 8, p = 1: about 128 MiB and a few hundred milliseconds.
        public static let `default` = Parameters(logN: 17, r: 8, p: 1)

        public var n: UInt64 { 1 << UInt64(logN) }

        /// The bytes OpenSSL allocates for one derivation: 128·r·(N+2) for V and
        /// 128·r·p for B.
        public var memoryNeeded: Int {
            128 * Int(r) * (Int(n) + 2) + 128 * Int(r) * Int(p)
        }

        public var description: String { "scrypt N=2^\(logN) r=\(r) p=\(p)" }
    }

    /// The most memory a derivation may use unless the caller says otherwise: enough for
    /// N = 2^20, r = 8, with room to spare; a tampered header cannot make us allocate more.
    public static let defaultMemoryLimit = 2 << 30

    /// Derives `outputCount` bytes from `password` and `salt`.
    ///
    /// - Parameter memoryLimit: the largest allocation allowed; passed to OpenSSL, whose
    ///   own default of 32 MB would reject even N = 2^15, r = 8.
    public static func deriveKey(
        password: SecretBytes, salt: [UInt8], parameters: Parameters, outputCount: Int,
        memoryLimit: Int = defaultMemoryLimit
    ) throws(CryptoError) -> SecretBytes {
        guard parameters.logN >= 1, parameters.logN < 63 else {
            throw .invalidParameter("scrypt log2(N) must be 1 to 62, got \(parameters.logN)")
        }
        guard parameters.r >= 1, parameters.p >= 1 else {
            throw .invalidParameter("scrypt r and p must be at least 1")
        }
        guard UInt64(parameters.r) * UInt64(parameters.p) < 1 << 30 else {
            throw .invalidParameter("scrypt requires r·p < 2^30")
        }
        guard parameters.logN < 40, parameters.memoryNeeded <= memoryLimit else {
            throw .memoryLimitExceeded(
                needed: parameters.logN < 40 ? parameters.memoryNeeded : Int.max, limit: memoryLimit
            )
        }
        guard outputCount > 0 else {
            throw .invalidParameter("scrypt output must be at least 1 byte")
        }
        return try SecretBytes(count: outputCount) { (output) throws(CryptoError) in
            try rethrowingCryptoError {
                try password.withUnsafeBytes { passwordBytes in
                    try salt.withUnsafeBytes { saltBytes in
                        try check(
                            EVP_PBE_scrypt(
                                passwordBytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                                    ?? cString(""),
                                passwordBytes.count,
                                saltBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                saltBytes.count,
                                parameters.n, UInt64(parameters.r), UInt64(parameters.p),
                                UInt64(parameters.memoryNeeded),
                                output.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                output.count),
                            "EVP_PBE_scrypt")
                    }
                }
            }
        }
    }
}

/// PBKDF2 with HMAC-SHA256 (RFC 8018), the alternative password KDF where scrypt's memory
/// use is unwelcome.
public enum PBKDF2 {
    /// The iteration count OWASP recommends for PBKDF2-HMAC-SHA256 (2023).
    public static let defaultIterations: UInt32 = 600_000

    /// Derives `outputCount` bytes from `password` and `salt`.
    public static func deriveKey(
        password: SecretBytes, salt: [UInt8], iterations: UInt32, outputCount: Int
    ) throws(CryptoError) -> SecretBytes {
        guard iterations >= 1, iterations <= UInt32(Int32.max) else {
            throw .invalidParameter("PBKDF2 iterations must be 1 to 2^31-1, got \(iterations)")
        }
        guard outputCount > 0, outputCount <= Int(Int32.max) else {
            throw .invalidParameter("PBKDF2 output must be at least 1 byte")
        }
        return try SecretBytes(count: outputCount) { (output) throws(CryptoError) in
            try rethrowingCryptoError {
                try password.withUnsafeBytes { passwordBytes in
                    try salt.withUnsafeBytes { saltBytes in
                        try check(
                            PKCS5_PBKDF2_HMAC(
                                passwordBytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                                    ?? cString(""),
                                Int32(passwordBytes.count),
                                saltBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                Int32(saltBytes.count),
                                Int32(iterations), EVP_sha256(),
                                Int32(output.count),
                                output.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                            "PKCS5_PBKDF2_HMAC")
                    }
                }
            }
        }
    }
}

/// SHA-256, for identifiers that must not reveal their input (never for keys: use HKDF).
public enum SHA256 {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let status = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(
            status == 1 && length == 32, "EVP_Digest(SHA-256) failed: \(drainOpenSSLErrors())")
        return digest
    }
}
