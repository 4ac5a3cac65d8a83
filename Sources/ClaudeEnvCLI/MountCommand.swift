import ArgumentParsing
import Crypto
import Foundation
import FuseBinding
import Platform
import VaultFS
import VaultMount
import VaultStore

/// `claude-env mount` and `claude-env unmount`: serve the vault as a directory.
enum MountCommand {
    static let mount = Command(
        name: "mount",
        abstract: "Unlock the vault and serve it as a directory at /tmp/claude-env-<id>.",
        discussion: """
            Asks for the password, then starts a background process that serves the vault \
            through FUSE and returns once the mount answers. That process holds the key (it \
            gets it through a pipe, never argv or the environment, and cannot be core-dumped or \
            traced), logs to ~/.local/state/claude-env/, commits every few seconds and on every \
            fsync, and on unmount, SIGTERM or SIGINT commits once more and exits. The mount \
            point is the same for a vault on every run, mode 0700, and refused if it is a \
            symbolic link or belongs to someone else. A mount left behind by a killed process \
            is cleared first.

            --allow-other lets other users (a rootful container engine) reach the mount; for \
            a user other than root it needs 'user_allow_other' in /etc/fuse.conf.

            --cache-size (or 'cache-size=' in the config file) bounds the decrypted blocks the \
            process keeps: two thirds for blocks as read, one third for changes not yet \
            written. Its memory is that plus a few tens of MiB for the program, its libraries \
            and the decoded index.
            """,
        options: [
            VaultAccess.volumeOption,
            mountpointOption,
            Option(
                "allow-other",
                help: "Let other users, such as a rootful Docker daemon, use the mount."),
            Option(
                "foreground",
                help: "Serve from this process, logging to standard error, until unmounted."),
            Option(
                "cache-size", value: "SIZE",
                help: "Decrypted blocks to keep in memory, 8M to 4G (default 48M)."),
            Option(
                "key-fd", value: "FD",
                help: "Read the master key from descriptor FD (how mount starts its server)."),
            VaultAccess.acceptStaleOption,
        ] + PasswordInput.options,
        examples: [
            Example("claude-env mount", "Serve the remembered vault until it is unmounted."),
            Example(
                "claude-env mount --allow-other",
                "Serve it so that a rootful Docker daemon can bind it."),
            Example(
                "claude-env mount --foreground", "Serve it from this terminal; Ctrl-C unmounts."),
        ])

    static let unmount = Command(
        name: "unmount",
        abstract: "Unmount the vault, and wait until its last changes are committed.",
        options: [VaultAccess.volumeOption, mountpointOption],
        examples: [Example("claude-env unmount", "Unmount the remembered vault.")])

    static func runMount(
        _ arguments: ParsedArguments, path commandPath: [String], context: CommandContext
    ) throws
        -> Int32
    {
        _ = try cacheLimits(arguments, context: context, path: commandPath)
        if let descriptor = arguments.value("key-fd") {
            guard let number = Int32(descriptor), number > 2 else {
                throw UsageError(
                    "option '--key-fd' needs a descriptor number above 2, got '\(descriptor)'",
                    path: commandPath)
            }
            DetachedProcess.forbidDumpsAndTracing()
            guard let key = DetachedProcess.readSecret(from: number, count: 32) else {
                throw CommandFailure(
                    "no master key arrived on descriptor \(number)", status: .usage)
            }
            return try serve(arguments, context: context, masterKey: SecretBytes(copying: key))
        }
        if arguments.isSet("foreground") {
            DetachedProcess.forbidDumpsAndTracing()
            return try serve(arguments, context: context, masterKey: nil)
        }
        return try startInBackground(
            arguments, context: context, allowOther: arguments.isSet("allow-other"))
    }

