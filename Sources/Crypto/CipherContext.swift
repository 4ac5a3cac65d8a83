import CCrypto

/// One keyed pair of OpenSSL AES-256-GCM contexts, one for sealing and one for opening.
///
/// Keying a context expands the AES key schedule and the GHASH tables, which costs a
/// noticeable share of a 4 KiB seal; a keyed pair is therefore kept and reused, and each
/// operation only loads a new nonce.
final class GCMContextPair: @unchecked Sendable {
    // @unchecked Sendable: a pair is checked out of its key's pool for one operation at a
    // time, so no two threads ever use it together.

    let sealing: OpaquePointer
    let opening: OpaquePointer

    init(key: SecretBytes) throws(CryptoError) {
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            throw .library(operation: "EVP_CIPHER_fetch(AES-256-GCM)", reason: drainOpenSSLErrors())
        }
        defer { EVP_CIPHER_free(cipher) }
        guard let sealing = EVP_CIPHER_CTX_new() else {
            throw .library(operation: "EVP_CIPHER_CTX_new", reason: drainOpenSSLErrors())
        }
        guard let opening = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(sealing)
            throw .library(operation: "EVP_CIPHER_CTX_new", reason: drainOpenSSLErrors())
        }
        self.sealing = sealing
        self.opening = opening
        // A failure from here on frees both contexts through deinit.
        try key.withUnsafeBytes { (bytes) throws(CryptoError) in
            let keyBytes = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            try check(
                EVP_EncryptInit_ex(sealing, cipher, nil, keyBytes, nil),
                "EVP_EncryptInit_ex")
            try check(
                EVP_DecryptInit_ex(opening, cipher, nil, keyBytes, nil),
                "EVP_DecryptInit_ex")
        }
    }

    deinit {
        // EVP_CIPHER_CTX_free cleanses the key schedule before releasing it.
        EVP_CIPHER_CTX_free(sealing)
        EVP_CIPHER_CTX_free(opening)
    }
}
