import Crypto

/// A printable recovery key (§5.2 of the spec): 32 random bytes as 52 base32 characters in
/// groups of four, such as `ABCD-EFGH-…`.
public struct RecoveryKey: Sendable {
    public let secret: SecretBytes

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func generate() throws -> RecoveryKey {
        RecoveryKey(secret: try SecretBytes.random(count: 32))
    }

    init(secret: SecretBytes) { self.secret = secret }

    /// Reads a recovery key as printed, in either case, with or without dashes, spaces and line breaks.
    /// Returns nil if `text` is not one.
    public init?(parsing text: String) {
        let ignored = Set(" -\t\r\n".utf8)
        let symbols = text.uppercased().utf8.filter { !ignored.contains($0) }
        guard symbols.count == 52 else { return nil }
        var bits: UInt64 = 0
        var bitCount = 0
        var bytes: [UInt8] = []
        for symbol in symbols {
            guard let value = Self.alphabet.firstIndex(of: symbol) else { return nil }
            bits = (bits << 5) | UInt64(value)
            bitCount += 5
            if bitCount >= 8 {
                bitCount -= 8
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(bitCount)))
            }
        }
        // 52 symbols carry 260 bits: 32 bytes and 4 padding bits, which must be zero.
        guard bytes.count == 32, bits & ((1 << UInt64(bitCount)) - 1) == 0 else { return nil }
        secret = SecretBytes(copying: bytes)
        for index in bytes.indices { bytes[index] = 0 }
    }

    /// The key as it is shown to the user, once.
    public var formatted: String {
        var symbols: [UInt8] = []
        secret.withUnsafeBytes { bytes in
            var bits: UInt64 = 0
            var bitCount = 0
            for byte in bytes {
                bits = (bits << 8) | UInt64(byte)
                bitCount += 8
                while bitCount >= 5 {
                    bitCount -= 5
                    symbols.append(Self.alphabet[Int((bits >> UInt64(bitCount)) & 31)])
                }
            }
            if bitCount > 0 {
                symbols.append(Self.alphabet[Int((bits << UInt64(5 - bitCount)) & 31)])
            }
        }
        var text = ""
        for (index, symbol) in symbols.enumerated() {
            if index > 0 && index % 4 == 0 { text.append("-") }
            text.append(Character(Unicode.Scalar(symbol)))
        }
        return text
    }
}
