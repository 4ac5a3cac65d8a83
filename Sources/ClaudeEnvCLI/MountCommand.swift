import ArgumentParsing
import Foundation
import FuseBinding
import VaultFS
import VaultMount
import VaultStore

/// `claude-env mount` and `claude-env unmount`: serve the vault as a directory.
enum MountCommand {
    static let mount = Command(
        name: "mount",
        abstract: "Unlock the vault and serve it as a directory at /tmp/claude-env-<id>.",
        discussion: """
            Serves the vault through FUSE until it is unmounted ('claude-env unmount') or \
            interrupted, committing changes every few seconds and on every fsync; on the way \
            out it commits once more. The mount point is the same for a vault on every run, \
            mode 0700, and refused if it is a symbolic link or belongs to someone else. A mount \
            left behind by a killed process is cleared first.

            --allow-other lets other users (a rootful container engine) reach the mount; for \
            a user other than root it needs 'user_allow_other' in /etc/fuse.conf.
            """,
        options: [
            VaultAccess.volumeOption,
            Option(
                "allow-other",
                help: "Let other users, such as a rootful Docker daemon, use the mount."),
            VaultAccess.acceptStaleOption,
        ] + PasswordInput.options,
        examples: [
            Example("claude-env mount", "Serve the remembered vault until it is unmounted."),
            Example(
                "claude-env mount --allow-other",
                "Serve it so that a rootful Docker daemon can bind it."),
        ])

    static let unmount = Command(
        name: "unmount",
        abstract: "Unmount the vault, and wait until its last changes are committed.",
        options: [VaultAccess.volumeOption],
        examples: [Example("claude-env unmount", "Unmount the remembered vault.")])

    static func runMount(_ arguments: ParsedArguments, context: CommandContext) throws -> Int32 {
        let access = VaultAccess(context: context)
        let opened = try access.open(arguments, writable: true)
        if opened.readOnly {
            throw CommandFailure(
                "the vault was opened read-only; not mounting it", status: .dataError)
        }
        let mountpoint = MountPoint.path(forVaultID: opened.store.vaultID)
        do {
            try MountPoint.prepare(mountpoint)
        } catch {
            throw CommandFailure("\(error)", status: .failure)
        }
        var options = ["fsname=claude-env", "subtype=claude-env", "default_permissions", "noatime"]
        if arguments.isSet("allow-other") || getuid() == 0 {
            if getuid() != 0 && !userAllowOther() {
                throw CommandFailure(
                    "--allow-other needs 'user_allow_other' in /etc/fuse.conf; add that line (as root) and retry",
                    status: .unavailable)
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
        opened.filesystem.commitPeriodically(every: .seconds(5)) { error in
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
        guard let vaultID = VaultHeaderPeek.vaultID(path) else {
            throw CommandFailure("\(path) is not a readable claude-env vault", status: .noInput)
        }
        let mountpoint = MountPoint.path(forVaultID: vaultID)
        guard MountPoint.isMounted(mountpoint) else {
            context.console.writeError("\(path) is not mounted\n")
            return ExitCode.success.rawValue
        }
        MountPoint.detach(mountpoint)
        // The serving process commits and releases the vault's lock on its way out.
        for _ in 0..<200 {
            if (try? FileBlockDevice(openingExisting: path, access: .readOnly)) != nil {
                context.console.writeError("unmounted \(mountpoint)\n")
                return ExitCode.success.rawValue
            }
            usleep(50_000)
        }
        throw CommandFailure(
            "\(mountpoint) is unmounted, but the serving process still holds the vault",
            status: .unavailable)
    }

    private static func userAllowOther() -> Bool {
        guard let text = try? String(contentsOfFile: "/etc/fuse.conf", encoding: .utf8) else {
            return false
        }
        return text.split(separator: "\n").contains {
            $0.trimmingCharacters(in: .whitespaces) == "user_allow_other"
        }
    }
}

/// Reads the vault id from the plaintext header, which needs no password.
enum VaultHeaderPeek {
    static func vaultID(_ path: String) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let bytes = try? handle.read(upToCount: 40), bytes.count == 40,
            Array(bytes.prefix(16)) == Array("claude-env vault".utf8)
        else { return nil }
        return Array(bytes[24..<40])
    }
}
