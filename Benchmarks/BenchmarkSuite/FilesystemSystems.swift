import Foundation
import Platform

/// A filesystem the benchmark can set up, mount in a scratch directory and tear down.
public enum FilesystemKind: String, Codable, Sendable, CaseIterable {
    case claudeEnv = "claude-env"
    case gocryptfs
    case cryfs
    case securefs
    case tmpfs

    /// The program that serves it, and the Debian package that has it; nil for tmpfs.
    var tool: (program: String, package: String)? {
        switch self {
        case .claudeEnv, .tmpfs: nil
        case .gocryptfs: ("gocryptfs", "gocryptfs")
        case .cryfs: ("cryfs", "cryfs")
        case .securefs: ("securefs", "securefs")
        }
    }
}

/// One filesystem, mounted for the whole run, and what it takes to undo it.
final class MountedSystem {
    let kind: FilesystemKind
    let store: String
    let mountpoint: String
    let log: String
    /// The FUSE daemon, a child of ours; nil for tmpfs.
    var daemon: pid_t?

    init(kind: FilesystemKind, scratch: String) {
        self.kind = kind
        store = scratch + "/store-" + kind.rawValue
        mountpoint = scratch + "/mnt-" + kind.rawValue
        log = scratch + "/" + kind.rawValue + ".log"
    }

    /// Where the workloads run: a directory of their own, the same on every system.
    var workDirectory: String { mountpoint + "/bench" }
}

/// Starting, watching and stopping the systems under test, all through `Platform`'s spawning
/// so that every child starts with a clean signal state.
struct SystemHost {
    let scratch: String
    let passwordFile: String
    let password: String
    let claudeEnvExecutable: String
    let tmpfsBytes: Int
    /// Added to our filesystem's `mount` command.
    var claudeEnvMountOptions: [String] = []
    /// Polled while a daemon starts: its key derivation can take many seconds.
    var isInterrupted: @Sendable () -> Bool = { false }

    /// Runs a short-lived program to completion; a failure to start it is a workload failure.
    static func run(_ program: String, _ arguments: [String], system: String = "host")
        throws(BenchmarkError) -> Subprocess.Result
    {
        do {
            return try Subprocess.run(program, arguments)
        } catch {
            throw .workloadFailed(system: system, step: program, detail: "\(error)")
        }
    }

    /// Whether `program` is an executable on PATH.
    static func isInstalled(_ program: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { directory in
            access("\(directory)/\(program)", X_OK) == 0
        }
    }

