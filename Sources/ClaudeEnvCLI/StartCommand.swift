import ArgumentParsing
import Container
import Foundation
import VaultMount
import VaultStore

/// `claude-env start`: the project's container, with the vault mounted in it.
enum StartCommand {
    static let command = Command(
        name: "start",
        abstract: "Open a shell (or run a command) in this project's container, vault mounted.",
        discussion: """
            Mounts the vault if it is not mounted (only then is the password asked), builds \
            the image if it is missing or its Dockerfile changed, and starts the project's \
            container, or joins it when it already runs: a second terminal gets a second \
            session in the same container, which stops when the last session leaves.

            The container runs as your uid and gid with no capabilities and no way to gain \
            any. It sees the project at /workspace and the vault at /claude-env, where HOME \
            is (/claude-env/home). The project's _docs links to repos/<project id> in the \
            vault, and is listed in .git/info/exclude. An API key stored at bootstrap reaches \
            Claude Code through an apiKeyHelper in its settings, never the environment.

            The project is the git work tree around the current directory, else the \
            directory itself. With -- COMMAND, the command runs instead of a shell and its \
            exit status is start's.
            """,
        options: [
            VaultAccess.volumeOption, Workbench.engineOption, Workbench.imageOption,
            Workbench.networkOption, VaultAccess.acceptStaleOption,
        ] + PasswordInput.options,
        examples: [
            Example("claude-env start", "A shell in this project's container; run 'claude' there."),
            Example(
                "claude-env start -- claude --continue",
                "Run Claude Code directly, continuing the last conversation."),
            Example(
                "claude-env start --image my-claude:1 --network none",
                "Run a prebuilt image with no network at all."),
        ],
        trailingWordsName: "COMMAND")

    static func run(
        _ arguments: ParsedArguments, path commandPath: [String], context: CommandContext
    ) throws -> Int32 {
        let workbench = Workbench(context: context)
        let vaultID = try workbench.vaultID(
            arguments,
            ifMissing: "create one with 'claude-env bootstrap', or name yours with --volume FILE")
        let project = Project.locate(from: FileManager.default.currentDirectoryPath)
        try checkWorkspace(project.root, context: context)
        // The engine before the password: a missing engine is found without typing anything.
        let engine = try workbench.engine(arguments, path: commandPath)
        let mountpoint = MountPoint.path(forVaultID: vaultID)
        try ensureMounted(
            mountpoint, engine: engine, arguments: arguments, context: context)

        let image: String
        if let named = arguments.value("image") ?? workbench.locations.setting("image") {
            guard engine.hasImage(named) else {
                throw CommandFailure(
                    "the image \(named) is not in \(engine.kind.rawValue); build or load it "
                        + "first, or leave out --image (and any image= line in "
                        + "\(workbench.locations.configFile)) to use the embedded Dockerfile",
                    status: .noInput)
            }
            image = named
        } else {
            let recipe = workbench.recipe
            if workbench.imageState(engine, recipe) != .fresh {
                try workbench.build(engine, recipe, noCache: false)
            }
            image = recipe.tag
        }

        do {
            if let warning = try ShadowDocs.prepare(project, vaultMountpoint: mountpoint) {
                context.console.writeError("warning: \(warning)\n")
            }
            if try ClaudeSettings.ensureAPIKeyHelper(vaultMountpoint: mountpoint) == .added {
                context.console.writeError(
                    "Claude Code will read the stored API key through apiKeyHelper in "
                        + "~/.claude/settings.json\n")
            }
        } catch {
            throw CommandFailure(error.message, status: .ioError)
        }
        try? FileManager.default.createDirectory(
            atPath: mountpoint + "/home", withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])

