import VaultStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A failed filesystem operation, as the errno a POSIX caller expects.
public struct FilesystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var errno: Int32
    /// What failed, for logs; never shown to a process as anything but `errno`.
    public var detail: String

    public init(_ errno: Int32, _ detail: String = "") {
        self.errno = errno
        self.detail = detail
    }

    public static func == (lhs: FilesystemError, rhs: FilesystemError) -> Bool {
        lhs.errno == rhs.errno
    }

    public var description: String {
        let text = String(cString: strerror(errno))
        return detail.isEmpty ? text : "\(text): \(detail)"
    }

    static let noEntry = FilesystemError(ENOENT)
    static let exists = FilesystemError(EEXIST)
    static let notDirectory = FilesystemError(ENOTDIR)
    static let isDirectory = FilesystemError(EISDIR)
    static let notEmpty = FilesystemError(ENOTEMPTY)
    static let nameTooLong = FilesystemError(ENAMETOOLONG)
    static let invalid = FilesystemError(EINVAL)
    static let noAttribute = FilesystemError(ENODATA)
    static let notSupported = FilesystemError(EOPNOTSUPP)
    static let tooBig = FilesystemError(E2BIG)
    static let fileTooLarge = FilesystemError(EFBIG)
    static let tooManyLinks = FilesystemError(EMLINK)
    static let notPermitted = FilesystemError(EPERM)
    static let range = FilesystemError(ERANGE)

    /// The errno for a storage failure: a page that fails authentication reads as `EIO`,
    /// never as data.
    static func from(_ error: any Error) -> FilesystemError {
        if let error = error as? FilesystemError { return error }
        switch error as? VaultError {
        case .quotaExceeded: return FilesystemError(ENOSPC, "\(error)")
        case .readOnly: return FilesystemError(EROFS, "\(error)")
        default: return FilesystemError(EIO, "\(error)")
        }
    }
}