    /// Whether a filesystem is mounted exactly at `path`, from /proc/self/mountinfo.
    static func isMounted(_ path: String) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        else { return false }
        let escaped = path.replacingOccurrences(of: " ", with: "\\040")
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == escaped
        }
    }

    func mount(_ kind: FilesystemKind) throws(BenchmarkError) -> MountedSystem {
        let system = MountedSystem(kind: kind, scratch: scratch)
        for directory in [system.store, system.mountpoint] {
            guard mkdir(directory, 0o700) == 0 else {
                throw .mountFailed(
                    system: kind.rawValue,
                    detail: "cannot create \(directory): \(String(cString: strerror(errno)))")
            }
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        switch kind {
        case .tmpfs:
            let result = try Self.run(
                "mount",
                [
                    "-t", "tmpfs", "-o", "size=\(tmpfsBytes >> 20)m,mode=0755",
                    "claude-env-bench", system.mountpoint,
                ], system: kind.rawValue)
            guard result.status == 0 else {
                throw .mountFailed(system: kind.rawValue, detail: result.errorText)
            }
        case .claudeEnv:
            // A home of its own, so that bootstrap records nothing in the caller's.
            let home = system.store + "/home"
            _ = mkdir(home, 0o700)
            try prepare(
                system, "env",
                [
                    "HOME=\(home)", claudeEnvExecutable, "bootstrap", "--path", system.store,
                    "--password-file", passwordFile,
                ])
            try start(
                system, claudeEnvExecutable,
                [
                    "mount", "--foreground", "--volume", system.store + "/claude-env.vault",
                    "--mountpoint", system.mountpoint, "--password-file", passwordFile,
                ] + claudeEnvMountOptions, environment: ["HOME": home, "PATH": path])
        case .gocryptfs:
            try prepare(
                system, "gocryptfs", ["-init", "-q", "-passfile", passwordFile, system.store])
            try start(
                system, "/usr/bin/env",
                [
                    "gocryptfs", "-fg", "-q", "-nosyslog", "-passfile", passwordFile, system.store,
                    system.mountpoint,
                ], environment: ["PATH": path])
        case .cryfs:
            // cryfs reads the password from standard input; the shell hands it the file and
            // then becomes cryfs, so the pid we hold is the daemon's. AES-256-GCM, like the
            // other systems, rather than cryfs's default cipher.
            let state = scratch + "/cryfs-state"
            _ = mkdir(state, 0o700)
            try start(
                system, "/bin/sh",
                [
                    "-c", "exec cryfs -f --cipher aes-256-gcm \"$0\" \"$1\" < \"$2\"",
                    system.store, system.mountpoint, passwordFile,
                ],
                environment: [
                    "PATH": path, "HOME": system.store, "CRYFS_FRONTEND": "noninteractive",
                    "CRYFS_NO_UPDATE_CHECK": "true", "CRYFS_LOCAL_STATE_DIR": state,
                ])
        case .securefs:
            try prepare(system, "securefs", ["create", "--pass", password, system.store])
            try start(
                system, "/usr/bin/env",
                ["securefs", "mount", "--pass", password, system.store, system.mountpoint],
                environment: ["PATH": path])
        }
        guard mkdir(system.workDirectory, 0o755) == 0 else {
            let reason = String(cString: strerror(errno))
            unmount(system)
            throw .mountFailed(
                system: kind.rawValue, detail: "cannot create \(system.workDirectory): \(reason)")
        }
        // The password's key derivation can take hundreds of MiB; the peak that matters is
        // the workloads', so the high-water mark starts again here.
        if let daemon = system.daemon {
            try? "5\n".write(
                toFile: "/proc/\(daemon)/clear_refs", atomically: false, encoding: .utf8)
        }
        return system
    }

    /// Runs a store's one-off set-up command (creating it), which must succeed.
    private func prepare(_ system: MountedSystem, _ program: String, _ arguments: [String])
        throws(BenchmarkError)
    {
        let result = try Self.run(program, arguments, system: system.kind.rawValue)
        guard result.status == 0 else {
            throw .mountFailed(
                system: system.kind.rawValue,
                detail: "'\(program) \(arguments.first ?? "")' exited with status "
                    + "\(result.status): \(result.errorText)\(result.outputText)")
        }
    }

    /// Starts the daemon and waits until its mount appears (key derivation can take a while).
    private func start(
        _ system: MountedSystem, _ executable: String, _ arguments: [String],
        environment: [String: String]
    ) throws(BenchmarkError) {
        let pid: pid_t
        do {
            pid = try DetachedProcess.spawn(
                executable, arguments, environment: environment, logPath: system.log, secret: [])
        } catch {
            throw .mountFailed(system: system.kind.rawValue, detail: "\(error)")
        }
        system.daemon = pid
        let deadline = monotonicSeconds() + 180
        while monotonicSeconds() < deadline {
            if Self.isMounted(system.mountpoint) { return }
            if isInterrupted() {
                unmount(system)
                throw .interrupted
            }
            if let status = DetachedProcess.exitStatus(pid) {
                system.daemon = nil
                throw .mountFailed(
                    system: system.kind.rawValue,
                    detail: "the daemon exited with status \(status); its log ends:\n"
                        + logTail(system))
            }
            usleep(100_000)
        }
        unmount(system)
        throw .mountFailed(
            system: system.kind.rawValue,
            detail: "not mounted after 180 s; its log ends:\n" + logTail(system))
    }

    private func logTail(_ system: MountedSystem) -> String {
        let text = (try? String(contentsOfFile: system.log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(5).joined(separator: "\n")
    }

    /// The daemon's peak resident set in KiB, from VmHWM in /proc/<pid>/status.
    static func peakResidentKiB(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }

    /// Unmounts, waits for the daemon to exit (signalling it if it lingers), and removes the
    /// store and mount point; returns false if the mount could not be removed.
    @discardableResult
    func unmount(_ system: MountedSystem) -> Bool {
        if Self.isMounted(system.mountpoint) {
            let tool = system.kind == .tmpfs ? "umount" : "fusermount3"
            let arguments = system.kind == .tmpfs ? [system.mountpoint] : ["-u", system.mountpoint]
            _ = try? Subprocess.run(tool, arguments)
        }
        if let pid = system.daemon {
            var gone = waitForExit(pid, seconds: 30)
            if !gone {
                kill(pid, SIGTERM)
                gone = waitForExit(pid, seconds: 10)
            }
            if !gone {
                kill(pid, SIGKILL)
                _ = waitForExit(pid, seconds: 5)
            }
            system.daemon = nil
        }
        if Self.isMounted(system.mountpoint) {
            _ = try? Subprocess.run("umount", ["-l", system.mountpoint])
        }
        guard !Self.isMounted(system.mountpoint) else { return false }
        try? FileManager.default.removeItem(atPath: system.mountpoint)
        try? FileManager.default.removeItem(atPath: system.store)
        return true
    }

    private func waitForExit(_ pid: pid_t, seconds: Double) -> Bool {
        let deadline = monotonicSeconds() + seconds
        repeat {
            if DetachedProcess.exitStatus(pid) != nil { return true }
            usleep(50_000)
        } while monotonicSeconds() < deadline
        return false
    }
}
