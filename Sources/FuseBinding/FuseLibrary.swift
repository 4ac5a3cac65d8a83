import CFuse

/// Facts about the libfuse library this process is linked with, asked of it at run time.
public enum FuseLibrary {
    /// The package version, for example `3.14.0`.
    public static var version: String {
        String(cString: fuse_pkgversion())
    }

    /// The API version the library implements, for example 314 for 3.14.
    public static var apiVersion: Int {
        Int(fuse_version())
    }
}
