import Foundation
import Platform

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The container engines claude-env drives. Both take the same command lines for everything
/// claude-env asks of them, except where ``EngineCommandLine`` says otherwise.
public enum EngineKind: String, CaseIterable, Sendable {
    case docker
    case podman
}

/// A container engine that answered: which one, the program to run, and whether its
/// containers run in the user's own user namespace (rootless) or under a root daemon.
public struct ContainerEngine: Sendable, Equatable {
    public var kind: EngineKind
    /// The engine's client program, as found on `PATH`.
    public var program: String
    /// Whether the engine runs without root privileges. A rootful engine reaches the FUSE
    /// mount as root, which needs the mount's `allow_other`.
    public var isRootless: Bool
    /// The environment the engine's client runs with (`DOCKER_HOST`, `CONTAINERS_CONF`…).
    public var environment: [String: String]

    public init(
        kind: EngineKind, program: String, isRootless: Bool, environment: [String: String]
    ) {
        self.kind = kind
        self.program = program
        self.isRootless = isRootless
        self.environment = environment
    }

    public var commandLine: EngineCommandLine {
        EngineCommandLine(kind: kind, isRootless: isRootless)
    }

    /// Finds the engine to use: `preferred` if given, else Docker when its daemon answers,
    /// else Podman. `searchPath` is the `PATH` to look in.
    public static func detect(
        preferred: EngineKind?, searchPath: String, environment: [String: String]
    ) throws(ContainerError) -> ContainerEngine {
        var failures: [String] = []
        for kind in preferred.map({ [$0] }) ?? EngineKind.allCases {
            guard let program = findExecutable(kind.rawValue, in: searchPath) else { continue }
            let probe = EngineCommandLine(kind: kind, isRootless: false).rootlessProbe()
            let result: Subprocess.Result
            do {
                result = try Subprocess.run(program, probe, environment: environment)
            } catch {
                failures.append("\(kind.rawValue): \(error)")
                continue
            }
            if result.status == 0 {
                let answer = result.outputText.trimmingCharacters(in: .whitespacesAndNewlines)
                let rootless = kind == .docker ? answer.contains("rootless") : answer == "true"
                return ContainerEngine(
                    kind: kind, program: program, isRootless: rootless, environment: environment)
            }
            let detail = result.errorText.trimmingCharacters(in: .whitespacesAndNewlines)
            failures.append("\(kind.rawValue) does not answer: \(detail)")
        }
        if !failures.isEmpty {
            throw ContainerError(
                .engineNotRunning,
                failures.joined(separator: "\n") + "\n"
                    + "Start the engine (for Docker: 'sudo systemctl start docker', or check "
                    + "DOCKER_HOST), or choose the other one with --engine.")
        }
        if let preferred {
            throw ContainerError(
                .engineMissing,
                "\(preferred.rawValue) is not installed (not found on PATH); install it "
                    + "('sudo apt-get install \(preferred == .docker ? "docker.io" : "podman")') "
                    + "or choose another engine with --engine.")
        }
        throw ContainerError(
            .engineMissing,
            "no container engine found on PATH; install Docker ('sudo apt-get install docker.io') "
                + "or Podman ('sudo apt-get install podman').")
    }

    /// The first executable file called `name` in the colon-separated `searchPath`.
    public static func findExecutable(_ name: String, in searchPath: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs an engine command and returns what it printed; a failure becomes an error that
    /// carries the engine's own message.
    @discardableResult
    public func run(_ arguments: [String]) throws(ContainerError) -> String {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(program, arguments, environment: environment)
        } catch {
            throw ContainerError(.engineFailed, "\(error)")
        }
        guard result.status == 0 else {
            let detail = result.errorText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw ContainerError(
                .engineFailed,
                "'\(kind.rawValue) \(arguments.first ?? "")' failed (status \(result.status)): \(detail)"
            )
        }
        return result.outputText
    }

    /// Runs an engine command on this terminal and returns its exit status.
    public func runAttached(_ arguments: [String], input: [UInt8]? = nil) throws(ContainerError)
        -> Int32
    {
        do {
            return try Subprocess.runAttached(
                program, arguments, environment: environment, input: input)
        } catch {
            throw ContainerError(.engineFailed, "\(error)")
        }
    }
}

/// A container as claude-env made it, read back from the engine.
public struct ContainerState: Equatable, Sendable {
    public var isRunning: Bool
    /// The short id of the vault it mounts.
    public var vault: String
    /// The project directory it mounts at /workspace.
    public var workspace: String

    public init(isRunning: Bool, vault: String, workspace: String) {
        self.isRunning = isRunning
        self.vault = vault
        self.workspace = workspace
    }

    /// Reads what ``EngineCommandLine/state(_:)`` prints.
    public init?(parsing text: String) {
        let words = text.trimmingCharacters(in: .newlines).split(
            separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count == 3, words[0] == "true" || words[0] == "false" else { return nil }
        self.init(
            isRunning: words[0] == "true", vault: String(words[1]), workspace: String(words[2]))
    }
}

extension ContainerEngine {
    /// Whether the engine has the image `name`.
    public func hasImage(_ name: String) -> Bool {
        (try? run(commandLine.imageID(name))) != nil
    }

    /// The state of the container `name`, or nil when there is none.
    public func state(of name: String) -> ContainerState? {
        (try? run(commandLine.state(name))).flatMap(ContainerState.init(parsing:))
    }
}