        let name = project.containerName
        let sessions = try joinSessions(name, workbench: workbench)
        let outcome = Result { () throws(ContainerError) -> Int32 in
            try sessions.whileStarting { () throws(ContainerError) in
                try ensureRunning(
                    name, image: image, project: project, mountpoint: mountpoint, vaultID: vaultID,
                    engine: engine,
                    network: arguments.value("network") ?? workbench.locations.setting("network"),
                    context: context)
            }
            var environment: [(String, String)] = []
            if let term = context.environment["TERM"] { environment.append(("TERM", term)) }
            return try engine.runAttached(
                engine.commandLine.exec(
                    name, command: arguments.trailingWords,
                    terminal: context.hasTerminal && isatty(1) == 1, environment: environment))
        }
        // The last one out stops it, unless it is gone already (a failed start, lock).
        if sessions.leave(), engine.state(of: name)?.isRunning == true {
            do {
                try engine.run(engine.commandLine.stop([name]))
            } catch {
                context.console.writeError("warning: could not stop \(name): \(error.message)\n")
            }
        }
        switch outcome {
        case .success(let status): return status
        case .failure(let error): throw CommandFailure(error.message, status: .unavailable)
        }
    }

    /// The project directory must be one a container may see all of.
    private static func checkWorkspace(_ root: String, context: CommandContext) throws {
        let home = context.environment["HOME"].map {
            URL(fileURLWithPath: $0).standardizedFileURL.path
        }
        if root == "/" || root == home {
            throw CommandFailure(
                "\(root) is not a project: the container would see all of it. Run start from "
                    + "a project's directory.",
                status: .usage)
        }
        if root.contains(",") || root.contains("\n") {
            throw CommandFailure(
                "the project path \(root) has a comma or newline, which engine mount options "
                    + "cannot carry; rename or move it",
                status: .usage)
        }
    }

    /// Mounts the vault unless it is mounted and usable by `engine`.
    static func ensureMounted(
        _ mountpoint: String, engine: ContainerEngine, arguments: ParsedArguments,
        context: CommandContext
    ) throws {
        // Every engine sets a container up as another uid than the user's: a rootful one as
        // root, a rootless Podman as root of the user's namespace, mapped to a subordinate
        // uid. FUSE refuses both unless the mount allows other users.
        let needsAllowOther = getuid() != 0
        if let options = MountPoint.options(ofMountAt: mountpoint), MountPoint.answers(mountpoint) {
            if needsAllowOther && !options.contains("allow_other") {
                throw CommandFailure(
                    "the vault is mounted without allow_other, which \(engine.kind.rawValue) "
                        + "needs to reach it; run 'claude-env unmount', then start again",
                    status: .unavailable)
            }
            return
        }
        if needsAllowOther && !MountCommand.userAllowOther() {
            throw CommandFailure(
                "\(engine.kind.rawValue) can reach the vault only through a mount with "
                    + "allow_other. That needs " + MountCommand.userAllowOtherFix,
                status: .unavailable)
        }
        let status = try MountCommand.startInBackground(
            arguments, context: context, allowOther: needsAllowOther)
        guard status == ExitCode.success.rawValue else {
            throw CommandFailure("the vault could not be mounted", status: .failure)
        }
    }

    /// Joins the container's sessions; see ``SessionLock``.
    private static func joinSessions(_ name: String, workbench: Workbench) throws -> SessionLock {
        let directory = workbench.locations.stateDirectory + "/sessions"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        do {
            return try SessionLock(path: directory + "/" + name + ".lock")
        } catch {
            throw CommandFailure(error.message, status: .ioError)
        }
    }

    /// Starts the container unless it runs already for this project.
    private static func ensureRunning(
        _ name: String, image: String, project: Project, mountpoint: String, vaultID: [UInt8],
        engine: ContainerEngine, network: String?, context: CommandContext
    ) throws(ContainerError) {
        let line = engine.commandLine
        let vault = MountPoint.identifier(forVaultID: vaultID)
        if let state = engine.state(of: name) {
            if state.isRunning {
                guard state.workspace == project.root, state.vault == vault else {
                    throw ContainerError(
                        .engineFailed,
                        "a container named \(name) runs, but for another project or vault; stop "
                            + "it with '\(engine.kind.rawValue) stop \(name)' and start again")
                }
                return
            }
            // Stopped but not yet removed.
            _ = try? engine.run(line.remove(name))
        }
        let spec = ContainerSpec(
            name: name, image: image, workspace: project.root, vaultMountpoint: mountpoint,
            uid: getuid(), gid: getgid(), network: network,
            labels: [
                (EngineCommandLine.Label.vault, vault),
                (EngineCommandLine.Label.project, project.id),
                (EngineCommandLine.Label.workspace, project.root),
            ],
            environment: [
                ("HOME", ContainerSpec.homePath),
                ("USER", context.environment["USER"] ?? "claude"),
                ("CLAUDE_CONFIG_DIR", ClaudeSettings.configDirectory),
                ("DISABLE_AUTOUPDATER", "1"),
            ])
        try engine.run(line.run(spec))
        // An engine whose mount namespace was copied before the vault was mounted, from a
        // host where mounts do not propagate, binds the empty directory under the mount.
        let probe = line.exec(
            name, command: ["/bin/sh", "-c", "test -d \(ContainerSpec.homePath)"], terminal: false,
            environment: [])
        if (try? engine.run(probe)) == nil {
            _ = try? engine.run(line.stop([name]))
            var advice = "make / a shared mount ('sudo mount --make-rshared /', as systemd does)"
            if engine.kind == .podman && engine.isRootless {
                advice =
                    "run 'podman system migrate' (it stops your running Podman containers) so "
                    + "that Podman sees the mount, and " + advice
                    + " so that it keeps seeing new ones"
            }
            throw ContainerError(
                .engineFailed,
                "the container does not see the vault at \(ContainerSpec.vaultPath): the "
                    + "engine's mount namespace predates the mount and does not receive new "
                    + "mounts. To fix it, \(advice); then start again.")
        }
    }
}
