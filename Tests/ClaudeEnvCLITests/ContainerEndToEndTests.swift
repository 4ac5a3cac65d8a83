import Container
import Foundation
import Glibc
import Platform
import Testing
import VaultMount
import VaultStore

/// The engines to run the end-to-end suite against; an engine that does not answer is skipped
/// unless `CLAUDE_ENV_REQUIRE_ENGINES=1` (CI), when it fails the suite.
private let environment = ProcessInfo.processInfo.environment
private let requireEngines = environment["CLAUDE_ENV_REQUIRE_ENGINES"] == "1"
private let searchPath = environment["PATH"] ?? "/usr/bin:/bin"

/// A tiny image made here from busybox, since no registry can be reached.
private let testImage = "claude-env-test:busybox"

@Suite(
    "bootstrap, start, join, lock with a real container engine", .serialized,
    .enabled(if: access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse"))
struct ContainerEndToEndTests {
    @Test("the whole workflow", arguments: EngineKind.allCases)
    func workflow(kind: EngineKind) throws {
        guard let engine = answeringEngine(kind) else { return }
        try makeTestImage(engine)
        let world = try World(engine: engine, user: nil)
        defer { world.remove() }
        try world.run(engine)
    }

    /// A rootful Docker daemon reaches the mount as root: for an ordinary user that takes
    /// `allow_other`, which /etc/fuse.conf must allow (CI sets `user_allow_other`).
    @Test(
        "the whole workflow as an ordinary user with a rootful Docker",
        .enabled(
            if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0
                && ordinaryUsersCanOpenFuse() && fuseAllowsOther(),
            "needs root (to become uid 65534), setpriv, /dev/fuse open to users, user_allow_other"))
    func ordinaryUser() throws {
        guard let engine = answeringEngine(.docker) else { return }
        let socketGroup = try #require(
            dockerSocketGroup(), "the Docker socket must belong to a group the user can join")
        try makeTestImage(engine)
        let world = try World(engine: engine, user: (65534, 65534, socketGroup))
        defer { world.remove() }
        try world.run(engine)
    }

    /// Rootless Podman runs the container in the user's own user namespace; the user needs
    /// subordinate ids (CI makes a user for it and names it in `CLAUDE_ENV_ROOTLESS_USER`).
    @Test(
        "the whole workflow as an ordinary user with rootless Podman",
        .enabled(
            if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0
                && access("/usr/bin/newuidmap", X_OK) == 0 && ordinaryUsersCanOpenFuse()
                && fuseAllowsOther() && rootlessUser() != nil,
            "needs root, setpriv, newuidmap, user_allow_other and CLAUDE_ENV_ROOTLESS_USER"))
    func rootlessPodman() throws {
        let user = try #require(rootlessUser())
        guard
            let program = ContainerEngine.findExecutable("podman", in: searchPath)
        else {
            if requireEngines { Issue.record("podman is required") }
            return
        }
        let engine = ContainerEngine(
            kind: .podman, program: program, isRootless: true, environment: environment)
        let world = try World(engine: engine, user: (user.uid, user.gid, nil))
        defer { world.remove() }
        let rootless = try world.engineCommand(engine.commandLine.rootlessProbe())
        try #require(rootless.hasPrefix("true"), "podman is not rootless for the user: \(rootless)")
        try makeTestImage(engine, named: testImage, scripts: [:]) { tar in
            try world.engineCommand(["import", tar, testImage])
        }
        try world.run(engine)
    }

    /// build-image builds the real embedded Dockerfile. The two steps that need the internet
    /// (apt and npm) meet stand-ins in a local base image, given with --base-image.
    @Test(
        "build-image builds, labels and tags the embedded Dockerfile; start runs it",
        arguments: EngineKind.allCases)
    func buildImage(kind: EngineKind) throws {
        guard let engine = answeringEngine(kind) else { return }
        let standIn = "claude-env-test:node-stand-in"
        try makeTestImage(
            engine, named: standIn,
            scripts: [
                "usr/bin/apt-get": "echo apt-get stand-in \"$@\"",
                "usr/bin/npm": """
                echo "$@" >>/npm-calls
                if [ "$1" = install ]; then
                    mkdir -p /usr/local/bin
                    printf '#!/bin/sh\\necho claude stand-in\\n' >/usr/local/bin/claude
                    chmod 755 /usr/local/bin/claude
                fi
                """,
            ])
        let world = try World(engine: engine, user: nil)
        defer { world.remove() }
        let recipe = ImageRecipe(baseImage: standIn)
        defer { _ = try? engine.run(["rmi", "--force", recipe.tag]) }

        let built = try world.claudeEnv(["build-image", "--base-image", standIn], password: false)
        #expect(built.status == 0, "\(built.outputText)\(built.errorText)")
        #expect(built.errorText.contains("built \(recipe.tag)"))
        let labels = try engine.run([
            "image", "inspect", "--format",
            "{{index .Config.Labels \"\(EngineCommandLine.Label.dockerfile)\"}}", recipe.tag,
        ])
        #expect(labels.trimmingCharacters(in: .whitespacesAndNewlines) == recipe.dockerfileHash)
        let again = try world.claudeEnv(["build-image"], password: false)
        #expect(again.errorText.contains("\(recipe.tag) is up to date"), "\(again.errorText)")

        #expect(try world.claudeEnv(["bootstrap"]).status == 0)
        let ran = try world.start(
            "echo $DISABLE_AUTOUPDATER $CLAUDE_CONFIG_DIR; claude; cat /npm-calls", image: nil)
        #expect(ran.status == 0, "\(ran.errorText)")
        #expect(
            ran.outputText
                == "1 /claude-env/home/.claude\nclaude stand-in\n"
                + "install --global @anthropic-ai/claude-code@latest\ncache clean --force\n")
        #expect(try world.claudeEnv(["status"], password: false).outputText.contains("up to date"))
    }

    /// Imports a root filesystem of busybox and its applets as `testImage`.
    private func makeTestImage(_ engine: ContainerEngine) throws {
        try makeTestImage(engine, named: testImage, scripts: [:])
    }

    /// Imports a root filesystem of busybox, its applets and `scripts` (shell scripts by path)
    /// as `name`.
    private func makeTestImage(
        _ engine: ContainerEngine, named name: String, scripts: [String: String],
        importing: ((String) throws -> Void)? = nil
    ) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "claude-env-rootfs-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let busybox = try #require(
            ContainerEngine.findExecutable("busybox", in: searchPath + ":/bin:/usr/bin"),
            "busybox is needed for the test image (apt-get install busybox-static)")
        try FileManager.default.createDirectory(
            atPath: root + "/rootfs/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: root + "/rootfs/etc", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: busybox, toPath: root + "/rootfs/bin/busybox")
        let applets = try Subprocess.run(busybox, ["--list"]).outputText
        for applet in applets.split(separator: "\n") where applet != "busybox" {
            try FileManager.default.createSymbolicLink(
                atPath: root + "/rootfs/bin/\(applet)", withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\n".write(
            toFile: root + "/rootfs/etc/passwd", atomically: true, encoding: .utf8)
        for (path, script) in scripts {
            let file = root + "/rootfs/" + path
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            try ("#!/bin/sh\n" + script + "\n").write(
                toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o755)
        }
        let tar = try Subprocess.run(
            "tar", ["-C", root + "/rootfs", "-cf", root + "/rootfs.tar", "."])
        try #require(tar.status == 0, "tar: \(tar.errorText)")
        if let importing {
            try importing(root + "/rootfs.tar")
        } else {
            try engine.run(["import", root + "/rootfs.tar", name])
        }
    }
}

