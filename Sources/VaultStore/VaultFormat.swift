/// Constants of the vault file format, which `Spec/vault-format.md` defines byte by byte.
public enum VaultFormat {
    /// The format version this build writes. A reader refuses a file with a newer version
    /// rather than guess at its layout.
    public static let version: UInt32 = 1

    public static let pageSize = 4096
    static let magic = Array("claude-env vault".utf8)
    static let keyslotCount = 16
    static let keyslotSize = 128

    /// Pages 0 and 1 hold the header copies, 2 and 3 the superblock slots.
    static let firstAllocatablePage: UInt64 = 4

    /// Pages sealed under one epoch key before the next epoch starts (§4 of the spec).
    static let pagesPerEpoch: UInt64 = 1 << 28

    /// The largest vault, in pages.
    static let maximumPages: UInt64 = 1 << 40
}
