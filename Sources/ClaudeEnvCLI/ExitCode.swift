/// The program's exit statuses. They are part of its interface: scripts may test them, so a
/// value never changes meaning. The numbers follow BSD's `sysexits.h`.
public enum ExitCode: Int32, Sendable {
    case success = 0
    /// Something failed that no more specific status describes.
    case failure = 1
    /// The command line was wrong: an unknown command or option, a missing value.
    case usage = 64
    /// Input data was malformed, for example a damaged vault.
    case dataError = 65
    /// A needed file does not exist.
    case noInput = 66
    /// A needed service or program is missing: FUSE, a container engine.
    case unavailable = 69
    /// A file could not be read or written.
    case ioError = 74
    /// Permission was refused, for example a wrong password.
    case noPermission = 77
    /// The config file holds a value that cannot be used.
    case configuration = 78
}
