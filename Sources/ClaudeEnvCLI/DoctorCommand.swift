import ArgumentParsing
import Container
import Foundation
import VaultMount
import VaultStore

/// `claude-env doctor`: what this machine lacks for start to work, and how to fix it.
enum DoctorCommand {
    static let command = Command(
        name: "doctor",
        abstract: "Check FUSE, the container engine, the image and the vault, and say what to fix.",
        discussion: """
            Each line is 'ok', 'warn' (works, with a limit) or 'fail' (start cannot work \
            until it is fixed), with the fix. Exits 0 when nothing failed, 69 otherwise.
            """,
        options: [VaultAccess.volumeOption, Workbench.engineOption],
        examples: [Example("claude-env doctor", "Check this machine before the first start.")])

    enum Verdict: String {
        case ok, warn, fail

        /// The ANSI colour of the word: green, yellow, red.
        var colour: String {
            switch self {
            case .ok: "\u{1B}[32m"
            case .warn: "\u{1B}[33m"
            case .fail: "\u{1B}[31m"
            }
        }
    }

    struct Finding {
        var verdict: Verdict
        var subject: String
        var detail: String
    }

    static func run(_ arguments: ParsedArguments, path: [String], context: CommandContext) throws
        -> Int32
    {
        let workbench = Workbench(context: context)
        let searchPath = context.environment["PATH"] ?? "/usr/bin:/bin"
        let root = getuid() == 0
        var findings: [Finding] = []

        let fusermount = ContainerEngine.findExecutable("fusermount3", in: searchPath)
        if access("/dev/fuse", R_OK | W_OK) == 0 {
            findings.append(Finding(verdict: .ok, subject: "/dev/fuse", detail: "usable"))
        } else if access("/dev/fuse", F_OK) == 0 && !root && fusermount != nil {
            findings.append(
                Finding(
                    verdict: .ok, subject: "/dev/fuse",
                    detail: "not open to you; mounts go through fusermount3"))
        } else {
            findings.append(
                Finding(
                    verdict: .fail, subject: "/dev/fuse",
                    detail: "missing or unusable: 'sudo modprobe fuse', and in a container run "
                        + "it with --device /dev/fuse"))
        }

        if let fusermount {
            findings.append(Finding(verdict: .ok, subject: "fusermount3", detail: fusermount))
        } else {
            findings.append(
                Finding(
                    verdict: root ? .warn : .fail, subject: "fusermount3",
                    detail: "not found: 'sudo apt-get install fuse3'"))
        }

        var engine: ContainerEngine?
        do {
            let found = try workbench.engine(arguments, path: path)
            engine = found
            let mode = found.isRootless ? "rootless" : "rootful"
            findings.append(
                Finding(
                    verdict: .ok, subject: "engine", detail: "\(found.kind.rawValue), \(mode)"))
        } catch let failure as CommandFailure {
            findings.append(Finding(verdict: .fail, subject: "engine", detail: failure.message))
        }

        if let engine, !root {
            if MountCommand.userAllowOther() {
                findings.append(
                    Finding(
                        verdict: .ok, subject: "user_allow_other",
                        detail: "set in /etc/fuse.conf, as containers need"))
            } else {
                findings.append(
                    Finding(
                        verdict: .fail, subject: "user_allow_other",
                        detail: "\(engine.kind.rawValue) needs it in /etc/fuse.conf to reach "
                            + "the vault: \(MountCommand.enableUserAllowOther)"))
            }
        }
        if let engine, engine.isRootless, !MountPoint.isShared("/") {
            findings.append(
                Finding(
                    verdict: .warn, subject: "mount propagation",
                    detail: "/ is not a shared mount, so a rootless engine's namespace made "
                        + "before the vault was mounted will not see it; 'sudo mount "
                        + "--make-rshared /' (systemd does this at boot)"))
        }

        if let engine {
            let recipe = workbench.recipe
            switch workbench.imageState(engine, recipe) {
            case .fresh:
                findings.append(
                    Finding(verdict: .ok, subject: "image", detail: "\(recipe.tag), up to date"))
            case .missing(let older):
                let stale = older.isEmpty ? "" : " (older builds: \(older.joined(separator: ", ")))"
                findings.append(
                    Finding(
                        verdict: .warn, subject: "image",
                        detail: "\(recipe.tag) is not built\(stale); start builds it, or run "
                            + "'claude-env build-image'"))
            }
        }

        let vaultPath = workbench.locations.vaultPath(option: arguments.value("volume"))
        if let vaultID = PageStore.peekVaultID(atPath: vaultPath) {
            let mountpoint = MountPoint.path(forVaultID: vaultID)
            let mounted = MountPoint.isMounted(mountpoint) ? ", mounted at \(mountpoint)" : ""
            findings.append(
                Finding(verdict: .ok, subject: "vault", detail: vaultPath + mounted))
        } else if FileManager.default.fileExists(atPath: vaultPath) {
            findings.append(
                Finding(
                    verdict: .fail, subject: "vault",
                    detail: "\(vaultPath) is not a claude-env vault; name yours with --volume"))
        } else {
            findings.append(
                Finding(
                    verdict: .warn, subject: "vault",
                    detail: "none at \(vaultPath); create one with 'claude-env bootstrap'"))
        }

        // Colour only for a person at a terminal who has not asked for none.
        let colour = isatty(1) == 1 && context.environment["NO_COLOR"] == nil
        let width = findings.map(\.subject.count).max() ?? 0
        var text = ""
        for finding in findings {
            let padding = String(repeating: " ", count: width - finding.subject.count)
            let verdict = finding.verdict.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0)
            text += colour ? finding.verdict.colour + verdict + "\u{1B}[0m " : verdict + " "
            text += "\(finding.subject)\(padding)  \(finding.detail)\n"
        }
        context.console.writeOutput(text)
        return findings.contains { $0.verdict == .fail }
            ? ExitCode.unavailable.rawValue : ExitCode.success.rawValue
    }
}
