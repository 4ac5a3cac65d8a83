/// Everything that can go wrong in the crypto layer.
///
/// A failed decryption is always the single case ``authenticationFailure``: callers that
/// face an attacker must not learn whether the key, the nonce, the data or the tag was wrong.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The ciphertext, its tag, its nonce, its associated data or the key did not match.
    case authenticationFailure
    /// A key of the wrong length was supplied.
    case invalidKeySize(expected: Int, actual: Int)
    /// A caller-provided output buffer cannot hold the result.
    case bufferTooSmall(needed: Int, available: Int)
    /// A parameter is outside what the algorithm or this library accepts.
    case invalidParameter(String)
    /// A key derivation would need more memory than the caller allowed.
    case memoryLimitExceeded(needed: Int, limit: Int)
    /// OpenSSL's random generator could not produce bytes; nothing weaker is substituted.
    case randomSourceFailed(String)
    /// OpenSSL reported an error that is not an authentication failure.
    case library(operation: String, reason: String)

    public var description: String {
        switch self {
        case .authenticationFailure:
            return
                "authentication failed: the data is damaged, was tampered with, or the key is wrong"
        case .invalidKeySize(let expected, let actual):
            return "invalid key size: expected \(expected) bytes, got \(actual)"
        case .bufferTooSmall(let needed, let available):
            return "output buffer too small: need \(needed) bytes, have \(available)"
        case .invalidParameter(let what):
            return "invalid parameter: \(what)"
        case .memoryLimitExceeded(let needed, let limit):
            return
                "key derivation needs \(needed) bytes of memory, above the limit of \(limit) bytes"
        case .randomSourceFailed(let reason):
            return "the system random generator failed (\(reason)); refusing to continue without it"
        case .library(let operation, let reason):
            return "OpenSSL failed in \(operation): \(reason)"
        }
    }
}
