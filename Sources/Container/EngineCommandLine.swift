/// What claude-env asks a container to be.
public struct ContainerSpec: Sendable {
    public var name: String
    public var image: String
    /// The project directory on the host, seen as `/workspace`.
    public var workspace: String
    /// Where the vault is mounted on the host, seen as `/claude-env` and at its own path.
    public var vaultMountpoint: String
    public var uid: UInt32
    public var gid: UInt32
    /// The network to join, or nil for the engine's default (a bridge of its own).
    public var network: String?
    public var labels: [(String, String)]
    public var environment: [(String, String)]

    public init(
        name: String, image: String, workspace: String, vaultMountpoint: String, uid: UInt32,
        gid: UInt32, network: String?, labels: [(String, String)],
        environment: [(String, String)]
    ) {
        self.name = name
        self.image = image
        self.workspace = workspace
        self.vaultMountpoint = vaultMountpoint
        self.uid = uid
        self.gid = gid
        self.network = network
        self.labels = labels
        self.environment = environment
    }

    /// The path inside the container that the vault is mounted at.
    public static let vaultPath = "/claude-env"
    /// The path inside the container that the project is mounted at.
    public static let workspacePath = "/workspace"
    /// `HOME` inside the container: in the vault.
    public static let homePath = "/claude-env/home"
}

/// The engine command lines claude-env runs, as plain argument lists so that they can be
/// read, and tested against golden text, without an engine.
public struct EngineCommandLine: Sendable, Equatable {
    public var kind: EngineKind
    public var isRootless: Bool

    public init(kind: EngineKind, isRootless: Bool) {
        self.kind = kind
        self.isRootless = isRootless
    }

    /// Most processes a container may hold: enough for a build or a test run, not a fork bomb.
    public static let pidsLimit = 2048

    /// PID 1 of every container: waits, and leaves at once on `stop`. Sessions join it with
    /// `exec`, so none of them owns the container.
    static let keeper = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"

    /// The label that carries each fact claude-env needs to find its containers again.
    public enum Label {
        public static let vault = "org.claude-env.vault"
        public static let project = "org.claude-env.project"
        public static let workspace = "org.claude-env.workspace"
        public static let dockerfile = "org.claude-env.dockerfile-sha256"
        public static let claudeCode = "org.claude-env.claude-code-version"
        public static let baseImage = "org.claude-env.base-image"
    }

    /// Asks whether the engine is rootless; it also fails when the engine does not answer.
    public func rootlessProbe() -> [String] {
        switch kind {
        case .docker: ["info", "--format", "{{json .SecurityOptions}}"]
        case .podman: ["info", "--format", "{{.Host.Security.Rootless}}"]
        }
    }

    /// Starts the container in the background with its keeper as PID 1.
    public func run(_ spec: ContainerSpec) -> [String] {
        var words = [
            "run", "--detach", "--rm", "--name", spec.name, "--hostname", "claude-env",
            "--user", "\(spec.uid):\(spec.gid)",
        ]
        // Rootless Podman maps the user to itself inside, so files keep their owner.
        if kind == .podman && isRootless { words += ["--userns", "keep-id"] }
        words += [
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--pids-limit", String(Self.pidsLimit),
            "--tmpfs", "/tmp:rw,nosuid,nodev,mode=1777",
        ]
        if let network = spec.network { words += ["--network", network] }
        words += [
            "--mount", "type=bind,source=\(spec.workspace),target=\(ContainerSpec.workspacePath)",
            "--mount", "type=bind,source=\(spec.vaultMountpoint),target=\(ContainerSpec.vaultPath)",
            // Also at the host's own path, so that `_docs` resolves on both sides.
            "--mount", "type=bind,source=\(spec.vaultMountpoint),target=\(spec.vaultMountpoint)",
            "--workdir", ContainerSpec.workspacePath,
        ]
        for (key, value) in spec.environment { words += ["--env", "\(key)=\(value)"] }
        for (key, value) in spec.labels { words += ["--label", "\(key)=\(value)"] }
        words += ["--entrypoint", "/bin/sh", spec.image, "-c", Self.keeper]
        return words
    }

    /// A session in a running container: `command`, or a login shell (bash if the image has it).
    public func exec(
        _ name: String, command: [String], terminal: Bool, environment: [(String, String)]
    ) -> [String] {
        var words = ["exec", "--interactive"]
        if terminal { words.append("--tty") }
        words += ["--workdir", ContainerSpec.workspacePath]
        for (key, value) in environment { words += ["--env", "\(key)=\(value)"] }
        words.append(name)
        if command.isEmpty {
            words += [
                "/bin/sh", "-c",
                "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi",
            ]
        } else {
            words += command
        }
        return words
    }

    /// Prints "true" or "false", the vault label and the workspace label; fails if there is
    /// no such container. ``ContainerState`` reads it.
    public func state(_ name: String) -> [String] {
        [
            "inspect", "--type", "container", "--format",
            "{{.State.Running}} {{index .Config.Labels \"\(Label.vault)\"}} "
                + "{{index .Config.Labels \"\(Label.workspace)\"}}",
            name,
        ]
    }

    /// Prints the name of every running container with `label` set to `value`, one per line.
    public func names(withLabel label: String, value: String) -> [String] {
        ["ps", "--filter", "label=\(label)=\(value)", "--format", "{{.Names}}"]
    }

    /// Prints the name of every running container that mounts `path`, one per line.
    public func names(mounting path: String) -> [String] {
        ["ps", "--filter", "volume=\(path)", "--format", "{{.Names}}"]
    }

    /// Prints each container's name and project label, one line each.
    public func projects(_ names: [String]) -> [String] {
        [
            "inspect", "--type", "container", "--format",
            "{{.Name}} {{index .Config.Labels \"\(Label.project)\"}}",
        ] + names
    }

    /// Stops containers, giving each a few seconds to leave cleanly.
    public func stop(_ names: [String]) -> [String] {
        ["stop", "--time", "5"] + names
    }

    /// Removes a stopped container.
    public func remove(_ name: String) -> [String] {
        ["rm", "--force", name]
    }

    /// Prints the image's id; fails if there is none.
    public func imageID(_ image: String) -> [String] {
        ["image", "inspect", "--format", "{{.Id}}", image]
    }

    /// Prints every image claude-env built, as repository:tag.
    public func builtImages() -> [String] {
        ["images", "--filter", "label=\(Label.dockerfile)", "--format", "{{.Repository}}:{{.Tag}}"]
    }

    /// Builds `recipe` from a Dockerfile in an otherwise empty `contextDirectory`.
    public func build(_ recipe: ImageRecipe, contextDirectory: String, noCache: Bool) -> [String] {
        var words = ["build", "--tag", recipe.tag]
        if noCache { words.append("--no-cache") }
        words += [
            "--label", "\(Label.dockerfile)=\(recipe.dockerfileHash)",
            "--label", "\(Label.claudeCode)=\(recipe.claudeCodeVersion)",
            "--build-arg", "CLAUDE_CODE_VERSION=\(recipe.claudeCodeVersion)",
        ]
        if let base = recipe.baseImage {
            words += ["--build-arg", "NODE_IMAGE=\(base)", "--label", "\(Label.baseImage)=\(base)"]
        }
        words += ["--file", contextDirectory + "/Dockerfile", contextDirectory]
        return words
    }
}
