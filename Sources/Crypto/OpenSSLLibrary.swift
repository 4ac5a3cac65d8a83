import CCrypto

/// Facts about the OpenSSL library this process is linked with, asked of it at run time.
public enum OpenSSLLibrary {
    /// The version number, for example `3.0.19`.
    public static var version: String {
        String(cString: OpenSSL_version(OPENSSL_VERSION_STRING))
    }

    /// The full version text, for example `OpenSSL 3.0.19 27 Jan 2026`.
    public static var versionText: String {
        String(cString: OpenSSL_version(OPENSSL_VERSION))
    }
}

/// Empties the calling thread's OpenSSL error queue and returns its messages, newest last.
///
/// OpenSSL keeps errors per thread; draining after every failure keeps one failure's text from
/// being reported with the next one.
func drainOpenSSLErrors() -> String {
    var messages: [String] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while case let code = ERR_get_error(), code != 0 {
        buffer.withUnsafeMutableBufferPointer { text in
            text.withMemoryRebound(to: CChar.self) {
                ERR_error_string_n(code, $0.baseAddress, $0.count)
            }
        }
        messages.append(String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self))
    }
    return messages.isEmpty ? "no detail given" : messages.joined(separator: "; ")
}

/// Turns an OpenSSL status (1 is success) into a thrown ``CryptoError/library(operation:reason:)``.
@inline(__always)
func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(CryptoError) {
    guard status == 1 else {
        throw .library(operation: operation(), reason: drainOpenSSLErrors())
    }
}

/// Runs `body`, whose only thrown errors are ``CryptoError``s, and rethrows them typed.
///
/// The standard library's buffer accessors are `rethrows`, which erases the error type.
@inline(__always)
func rethrowingCryptoError<R>(_ body: () throws -> R) throws(CryptoError) -> R {
    do {
        return try body()
    } catch let error as CryptoError {
        throw error
    } catch {
        preconditionFailure("only CryptoError is thrown here, got \(error)")
    }
}
