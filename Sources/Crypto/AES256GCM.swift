import CCrypto
import Synchronization

/// AES-256 in Galois/Counter Mode with 96-bit nonces and 128-bit tags (NIST SP 800-38D).
public enum AES256GCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    /// A 96-bit nonce. Never reuse one under the same key: use ``random()``.
    public struct Nonce: Sendable, Hashable {
        // Twelve bytes in memory order; the integer split is only a way to hold them.
        fileprivate var storage: (UInt64, UInt32)

        /// A fresh nonce from OpenSSL's CSPRNG.
        public static func random() throws(CryptoError) -> Nonce {
            var nonce = Nonce(storage: (0, 0))
            try withUnsafeMutableBytes(of: &nonce.storage) { (buffer) throws(CryptoError) in
                try SystemRandom.fill(buffer)
            }
            return nonce
        }

        /// A nonce with the given twelve bytes.
        public init<Bytes: Collection<UInt8>>(bytes: Bytes) throws(CryptoError) {
            guard bytes.count == AES256GCM.nonceSize else {
                throw .invalidParameter(
                    "a nonce is \(AES256GCM.nonceSize) bytes, got \(bytes.count)")
            }
            storage = (0, 0)
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: bytes) }
        }

        private init(storage: (UInt64, UInt32)) { self.storage = storage }

        /// The nonce in the first twelve bytes of `raw`, which must hold that many.
        public init(loadingFrom raw: UnsafeRawBufferPointer) {
            precondition(raw.count >= AES256GCM.nonceSize, "a nonce is 12 bytes")
            storage = (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
            )
        }

        /// The twelve bytes.
        public var bytes: [UInt8] { withUnsafeBytes(of: storage) { Array($0) } }

        public static func == (lhs: Nonce, rhs: Nonce) -> Bool {
            lhs.storage == rhs.storage
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(storage.0)
            hasher.combine(storage.1)
        }
    }

    /// A 128-bit authentication tag.
    public struct Tag: Sendable, Equatable {
        fileprivate var storage: (UInt64, UInt64)

        public init<Bytes: Collection<UInt8>>(bytes: Bytes) throws(CryptoError) {
            guard bytes.count == AES256GCM.tagSize else {
                throw .invalidParameter("a tag is \(AES256GCM.tagSize) bytes, got \(bytes.count)")
            }
            storage = (0, 0)
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: bytes) }
        }

        fileprivate init() { storage = (0, 0) }

        /// The tag in the first sixteen bytes of `raw`, which must hold that many.
        public init(loadingFrom raw: UnsafeRawBufferPointer) {
            precondition(raw.count >= AES256GCM.tagSize, "a tag is 16 bytes")
            storage = (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            )
        }

        /// The sixteen bytes.
        public var bytes: [UInt8] { withUnsafeBytes(of: storage) { Array($0) } }

        public static func == (lhs: Tag, rhs: Tag) -> Bool {
            lhs.storage == rhs.storage
        }
    }

    /// A 256-bit key, with a pool of keyed OpenSSL contexts so that sealing and opening
    /// never pay for key set-up after the first use on each thread.
    ///
    /// A key is safe to share between threads; each concurrent operation checks a context
    /// pair out of the pool and returns it afterwards.
    public final class Key: Sendable {
        private let secret: SecretBytes
        private let pool = Mutex<[GCMContextPair]>([])

        /// Enough pairs for every core to seal and open at once; more are freed after use.
        private static let pooledPairLimit = 64

        public init(_ secret: SecretBytes) throws(CryptoError) {
            guard secret.count == AES256GCM.keySize else {
                throw .invalidKeySize(expected: AES256GCM.keySize, actual: secret.count)
            }
            self.secret = secret
        }

        /// A fresh random key.
        public static func random() throws(CryptoError) -> Key {
            try Key(SecretBytes.random(count: AES256GCM.keySize))
        }

        fileprivate func withContexts<R>(
            _ body: (GCMContextPair) throws(CryptoError) -> R
        ) throws(CryptoError) -> R {
            let pair: GCMContextPair
            if let pooled = pool.withLock({ $0.popLast() }) {
                pair = pooled
            } else {
                pair = try GCMContextPair(key: secret)
            }
            defer {
                pool.withLock { pairs in
                    if pairs.count < Key.pooledPairLimit { pairs.append(pair) }
                }
            }
            return try body(pair)
        }

        /// Runs `body` with one keyed context pair for every seal and open in it, so that a
        /// batch of pages pays for the pool once rather than for each page. The session must
        /// not outlive `body` or be used by two threads at once.
        public func withSession<R>(_ body: (Session) throws -> R) throws -> R {
            try withContexts { (pair) throws(CryptoError) -> Result<R, any Error> in
                Result { try body(Session(pair: pair)) }
            }.get()
        }

        /// A key's checked-out contexts; see ``withSession(_:)``.
        public struct Session {
            fileprivate let pair: GCMContextPair

            /// As ``Key/seal(_:authenticating:nonce:into:)``.
            public func seal(
                _ plaintext: UnsafeRawBufferPointer, authenticating aad: UnsafeRawBufferPointer,
                nonce: AES256GCM.Nonce, into ciphertext: UnsafeMutableRawBufferPointer
            ) throws(CryptoError) -> AES256GCM.Tag {
                try Key.seal(
                    plaintext, authenticating: aad, nonce: nonce, into: ciphertext, with: pair)
            }

            /// As ``Key/open(_:tag:authenticating:nonce:into:)``.
            public func open(
                _ ciphertext: UnsafeRawBufferPointer, tag: AES256GCM.Tag,
                authenticating aad: UnsafeRawBufferPointer, nonce: AES256GCM.Nonce,
                into plaintext: UnsafeMutableRawBufferPointer
            ) throws(CryptoError) {
                try Key.open(
                    ciphertext, tag: tag, authenticating: aad, nonce: nonce, into: plaintext,
                    with: pair)
            }
        }
    }
}

