import Crypto
import Platform

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The directory a vault is mounted on, `/tmp/claude-env-<id>`, and its safe preparation.
public enum MountPoint {
    /// The mount point of the vault with `vaultID`: the same for that vault on every run.
    public static func path(forVaultID vaultID: [UInt8]) -> String {
        "/tmp/claude-env-" + identifier(forVaultID: vaultID)
    }

    /// The short id of a vault in its mount point's name and its containers' labels.
    public static func identifier(forVaultID vaultID: [UInt8]) -> String {
        Hex.encode(vaultID.prefix(6))
    }

    public enum PreparationError: Error, CustomStringConvertible, Equatable {
        case symlink(String)
        case notDirectory(String)
        case wrongOwner(String, uid: UInt32)
        case inUse(String)
        case system(String, operation: String, errno: Int32)

        public var description: String {
            switch self {
            case .symlink(let path):
                return
                    "\(path) is a symbolic link; remove it (someone may be trying to redirect the mount)"
            case .notDirectory(let path):
                return "\(path) exists and is not a directory; remove it"
            case .wrongOwner(let path, let uid):
                return "\(path) belongs to uid \(uid), not to you; remove it, or ask its owner to"
            case .inUse(let path):
                return "\(path) is already a mount point; run 'claude-env unmount' first"
            case .system(let path, let operation, let errno):
                return "\(operation) \(path): \(String(cString: strerror(errno)))"
            }
        }
    }

    /// Makes `path` an empty directory of mode 0700 owned by the caller, refusing anything
    /// that someone else could control. A mount left by a killed daemon is detached first.
    public static func prepare(_ path: String) throws(PreparationError) {
        if isMounted(path) {
            if answers(path) { throw .inUse(path) }
            detach(path)
        }
        var status = stat()
        if lstat(path, &status) != 0 {
            guard errno == ENOENT else { throw .system(path, operation: "inspect", errno: errno) }
            guard mkdir(path, 0o700) == 0 else {
                throw .system(path, operation: "create", errno: errno)
            }
            return
        }
        switch status.st_mode & S_IFMT {
        case S_IFLNK: throw .symlink(path)
        case S_IFDIR: break
        default: throw .notDirectory(path)
        }
        guard status.st_uid == getuid() else { throw .wrongOwner(path, uid: status.st_uid) }
        guard chmod(path, 0o700) == 0 else { throw .system(path, operation: "chmod", errno: errno) }
    }

    /// Whether the filesystem mounted at `path` has a live server. `statfs` always reaches the
    /// server (the kernel may answer `stat` from its cache); a dead one's mount fails with
    /// ENOTCONN.
    public static func answers(_ path: String) -> Bool {
        var result = statvfs()
        return statvfs(path, &result) == 0
    }

    /// Whether `path` is a mount point, by the kernel's own table.
    public static func isMounted(_ path: String) -> Bool { options(ofMountAt: path) != nil }

    /// The options of the mount at `path`, per mount and per filesystem (a FUSE mount shows
    /// `allow_other` among the latter), or nil when nothing is mounted there.
    public static func options(ofMountAt path: String) -> Set<String>? {
        guard let fields = mountInfo(at: path) else { return nil }
        var options = Set(fields[5].split(separator: ",").map(String.init))
        if let separator = fields.firstIndex(of: "-"), separator + 3 < fields.count {
            options.formUnion(fields[separator + 3].split(separator: ",").map(String.init))
        }
        return options
    }

    /// Whether the mount at `path` is shared, so that mounts made under it propagate to the
    /// mount namespaces copied from it.
    public static func isShared(_ path: String) -> Bool {
        guard let fields = mountInfo(at: path) else { return false }
        return fields[6...].prefix { $0 != "-" }.contains { $0.hasPrefix("shared:") }
    }

    /// The fields of the kernel's line for the mount in effect at `path`. Field 5 is the
    /// mount point, with spaces and such escaped as octal; field 6 the mount's options; then
    /// optional fields (such as `shared:1`) up to a "-", and after it the type, the source and
    /// the filesystem's options. The last mount listed at a path is the one in effect.
    private static func mountInfo(at path: String) -> [Substring]? {
        guard let file = fopen("/proc/self/mountinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        var found: [Substring]?
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            let fields = text.dropLast(text.hasSuffix("\n") ? 1 : 0).split(separator: " ")
            if fields.count > 6 && unescape(String(fields[4])) == path { found = fields }
        }
        return found
    }

    /// Detaches the mount at `path`, lazily so that a dead daemon's mount goes too.
    public static func detach(_ path: String) {
        if getuid() == 0 {
            _ = umount2(path, Int32(MNT_DETACH))
        } else {
            _ = try? Subprocess.run("fusermount3", ["-u", "-z", path])
        }
    }

    private static func unescape(_ text: String) -> String {
        var result = ""
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            if characters[index] == "\\", index + 3 < characters.count,
                let value = UInt8(String(characters[index + 1...index + 3]), radix: 8)
            {
                result.append(Character(Unicode.Scalar(value)))
                index += 4
            } else {
                result.append(characters[index])
                index += 1
            }
        }
        return result
    }
}
