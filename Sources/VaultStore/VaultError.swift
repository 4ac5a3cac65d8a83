/// Everything that can go wrong with a vault file, worded for the person who has to act on it.
public enum VaultError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not begin with the vault magic.
    case notAVault(path: String)
    /// The file is a vault of a format version this build cannot read.
    case unsupportedVersion(found: UInt32, supported: UInt32)
    /// The header names a page size this build does not use.
    case unsupportedPageSize(UInt32)
    /// The file is shorter than its structures say.
    case truncated(path: String, size: UInt64)
    /// No keyslot opened with the given password or recovery key.
    case wrongPassword
    /// A keyslot's KDF parameters are below the enforced minimums.
    case weakKeyslot(index: Int, reason: String)
    /// Neither header copy authenticated with the unlocked master key.
    case headerDamaged
    /// Neither superblock slot authenticated.
    case noValidSuperblock
    /// A page failed authentication: damaged, swapped, rolled back or truncated.
    case damagedPage(page: UInt64)
    /// Authenticated bytes did not form a valid structure.
    case malformed(String)
    /// Another process holds the vault open for writing.
    case locked(path: String, pid: Int32?)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// Growing the file would pass the vault's quota.
    case quotaExceeded(quotaPages: UInt64)
    /// Every keyslot is in use.
    case keyslotsFull
    /// The change would leave no way to unlock the vault.
    case lastKeyslot
    /// The vault was opened read-only.
    case readOnly
    /// A requested thing does not exist.
    case notFound(String)

    public var description: String {
        switch self {
        case .notAVault(let path):
            return "\(path) is not a claude-env vault (its first bytes are not the vault magic)"
        case .unsupportedVersion(let found, let supported):
            return "this vault uses format version \(found), but this claude-env reads version "
                + "\(supported); install a newer claude-env to open it"
        case .unsupportedPageSize(let size):
            return "this vault uses \(size)-byte pages, which this claude-env does not support"
        case .truncated(let path, let size):
            return "\(path) is truncated (\(size) bytes); restore it from a backup, or run "
                + "'claude-env fsck --repair' to salvage what verifies"
        case .wrongPassword:
            return "the password (or recovery key) does not open this vault"
        case .weakKeyslot(let index, let reason):
            return "keyslot \(index) has KDF parameters below the minimum (\(reason)); the vault "
                + "header may have been tampered with, so the slot is not used"
        case .headerDamaged:
            return "the vault header failed authentication in both copies; the file was damaged "
                + "or tampered with; restore it from a backup"
        case .noValidSuperblock:
            return "neither superblock of the vault authenticates; run 'claude-env fsck --repair' "
                + "to salvage what verifies"
        case .damagedPage(let page):
            return "page \(page) of the vault failed authentication (damaged or tampered with); "
                + "run 'claude-env fsck' for a report"
        case .malformed(let what):
            return "the vault holds a malformed structure (\(what)); run 'claude-env fsck'"
        case .locked(let path, let pid):
            let holder = pid.map { "process \($0)" } ?? "another process"
            return
                "\(path) is in use by \(holder); run 'claude-env lock' (or stop that process) first"
        case .io(let operation, let path, let errno):
            return "\(operation) failed on \(path): \(systemErrorText(errno))"
        case .quotaExceeded(let quotaPages):
            return
                "the vault is full: its quota of \(quotaPages * 4096 / (1 << 20)) MiB is reached; "
                + "free space inside it or raise the quota"
        case .keyslotsFull:
            return
                "every keyslot is in use; remove one with 'claude-env passwd --remove-slot N' first"
        case .lastKeyslot:
            return
                "that is the last keyslot that can open the vault; add another before removing it"
        case .readOnly:
            return "the vault is open read-only"
        case .notFound(let what):
            return "\(what) not found"
        }
    }
}
