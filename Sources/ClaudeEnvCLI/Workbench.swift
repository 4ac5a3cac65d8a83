import ArgumentParsing
import Container
import Foundation
import VaultStore

/// What the container commands share: choosing the engine, and the image to run.
struct Workbench {
    let context: CommandContext
    let locations: Locations

    init(context: CommandContext) {
        self.context = context
        locations = Locations(environment: context.environment)
    }

    static let engineOption = Option(
        "engine", value: "NAME",
        help: "docker or podman (default: as in the config, else whichever answers, Docker first).")
    static let imageOption = Option(
        "image", value: "NAME",
        help: "Run this prebuilt image instead of the one built from the embedded Dockerfile.")
    static let networkOption = Option(
        "network", value: "NAME",
        help: "The engine network to join (default: network= in the config, else the engine's "
            + "bridge; 'none' for no network).")

    /// The engine: `--engine`, else `CLAUDE_ENV_ENGINE`, else `engine=` in the config, else
    /// whichever answers.
    func engine(_ arguments: ParsedArguments, path: [String]) throws -> ContainerEngine {
        let named =
            arguments.value("engine") ?? context.environment["CLAUDE_ENV_ENGINE"]
            ?? locations.setting("engine")
        var preferred: EngineKind?
        if let named {
            guard let kind = EngineKind(rawValue: named) else {
                throw UsageError("the engine is docker or podman, got '\(named)'", path: path)
            }
            preferred = kind
        }
        return try engine(preferred)
    }

    /// `kind` if it answers, or the first engine that does when `kind` is nil.
    func engine(_ kind: EngineKind?) throws -> ContainerEngine {
        do {
            return try ContainerEngine.detect(
                preferred: kind, searchPath: context.environment["PATH"] ?? "/usr/bin:/bin",
                environment: context.environment)
        } catch {
            throw CommandFailure(error.message, status: .unavailable)
        }
    }

    /// The id of the vault that `--volume` or the config names; a missing file is an error
    /// that ends with `ifMissing`: what it means, and what the user may do.
    func vaultID(_ arguments: ParsedArguments, ifMissing: String) throws -> [UInt8] {
        let path = locations.vaultPath(option: arguments.value("volume"))
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure(
                "there is no vault at \(path); \(ifMissing)",
                status: .noInput)
        }
        guard let vaultID = PageStore.peekVaultID(atPath: path) else {
            throw CommandFailure("\(path) is not a claude-env vault", status: .dataError)
        }
        return vaultID
    }

    /// The recipe of the embedded image, with the Claude Code version from the config.
    var recipe: ImageRecipe {
        ImageRecipe(
            claudeCodeVersion: locations.setting("claude-code-version")
                ?? ImageRecipe.defaultClaudeCodeVersion,
            baseImage: locations.setting("base-image"))
    }

    enum ImageState: Equatable {
        case fresh
        /// Not built; `older` lists images built from earlier recipes.
        case missing(older: [String])
    }

    func imageState(_ engine: ContainerEngine, _ recipe: ImageRecipe) -> ImageState {
        if engine.hasImage(recipe.tag) { return .fresh }
        let built = (try? engine.run(engine.commandLine.builtImages())) ?? ""
        return .missing(
            older: built.split(separator: "\n").map(String.init).filter { $0 != recipe.tag })
    }

    /// Builds `recipe`, streaming the engine's output to the terminal.
    func build(_ engine: ContainerEngine, _ recipe: ImageRecipe, noCache: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "claude-env-build-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700])
            try recipe.dockerfile.write(
                toFile: directory + "/Dockerfile", atomically: true, encoding: .utf8)
        } catch {
            throw CommandFailure(
                "cannot prepare the build in \(directory): \(error.localizedDescription)",
                status: .ioError)
        }
        context.console.writeError(
            "building \(recipe.tag) with \(engine.kind.rawValue) (Claude Code \(recipe.claudeCodeVersion))\n"
        )
        let status: Int32
        do {
            status = try engine.runAttached(
                engine.commandLine.build(recipe, contextDirectory: directory, noCache: noCache))
        } catch {
            throw CommandFailure(error.message, status: .unavailable)
        }
        guard status == 0 else {
            throw CommandFailure(
                "the image build failed (status \(status)); the output above says why. The build "
                    + "needs the internet to fetch the Node image and Claude Code. Without it, "
                    + "build on a mirror's copy of the Node image ('claude-env build-image "
                    + "--base-image NAME'), or run a prebuilt image with --image NAME.",
                status: .failure)
        }
    }
}
