/// Constants of the vault file format, which `Spec/vault-format.md` defines byte by byte.
public enum VaultFormat {
    /// The format version this build writes. A reader refuses a file with a newer version
    /// rather than guess at its layout.
    public static let version: UInt32 = 1
}
