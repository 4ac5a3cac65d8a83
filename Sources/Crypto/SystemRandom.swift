import CCrypto

/// Random bytes from OpenSSL's CSPRNG, which OpenSSL seeds from the operating system.
///
/// There is no fallback: if the generator fails, the call throws, because a silently weak
/// nonce or key would be worse than no vault at all.
public enum SystemRandom {
    /// Fills `buffer` with random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        guard var cursor = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            let chunk = min(remaining, Int(Int32.max))
            guard RAND_bytes(cursor.assumingMemoryBound(to: UInt8.self), Int32(chunk)) == 1 else {
                throw .randomSourceFailed(drainOpenSSLErrors())
            }
            cursor += chunk
            remaining -= chunk
        }
    }

    /// Returns `count` random bytes.
    public static func bytes(count: Int) throws(CryptoError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        try rethrowingCryptoError { try result.withUnsafeMutableBytes { try fill($0) } }
        return result
    }
}
