import CCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Key material, passwords and anything else that must not outlive its use.
///
/// The bytes live in their own page-aligned allocation that is
/// - locked in memory with `mlock` where the process's limit allows, so it is never swapped;
/// - excluded from core dumps (`MADV_DONTDUMP`);
/// - overwritten in full with `OPENSSL_cleanse` when the value dies.
///
/// The value never prints its bytes, and `==` takes the same time wherever the bytes differ.
/// The contents are written once, while initialising, and are read-only afterwards.
public final class SecretBytes: @unchecked Sendable {
    // @unchecked Sendable: the storage is written only inside `init` and never again.

    /// The number of secret bytes.
    public let count: Int

    /// Whether `mlock` succeeded; when it did not (a low `RLIMIT_MEMLOCK`), the bytes may be
    /// swapped out, but are still wiped and kept out of core dumps.
    public let isLockedInMemory: Bool

    private let storage: UnsafeMutableRawPointer
    private let capacity: Int

    /// Creates a secret of `count` bytes whose contents `initializer` writes.
    ///
    /// The buffer starts zeroed; if `initializer` throws, it is wiped before the error
    /// propagates.
    public init<E: Error>(
        count: Int,
        initializingWith initializer: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        precondition(count >= 0, "a secret cannot have a negative size")
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let capacity = max(pageSize, (count + pageSize - 1) / pageSize * pageSize)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, pageSize, capacity) == 0, let raw else {
            fatalError("out of memory allocating \(capacity) bytes for a secret")
        }
        memset(raw, 0, capacity)
        _ = madvise(raw, capacity, MADV_DONTDUMP)
        self.isLockedInMemory = mlock(raw, capacity) == 0
        self.storage = raw
        self.capacity = capacity
        self.count = count
        try initializer(UnsafeMutableRawBufferPointer(start: raw, count: count))
    }

    /// Creates a secret holding a copy of `bytes`. The caller remains responsible for the
    /// source.
    public convenience init(copying bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        self.init(count: array.count) { buffer in buffer.copyBytes(from: array) }
    }

    /// Creates a secret of `count` bytes from OpenSSL's CSPRNG.
    public static func random(count: Int) throws(CryptoError) -> SecretBytes {
        try SecretBytes(count: count) { (buffer) throws(CryptoError) in
            try SystemRandom.fill(buffer)
        }
    }

    deinit {
        OPENSSL_cleanse(storage, capacity)
        if isLockedInMemory {
            _ = munlock(storage, capacity)
        }
        free(storage)
    }

    /// Calls `body` with a read-only view of the bytes. The view must not escape `body`.
    public func withUnsafeBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: count))
    }
}

extension SecretBytes: Equatable {
    /// Compares in time that depends only on the lengths, which are not secret.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return CRYPTO_memcmp(lhs.storage, rhs.storage, lhs.count) == 0
    }
}

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": count]) }
}