    /// Unlocks in this process, then hands the key to a server process in a session of its own.
    /// `arguments` are those of a command that takes the vault and password options.
    static func startInBackground(
        _ arguments: ParsedArguments, context: CommandContext, allowOther: Bool
    ) throws -> Int32 {
        // A bad cache size is reported here rather than by the server.
        _ = try cacheLimits(arguments, context: context)
        let access = VaultAccess(context: context)
        // The vault is closed again, releasing its lock, before the server opens it.
        let (path, vaultID, key): (String, [UInt8], [UInt8]) = try {
            let opened = try access.open(arguments, writable: true)
            if opened.readOnly {
                throw CommandFailure(
                    "the vault was opened read-only; not mounting it", status: .dataError)
            }
            return (
                opened.path, opened.store.vaultID,
                opened.store.masterKey.withUnsafeBytes { Array($0) }
            )
        }()
        var secret = key
        defer { for index in secret.indices { secret[index] = 0 } }
        let mountpoint = chosenMountpoint(arguments, vaultID: vaultID, context: context)
        do {
            try MountPoint.prepare(mountpoint)
        } catch {
            throw CommandFailure("\(error)", status: .failure)
        }
        let locations = Locations(environment: context.environment)
        try FileManager.default.createDirectory(
            atPath: locations.stateDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let logPath =
            locations.stateDirectory + "/mount-" + (mountpoint as NSString).lastPathComponent
            + ".log"
        var words = ["mount", "--key-fd", "3", "--volume", path]
        if allowOther { words.append("--allow-other") }
        if let size = arguments.value("cache-size") { words += ["--cache-size", size] }
        if arguments.value("mountpoint") != nil { words += ["--mountpoint", mountpoint] }
        if arguments.isSet("accept-stale") { words.append("--accept-stale") }
        var environment = context.environment
        environment[PasswordInput.environmentVariable] = nil
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let pid: pid_t
        do {
            pid = try DetachedProcess.spawn(
                executable, words, environment: environment, logPath: logPath, secret: secret)
        } catch {
            throw CommandFailure("cannot start the mount: \(error)", status: .failure)
        }
        for _ in 0..<400 {
            if MountPoint.isMounted(mountpoint) && MountPoint.answers(mountpoint) {
                context.console.writeError(
                    "mounted \(path) at \(mountpoint) (process \(pid), log \(logPath))\n")
                return ExitCode.success.rawValue
            }
            if let exit = DetachedProcess.exitStatus(pid) {
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                let tail = log.split(separator: "\n").suffix(5).joined(separator: "\n")
                throw CommandFailure(
                    "the mount process exited with status \(exit):\n\(tail)", status: .failure)
            }
            usleep(25_000)
        }
        throw CommandFailure(
            "the mount did not answer within 10 seconds; see \(logPath)", status: .failure)
    }

    /// Serves the vault from this process until it is unmounted or signalled.
    private static func serve(
        _ arguments: ParsedArguments, context: CommandContext, masterKey: SecretBytes?
    ) throws
        -> Int32
    {
        DetachedProcess.tuneHeapForServing()
        let access = VaultAccess(context: context)
        let opened = try access.open(
            arguments, writable: true, masterKey: masterKey,
            limits: try cacheLimits(arguments, context: context))
        if opened.readOnly {
            throw CommandFailure(
                "the vault was opened read-only; not mounting it", status: .dataError)
        }
        let mountpoint = chosenMountpoint(
            arguments, vaultID: opened.store.vaultID, context: context)
        do {
            try MountPoint.prepare(mountpoint)
        } catch {
            throw CommandFailure("\(error)", status: .failure)
        }
        var options = ["fsname=claude-env", "subtype=claude-env", "default_permissions", "noatime"]
        if arguments.isSet("allow-other") || getuid() == 0 {
            if getuid() != 0 && !userAllowOther() {
                throw CommandFailure(
                    "--allow-other needs " + userAllowOtherFix, status: .unavailable)
            }
            options.append("allow_other")
        }
        let vaultDirectory = (opened.path as NSString).deletingLastPathComponent
        let adapter = VaultFuseAdapter(
            filesystem: opened.filesystem,
            hostFreeBytes: {
                var result = statvfs()
                return statvfs(vaultDirectory, &result) == 0
                    ? UInt64(result.f_bavail) * UInt64(result.f_frsize) : 0
            },
            log: { message in FileHandle.standardError.write(Data("claude-env: \(message)\n".utf8))
            })
        let session: FuseSession
        do {
            session = try FuseSession(mountpoint: mountpoint, options: options, operations: adapter)
        } catch {
            throw CommandFailure("\(error)", status: .unavailable)
        }
        // A commit lets decoded nodes go, and evictions leave holes in the heap meanwhile.
        opened.filesystem.commitPeriodically(
            every: .seconds(5), afterCommit: DetachedProcess.releaseFreeHeap
        ) { error in
            FileHandle.standardError.write(
                Data("claude-env: operation=commit errno=\(error.errno)\n".utf8))
        }
        context.console.writeError("mounted \(opened.path) at \(mountpoint)\n")
        let status = session.run()
        // The loop ends on unmount or a signal; destroy has committed. Record the final state.
        opened.filesystem.stopPeriodicCommits()
        try? opened.filesystem.commit()
        try? access.record(opened.store)
        context.console.writeError("unmounted \(mountpoint)\n")
        return status == 0 ? ExitCode.success.rawValue : ExitCode.failure.rawValue
    }

    static func runUnmount(_ arguments: ParsedArguments, context: CommandContext) throws -> Int32 {
        let locations = Locations(environment: context.environment)
        let path = locations.vaultPath(option: arguments.value("volume"))
        guard let vaultID = PageStore.peekVaultID(atPath: path) else {
            throw CommandFailure("\(path) is not a readable claude-env vault", status: .noInput)
        }
        let mountpoint = chosenMountpoint(arguments, vaultID: vaultID, context: context)
        guard MountPoint.isMounted(mountpoint) else {
            context.console.writeError("\(path) is not mounted\n")
            return ExitCode.success.rawValue
        }
        let server = FileBlockDevice.writerPID(of: path)
        MountPoint.detach(mountpoint)
        // The serving process commits and releases the vault's lock on its way out. A mount
        // namespace made while the vault was mounted (a rootless Podman's, say) keeps a copy
        // of the mount that the detach does not reach, and with it the server: after a grace
        // period it is asked to leave with SIGTERM, which commits the same way.
        for attempt in 0..<240 {
            if (try? FileBlockDevice(openingExisting: path, access: .readOnly)) != nil {
                context.console.writeError("unmounted \(mountpoint)\n")
                return ExitCode.success.rawValue
            }
            if attempt == 40, let server, isMountServer(server, of: path) {
                kill(server, SIGTERM)
            }
            usleep(50_000)
        }
        throw CommandFailure(
            "\(mountpoint) is unmounted, but the serving process still holds the vault",
            status: .unavailable)
    }

    /// Whether `pid` is a claude-env mount server of the vault at `path`, so that a reused
    /// pid is never signalled.
    private static func isMountServer(_ pid: Int32, of path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
            return false
        }
        let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return words.contains("mount") && words.contains(path)
            && (words.first.map { $0.hasSuffix("claude-env") } ?? false)
    }