extension AES256GCM.Key {
    /// Encrypts `plaintext` into `ciphertext` and returns the tag over the ciphertext and
    /// `aad`. Allocates nothing.
    ///
    /// - Parameters:
    ///   - plaintext: the bytes to encrypt; may be the same memory as `ciphertext`.
    ///   - aad: additional data that is authenticated but not encrypted.
    ///   - nonce: a nonce never used before with this key.
    ///   - ciphertext: receives exactly `plaintext.count` bytes.
    /// - Throws: ``CryptoError/bufferTooSmall(needed:available:)`` or a library error.
    public func seal(
        _ plaintext: UnsafeRawBufferPointer,
        authenticating aad: UnsafeRawBufferPointer,
        nonce: AES256GCM.Nonce,
        into ciphertext: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) -> AES256GCM.Tag {
        try withContexts { (pair) throws(CryptoError) in
            try Self.seal(
                plaintext, authenticating: aad, nonce: nonce, into: ciphertext, with: pair)
        }
    }

    fileprivate static func seal(
        _ plaintext: UnsafeRawBufferPointer,
        authenticating aad: UnsafeRawBufferPointer,
        nonce: AES256GCM.Nonce,
        into ciphertext: UnsafeMutableRawBufferPointer,
        with pair: GCMContextPair
    ) throws(CryptoError) -> AES256GCM.Tag {
        try validateLengths(input: plaintext.count, output: ciphertext.count, aad: aad.count)
        do {
            let context = pair.sealing
            var nonce = nonce
            try withUnsafeBytes(of: &nonce.storage) { (iv) throws(CryptoError) in
                try check(
                    EVP_EncryptInit_ex(context, nil, nil, nil, iv.bytePointer),
                    "EVP_EncryptInit_ex")
            }
            var written: Int32 = 0
            if aad.count > 0 {
                try check(
                    EVP_EncryptUpdate(context, nil, &written, aad.bytePointer, Int32(aad.count)),
                    "EVP_EncryptUpdate(aad)")
            }
            if plaintext.count > 0 {
                try check(
                    EVP_EncryptUpdate(
                        context, ciphertext.mutableBytePointer, &written,
                        plaintext.bytePointer, Int32(plaintext.count)),
                    "EVP_EncryptUpdate")
            }
            var finalBytes: Int32 = 0
            try check(
                EVP_EncryptFinal_ex(context, ciphertext.mutableBytePointer, &finalBytes),
                "EVP_EncryptFinal_ex")
            var tag = AES256GCM.Tag()
            try withUnsafeMutableBytes(of: &tag.storage) { (buffer) throws(CryptoError) in
                try check(
                    EVP_CIPHER_CTX_ctrl(
                        context, EVP_CTRL_GCM_GET_TAG, Int32(AES256GCM.tagSize), buffer.baseAddress),
                    "EVP_CTRL_GCM_GET_TAG")
            }
            return tag
        }
    }

    /// Decrypts `ciphertext` into `plaintext` if `tag` matches it, `aad`, `nonce` and this
    /// key. Allocates nothing.
    ///
    /// On failure `plaintext` is wiped, so no unauthenticated byte is ever left behind.
    ///
    /// - Throws: ``CryptoError/authenticationFailure`` for any mismatch.
    public func open(
        _ ciphertext: UnsafeRawBufferPointer,
        tag: AES256GCM.Tag,
        authenticating aad: UnsafeRawBufferPointer,
        nonce: AES256GCM.Nonce,
        into plaintext: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        try withContexts { (pair) throws(CryptoError) in
            try Self.open(
                ciphertext, tag: tag, authenticating: aad, nonce: nonce, into: plaintext, with: pair
            )
        }
    }