/// The engine of `kind` if it answers. When it does not, the test is skipped, or fails when
/// engines are required.
private func answeringEngine(_ kind: EngineKind) -> ContainerEngine? {
    do {
        return try ContainerEngine.detect(
            preferred: kind, searchPath: searchPath, environment: environment)
    } catch {
        if requireEngines { Issue.record("\(kind.rawValue) is required: \(error)") }
        return nil
    }
}

/// The user named by `CLAUDE_ENV_ROOTLESS_USER`, when it exists.
private func rootlessUser() -> (uid: UInt32, gid: UInt32)? {
    guard let name = environment["CLAUDE_ENV_ROOTLESS_USER"], let entry = getpwnam(name) else {
        return nil
    }
    return (entry.pointee.pw_uid, entry.pointee.pw_gid)
}

private func fuseAllowsOther() -> Bool {
    let text = (try? String(contentsOfFile: "/etc/fuse.conf", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").contains {
        $0.trimmingCharacters(in: .whitespaces) == "user_allow_other"
    }
}

/// The group of the Docker socket, when it is a Unix socket that group members may use.
private func dockerSocketGroup() -> UInt32? {
    let host = environment["DOCKER_HOST"] ?? "unix:///var/run/docker.sock"
    guard host.hasPrefix("unix://") else { return nil }
    var status = stat()
    guard stat(String(host.dropFirst("unix://".count)), &status) == 0,
        status.st_mode & 0o060 == 0o060, status.st_gid != 0
    else { return nil }
    return status.st_gid
}

/// A user's world: a home with a vault, a project with a git remote, a sibling project and
/// a private file in the home, none of which the container may see. With `user`, every
/// command runs as that uid and gid (and the extra group that reaches the engine).
private struct World {
    let engine: ContainerEngine
    let user: (uid: UInt32, gid: UInt32, group: UInt32?)?
    let base: String
    var home: String { base + "/home" }
    var project: String { base + "/projects/app" }
    var sibling: String { base + "/projects/other" }
    var passwordFile: String { base + "/password" }
    var vault: String { home + "/.local/share/claude-env/claude-env.vault" }
    let marker = "marker-\(UUID().uuidString)"
    let apiKey = "sk-test-\(UUID().uuidString)"

    var uid: UInt32 { user?.uid ?? getuid() }
    var gid: UInt32 { user?.gid ?? getgid() }

    init(engine: ContainerEngine, user: (uid: UInt32, gid: UInt32, group: UInt32?)?) throws {
        self.engine = engine
        self.user = user
        base =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "claude-env-e2e-\(UUID().uuidString)"
            ).path
        for directory in [home, project + "/src", sibling] {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true)
        }
        try "first password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try "private\n".write(toFile: home + "/private-note", atomically: true, encoding: .utf8)
        try "other\n".write(toFile: sibling + "/secret", atomically: true, encoding: .utf8)
        try "code\n".write(toFile: project + "/src/main.c", atomically: true, encoding: .utf8)
        try apiKey.write(toFile: base + "/api-key", atomically: true, encoding: .utf8)
        let git = try Subprocess.run("git", ["init", "-q", project])
        try #require(git.status == 0, "git init: \(git.errorText)")
        let remote = try Subprocess.run(
            "git", ["-C", project, "remote", "add", "origin", "git@github.com:ada/app.git"])
        try #require(remote.status == 0)
        if let user {
            try FileManager.default.copyItem(
                atPath: productsDirectory.appendingPathComponent("claude-env").path,
                toPath: base + "/claude-env")
            #expect(chownRecursively(base, uid: user.uid) == 0)
        }
    }

    func remove() {
        _ = try? claudeEnv(["lock"], password: false)
        // Whatever the test did, it leaves no mount behind.
        if let vaultID = PageStore.peekVaultID(atPath: vault) {
            #expect(!MountPoint.isMounted(MountPoint.path(forVaultID: vaultID)), "left mounted")
        }
        try? FileManager.default.removeItem(atPath: base)
    }

    /// Runs `arguments` in the project directory, as the user when there is one, with the
    /// environment a user of the engine has.
    func runHere(_ arguments: [String]) throws -> Subprocess.Result {
        var variables = [
            "HOME": home, "PATH": searchPath, "CLAUDE_ENV_ENGINE": engine.kind.rawValue,
        ]
        for name in ["DOCKER_HOST", "CONTAINERS_CONF"] { variables[name] = environment[name] }
        guard let user else {
            return try Subprocess.run(
                "/usr/bin/env", ["-C", project] + arguments, environment: variables)
        }
        let assignments = variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let groups = user.group.map { "--groups=\($0)" } ?? "--clear-groups"
        return try Subprocess.run(
            "/usr/bin/setpriv",
            [
                "--reuid=\(user.uid)", "--regid=\(user.gid)", groups, "/usr/bin/env", "-i", "-C",
                project,
            ]
                + assignments + arguments)
    }

    /// Runs the real program, as the user would.
    func claudeEnv(_ words: [String], password: Bool = true) throws -> Subprocess.Result {
        // The user cannot reach the build directory: it runs its own copy of the program.
        let binary =
            user == nil
            ? productsDirectory.appendingPathComponent("claude-env").path
            : base + "/claude-env"
        // The password option goes before any `-- COMMAND`.
        var arguments = [binary] + words
        if password {
            arguments.insert(
                contentsOf: ["--password-file", passwordFile],
                at: arguments.firstIndex(of: "--") ?? arguments.endIndex)
        }
        return try runHere(arguments)
    }

    /// An engine command as the user runs it (a rootless engine has the user's containers).
    @discardableResult
    func engineCommand(_ arguments: [String]) throws -> String {
        let result = try runHere([engine.program] + arguments)
        try #require(result.status == 0, "\(arguments): \(result.errorText)")
        return result.outputText
    }

    /// `start -- /bin/sh -c script` in `image`, or in the built one when nil.
    func start(_ script: String, password: Bool = true, image: String? = testImage) throws
        -> Subprocess.Result
    {
        let chosen = image.map { ["--image", $0] } ?? []
        return try claudeEnv(
            ["start"] + chosen + ["--network", "none", "--", "/bin/sh", "-c", script],
            password: password)
    }

    func run(_ engine: ContainerEngine) throws {
        let bootstrap = try claudeEnv(["bootstrap", "--api-key-file", base + "/api-key"])
        try #require(bootstrap.status == 0, "bootstrap: \(bootstrap.errorText)")
        let vaultID = try #require(PageStore.peekVaultID(atPath: vault))
        let mountpoint = MountPoint.path(forVaultID: vaultID)
        let label =
            "label=\(EngineCommandLine.Label.vault)=\(MountPoint.identifier(forVaultID: vaultID))"

        // Inside: HOME in the vault, the host's ids, no capabilities, only the two mounts.
        let expectedMounts = [ContainerSpec.vaultPath, mountpoint, ContainerSpec.workspacePath]
            .sorted().joined(separator: " ")
        let checks = """
            fail=0
            check() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1"; fail=1; fi; }
            check home '[ "$HOME" = /claude-env/home ] && [ -d "$HOME" ]'
            check user '[ "$(id -u):$(id -g)" = "\(uid):\(gid)" ]'
            check capabilities 'grep -q "^CapEff:[[:space:]]*0000000000000000$" /proc/self/status'
            check no-new-privileges 'grep -q "^NoNewPrivs:[[:space:]]*1$" /proc/self/status'
            mounts=$(cut -d" " -f5 /proc/self/mountinfo \\
                | grep -vE '^/$|^/(proc|sys|dev)(/|$)|^/etc/(hostname|hosts|resolv.conf)$|^/run/.containerenv$|^/tmp$' \\
                | sort | tr "\\n" " ")
            check only-two-mounts '[ "$mounts" = "\(expectedMounts) " ]'
            check no-host-home '[ ! -e \(home)/private-note ]'
            check no-sibling '[ ! -e \(sibling) ]'
            check no-shadow '[ ! -e /etc/shadow ]'
            check workspace '[ "$(cat /workspace/src/main.c)" = code ] && [ "$PWD" = /workspace ]'
            check docs-link '[ -d /workspace/_docs ]'
            echo \(marker) > "$HOME/marker.txt"
            echo \(marker)-docs > /workspace/_docs/notes.md
            check writes '[ "$(cat "$HOME/marker.txt")" = \(marker) ]'
            helper=$(sed -n 's/.*"apiKeyHelper" *: *"\\(.*\\)".*/\\1/p' "$CLAUDE_CONFIG_DIR/settings.json")
            check api-key-helper '[ "$(sh -c "$helper")" = \(apiKey) ]'
            check key-not-in-environment '! env | grep -q sk-test'
            exit $fail
            """
        let inside = try start(checks)
        #expect(inside.status == 0, "\(inside.outputText)\(inside.errorText)")
        #expect(!inside.outputText.contains("FAIL"), "\(inside.outputText)")
        #expect(inside.outputText.contains("ok only-two-mounts"))

        // The command's exit status is start's; the vault stays mounted; _docs works on the host.
        #expect(try start("exit 7").status == 7)
        #expect(MountPoint.isMounted(mountpoint))
        let docs = try String(contentsOfFile: project + "/_docs/notes.md", encoding: .utf8)
        #expect(docs == marker + "-docs\n")
        let exclude = try String(contentsOfFile: project + "/.git/info/exclude", encoding: .utf8)
        #expect(exclude.contains("/_docs\n"))
        #expect(!FileManager.default.fileExists(atPath: project + "/.gitignore"))

        // A second start joins the first one's container; it keeps running for the first.
        // The first session holds on until the host releases it, whatever the machine's speed.
        let first = Background {
            try start(
                "touch /tmp/first-session /workspace/.first-in; i=0; "
                    + "while [ ! -e /workspace/.release ] && [ $i -lt 120 ]; do sleep 1; i=$((i+1)); done"
            )
        }
        try #require(
            first.waitForFile(project + "/.first-in", seconds: 120),
            "the first session never started: \(first.result.map { $0.outputText + $0.errorText } ?? "")"
        )
        let joined = try start("[ -e /tmp/first-session ]")
        #expect(joined.status == 0, "the second start did not join the first: \(joined.errorText)")
        let running = try engineCommand(["ps", "--filter", label, "--format", "{{.Names}}"])
            .split(separator: "\n").map(String.init)
        #expect(running.count == 1, "\(running)")
        if let name = running.first {
            let inspected = try engineCommand(["inspect", name])
            #expect(!inspected.contains(apiKey), "the API key shows in inspect")
        }
        FileManager.default.createFile(atPath: project + "/.release", contents: nil)
        #expect(first.wait()?.status == 0)
        // The last session out stopped it.
        #expect(try engineCommand(["ps", "--filter", label, "--format", "{{.Names}}"]).isEmpty)

        // Two starts at the same instant share one container; neither fails.
        let together = (0..<2).map { _ in Background { try start("true") } }
        for session in together {
            let result = session.wait()
            #expect(result?.status == 0, "\(result?.errorText ?? "did not run")")
        }

        // lock stops a container in use, unmounts, and the vault holds the markers encrypted.
        let busy = Background { try start("touch /workspace/.busy; sleep 120") }
        try #require(
            busy.waitForFile(project + "/.busy", seconds: 120), "the busy session never started")
        let lock = try claudeEnv(["lock"], password: false)
        #expect(lock.status == 0, "\(lock.errorText)")
        #expect(lock.errorText.contains("stopped claude-env-github.com-ada-app-"))
        _ = busy.wait()
        #expect(try engineCommand(["ps", "--filter", label, "-q"]).isEmpty)
        #expect(!MountPoint.isMounted(mountpoint))
        let raw = try Data(contentsOf: URL(fileURLWithPath: vault))
        #expect(raw.range(of: Data(marker.utf8)) == nil, "the marker is in the vault in plaintext")
        #expect(raw.range(of: Data(apiKey.utf8)) == nil, "the API key is in the vault in plaintext")
        let stored = try claudeEnv(["vault", "cat", "home/marker.txt"])
        #expect(stored.outputText == marker + "\n")

        // The next start needs the password again, and finds everything.
        let refused = try start("true", password: false)
        #expect(refused.status != 0)
        #expect(refused.errorText.contains("password"), "\(refused.errorText)")
        let again = try start(
            "cat \"$HOME/marker.txt\" /workspace/_docs/notes.md")
        #expect(again.status == 0, "\(again.errorText)")
        #expect(again.outputText == "\(marker)\n\(marker)-docs\n")
        #expect(try claudeEnv(["lock"], password: false).status == 0)
        #expect(!MountPoint.isMounted(mountpoint))
    }
}

/// Runs `body` on a thread of its own; `wait` returns its result.
private final class Background: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var finished: Subprocess.Result??

    init(_ body: @escaping @Sendable () throws -> Subprocess.Result) {
        Thread.detachNewThread { [self] in
            let outcome = try? body()
            lock.withLock { finished = .some(outcome) }
            done.signal()
        }
    }

    /// What `body` returned, once it has.
    var result: Subprocess.Result? { lock.withLock { finished ?? nil } }
    private var isDone: Bool { lock.withLock { finished != nil } }

    func wait() -> Subprocess.Result? {
        done.wait()
        done.signal()
        return result
    }

    /// Waits until `path` exists; false if `body` ends first or time runs out.
    func waitForFile(_ path: String, seconds: Int) -> Bool {
        for _ in 0..<(seconds * 10) {
            if FileManager.default.fileExists(atPath: path) { return true }
            if isDone { return FileManager.default.fileExists(atPath: path) }
            usleep(100_000)
        }
        return false
    }
}
