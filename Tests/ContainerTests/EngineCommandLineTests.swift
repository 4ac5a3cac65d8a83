import Container
import Foundation
import Testing

/// Golden files live beside this source file; `UPDATE_GOLDEN=1` rewrites them.
private func checkGolden(_ actual: String, _ name: String) throws {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/\(name)")
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
        try actual.write(to: file, atomically: true, encoding: .utf8)
    }
    #expect(actual == (try String(contentsOf: file, encoding: .utf8)), "golden \(name)")
}

/// One argument per line, so that a golden diff points at the word that changed.
private func lines(_ words: [String]) -> String { words.joined(separator: "\n") + "\n" }

private let spec = ContainerSpec(
    name: "claude-env-github.com-user-repo-1a2b3c4d", image: "claude-env:0123456789ab",
    workspace: "/home/ada/src/repo", vaultMountpoint: "/tmp/claude-env-a1b2c3d4e5f6",
    uid: 1000, gid: 1000, network: nil,
    labels: [
        ("org.claude-env.vault", "a1b2c3d4e5f6"),
        ("org.claude-env.project", "github.com-user-repo"),
    ],
    environment: [("HOME", "/claude-env/home"), ("USER", "ada")])

@Suite("engine command lines")
struct EngineCommandLineTests {
    @Test("docker run: host uid, no capabilities, only the two mounts, the keeper as PID 1")
    func dockerRun() throws {
        try checkGolden(
            lines(EngineCommandLine(kind: .docker, isRootless: false).run(spec)), "docker-run.txt")
    }

    @Test("rootless podman keeps the user's id inside; a chosen network is passed on")
    func podmanRun() throws {
        var networked = spec
        networked.network = "none"
        try checkGolden(
            lines(EngineCommandLine(kind: .podman, isRootless: true).run(networked)),
            "podman-run.txt")
    }

    @Test("rootful podman needs no user namespace flag")
    func rootfulPodman() {
        let words = EngineCommandLine(kind: .podman, isRootless: false).run(spec)
        #expect(!words.contains("--userns"))
        #expect(EngineCommandLine(kind: .podman, isRootless: true).run(spec).contains("keep-id"))
    }

    @Test(
        "exec: a login shell by default, the command as given otherwise, a tty only on a terminal")
    func exec() throws {
        let line = EngineCommandLine(kind: .docker, isRootless: false)
        try checkGolden(
            lines(
                line.exec(spec.name, command: [], terminal: true, environment: [("TERM", "xterm")])),
            "docker-exec-shell.txt")
        let command = line.exec(
            spec.name, command: ["sh", "-c", "exit 3"], terminal: false, environment: [])
        #expect(
            command == [
                "exec", "--interactive", "--workdir", "/workspace", spec.name, "sh", "-c", "exit 3",
            ])
    }

    @Test("build: the recipe's tag, its labels, the version as a build argument")
    func build() throws {
        let recipe = ImageRecipe(
            dockerfile: "FROM scratch\n", claudeCodeVersion: "2.0.14",
            baseImage: "mirror.example:5000/node:22-bookworm-slim")
        try checkGolden(
            lines(
                EngineCommandLine(kind: .docker, isRootless: false).build(
                    recipe, contextDirectory: "/tmp/ctx", noCache: true)),
            "docker-build.txt")
    }
}

@Suite("image recipe")
struct ImageRecipeTests {
    @Test("the embedded Dockerfile is the top-level Dockerfile, byte for byte")
    func embeddedCopy() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Dockerfile").standardizedFileURL
        let onDisk = try String(contentsOf: file, encoding: .utf8)
        #expect(
            ImageRecipe.embeddedDockerfile == onDisk,
            "the Dockerfile changed: run Scripts/embed-dockerfile.sh")
    }

    @Test("a changed Dockerfile or version gets a new tag; the same recipe the same one")
    func tags() {
        let base = ImageRecipe(dockerfile: "FROM a\n", claudeCodeVersion: "latest")
        #expect(base.tag == ImageRecipe(dockerfile: "FROM a\n", claudeCodeVersion: "latest").tag)
        #expect(base.tag != ImageRecipe(dockerfile: "FROM b\n", claudeCodeVersion: "latest").tag)
        #expect(base.tag != ImageRecipe(dockerfile: "FROM a\n", claudeCodeVersion: "1.0.0").tag)
        #expect(
            base.tag
                != ImageRecipe(
                    dockerfile: "FROM a\n", claudeCodeVersion: "latest", baseImage: "mirror/node:22"
                ).tag)
        #expect(base.tag.hasPrefix("claude-env:") && base.tag.count == "claude-env:".count + 12)
        #expect(base.dockerfileHash.count == 64)
    }

    @Test("versions are npm versions, never shell text")
    func versions() {
        #expect(ImageRecipe.isValidVersion("2.0.14"))
        #expect(ImageRecipe.isValidVersion("latest"))
        #expect(ImageRecipe.isValidVersion("1.0.0-beta.1"))
        #expect(!ImageRecipe.isValidVersion(""))
        #expect(!ImageRecipe.isValidVersion("1; rm -rf /"))
        #expect(!ImageRecipe.isValidVersion("$(id)"))
    }
}

@Suite("container state")
struct ContainerStateTests {
    @Test("the engine's answer is read back, a workspace with spaces included")
    func parsing() {
        #expect(
            ContainerState(parsing: "true a1b2c3d4e5f6 /home/ada/my project\n")
                == ContainerState(
                    isRunning: true, vault: "a1b2c3d4e5f6", workspace: "/home/ada/my project"))
        #expect(
            ContainerState(parsing: "false  /x")
                == ContainerState(isRunning: false, vault: "", workspace: "/x"))
        #expect(ContainerState(parsing: "") == nil)
        #expect(ContainerState(parsing: "Error: no such container") == nil)
    }
}
