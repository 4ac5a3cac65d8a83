import Foundation
import Platform
import Testing

/// What the container commands say when the machine lacks something, against golden text.
@Suite("container command errors")
struct ContainerErrorTests {
    /// A sandbox whose PATH holds only `bin`, with stand-in engine programs when asked.
    private func world(engines: [String: String] = [:]) throws -> (Sandbox, [String: String]) {
        let sandbox = try Sandbox()
        let bin = sandbox.home + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for (name, script) in engines {
            try ("#!/bin/sh\n" + script + "\n").write(
                toFile: bin + "/" + name, atomically: true, encoding: .utf8)
            chmod(bin + "/" + name, 0o755)
        }
        var environment = sandbox.environment
        environment["PATH"] = bin
        return (sandbox, environment)
    }

    @Test("no engine, a stopped engine, an unknown engine, no vault: each says what to do")
    func messages() throws {
        let (bare, bareEnvironment) = try world()
        defer { bare.remove() }
        let (stopped, stoppedEnvironment) = try world(engines: [
            "docker":
                "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1"
        ])
        defer { stopped.remove() }
        var text = ""
        let cases: [(String, [String], Sandbox, [String: String])] = [
            ("no engine on PATH", ["stop"], bare, bareEnvironment),
            (
                "the engine asked for is missing", ["stop", "--engine", "podman"], bare,
                bareEnvironment
            ),
            ("Docker installed, its daemon stopped", ["stop"], stopped, stoppedEnvironment),
            ("no vault yet", ["start"], bare, bareEnvironment),
            ("no vault for lock", ["lock"], bare, bareEnvironment),
        ]
        for (title, words, sandbox, environment) in cases {
            let result = runCLI(words, environment: environment)
            text += "# \(title)\n$ claude-env \(words.joined(separator: " "))\n"
            text += (result.output + result.error).replacingOccurrences(
                of: sandbox.home, with: "$HOME")
            text += "(exit \(result.status))\n\n"
        }
        let comparison = try Golden.check(text, against: "container-errors.txt")
        #expect(comparison.actual == comparison.expected)
    }

    @Test("start refuses the home directory and the root as a project")
    func refusesHome() throws {
        let (sandbox, environment) = try world(engines: ["docker": "exit 0"])
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        // In a process of its own: the working directory belongs to the whole test process.
        let binary = productsDirectory.appendingPathComponent("claude-env").path
        let result = try Subprocess.run(
            "/usr/bin/env",
            ["-C", sandbox.home, binary, "start", "--password-file", sandbox.passwordFile],
            environment: environment)
        #expect(result.status == 64)
        #expect(result.errorText.contains("is not a project: the container would see all of it"))
    }

    @Test("doctor fails without an engine, and names the fix")
    func doctor() throws {
        let (sandbox, environment) = try world()
        defer { sandbox.remove() }
        let result = runCLI(["doctor"], environment: environment)
        #expect(result.status == 69)
        #expect(result.output.contains("fail engine"))
        #expect(result.output.contains("apt-get install docker.io"))
        #expect(result.output.contains("warn vault"))
    }
}