    /// The cache of `--cache-size`, else of `cache-size=` in the config file, else the default.
    static func cacheLimits(
        _ arguments: ParsedArguments, context: CommandContext,
        path: [String] = ["claude-env", "mount"]
    ) throws -> VaultFilesystem.CacheLimits {
        let option = arguments.value("cache-size")
        guard
            let text = option
                ?? Locations(environment: context.environment).setting("cache-size")
        else { return .init() }
        do {
            return .init(
                totalBytes: try ByteSize.blocks(
                    text, option: "cache-size", within: (8 << 20)...(4 << 30), path: path))
        } catch {
            // A bad value in the config file is named as such, not as an option.
            guard option == nil else { throw error }
            throw CommandFailure(
                "cache-size=\(text) in \(Locations(environment: context.environment).configFile) "
                    + "is not a size from 8M to 4G", status: .configuration)
        }
    }

    /// `--mountpoint DIR`, or the vault's own place in /tmp.
    private static func chosenMountpoint(
        _ arguments: ParsedArguments, vaultID: [UInt8], context: CommandContext
    ) -> String {
        arguments.value("mountpoint").map {
            Locations(environment: context.environment).absolute($0)
        }
            ?? MountPoint.path(forVaultID: vaultID)
    }

    /// What lets a user other than root mount with `allow_other`, as a command to run.
    static let enableUserAllowOther = "echo user_allow_other | sudo tee -a /etc/fuse.conf"

    /// Ends a sentence saying what needs `allow_other`.
    static let userAllowOtherFix =
        "'user_allow_other' in /etc/fuse.conf; add that line as root "
        + "(\(enableUserAllowOther)) and retry"

    static let mountpointOption = Option(
        "mountpoint", value: "DIR",
        help: "Mount at DIR instead of /tmp/claude-env-<id> (containers expect the default).")

    /// Whether /etc/fuse.conf lets users other than root mount with `allow_other`.
    static func userAllowOther() -> Bool {
        guard let text = try? String(contentsOfFile: "/etc/fuse.conf", encoding: .utf8) else {
            return false
        }
        return text.split(separator: "\n").contains {
            $0.trimmingCharacters(in: .whitespaces) == "user_allow_other"
        }
    }
}