    fileprivate static func open(
        _ ciphertext: UnsafeRawBufferPointer,
        tag: AES256GCM.Tag,
        authenticating aad: UnsafeRawBufferPointer,
        nonce: AES256GCM.Nonce,
        into plaintext: UnsafeMutableRawBufferPointer,
        with pair: GCMContextPair
    ) throws(CryptoError) {
        try validateLengths(input: ciphertext.count, output: plaintext.count, aad: aad.count)
        let wipe = {
            if let base = plaintext.baseAddress { OPENSSL_cleanse(base, ciphertext.count) }
        }
        let opened = { () throws(CryptoError) -> Bool in
            let context = pair.opening
            var nonce = nonce
            try withUnsafeBytes(of: &nonce.storage) { (iv) throws(CryptoError) in
                try check(
                    EVP_DecryptInit_ex(context, nil, nil, nil, iv.bytePointer),
                    "EVP_DecryptInit_ex")
            }
            var written: Int32 = 0
            if aad.count > 0 {
                try check(
                    EVP_DecryptUpdate(context, nil, &written, aad.bytePointer, Int32(aad.count)),
                    "EVP_DecryptUpdate(aad)")
            }
            if ciphertext.count > 0 {
                try check(
                    EVP_DecryptUpdate(
                        context, plaintext.mutableBytePointer, &written,
                        ciphertext.bytePointer, Int32(ciphertext.count)),
                    "EVP_DecryptUpdate")
            }
            var tag = tag
            try withUnsafeMutableBytes(of: &tag.storage) { (buffer) throws(CryptoError) in
                try check(
                    EVP_CIPHER_CTX_ctrl(
                        context, EVP_CTRL_GCM_SET_TAG, Int32(AES256GCM.tagSize), buffer.baseAddress),
                    "EVP_CTRL_GCM_SET_TAG")
            }
            var finalBytes: Int32 = 0
            return EVP_DecryptFinal_ex(context, plaintext.mutableBytePointer, &finalBytes) == 1
        }
        let authentic: Bool
        do {
            authentic = try opened()
        } catch {
            // A library failure part way leaves unauthenticated bytes behind too.
            wipe()
            throw error
        }
        guard authentic else {
            ERR_clear_error()
            wipe()
            throw .authenticationFailure
        }
    }

    private static func validateLengths(input: Int, output: Int, aad: Int) throws(CryptoError) {
        guard output >= input else {
            throw .bufferTooSmall(needed: input, available: output)
        }
        guard input <= Int(Int32.max), aad <= Int(Int32.max) else {
            throw .invalidParameter("a single AES-GCM message is limited to 2 GiB")
        }
    }
}

extension AES256GCM.Key {
    /// Encrypts `plaintext` and returns the ciphertext and its tag.
    public func seal(
        _ plaintext: [UInt8], authenticating aad: [UInt8] = [], nonce: AES256GCM.Nonce
    ) throws(CryptoError) -> (ciphertext: [UInt8], tag: AES256GCM.Tag) {
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        let tag = try rethrowingCryptoError {
            try plaintext.withUnsafeBytes { input in
                try aad.withUnsafeBytes { aadBytes in
                    try ciphertext.withUnsafeMutableBytes { output in
                        try seal(input, authenticating: aadBytes, nonce: nonce, into: output)
                    }
                }
            }
        }
        return (ciphertext, tag)
    }

    /// Decrypts and authenticates; the plaintext is returned only if everything matches.
    public func open(
        _ ciphertext: [UInt8], tag: AES256GCM.Tag, authenticating aad: [UInt8] = [],
        nonce: AES256GCM.Nonce
    ) throws(CryptoError) -> [UInt8] {
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
        try rethrowingCryptoError {
            try ciphertext.withUnsafeBytes { input in
                try aad.withUnsafeBytes { aadBytes in
                    try plaintext.withUnsafeMutableBytes { output in
                        try open(
                            input, tag: tag, authenticating: aadBytes, nonce: nonce, into: output)
                    }
                }
            }
        }
        return plaintext
    }
}

/// A byte that OpenSSL may read when a buffer is empty; it is never written.
nonisolated(unsafe) private let emptyBufferStandIn: UnsafeMutablePointer<UInt8> = {
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

extension UnsafeRawBufferPointer {
    fileprivate var bytePointer: UnsafePointer<UInt8> {
        guard let base = baseAddress else { return UnsafePointer(emptyBufferStandIn) }
        return base.assumingMemoryBound(to: UInt8.self)
    }
}

extension UnsafeMutableRawBufferPointer {
    fileprivate var mutableBytePointer: UnsafeMutablePointer<UInt8> {
        guard let base = baseAddress else { return emptyBufferStandIn }
        return base.assumingMemoryBound(to: UInt8.self)
    }
}
