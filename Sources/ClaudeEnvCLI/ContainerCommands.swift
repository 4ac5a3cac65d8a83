import ArgumentParsing
import Container
import Foundation
import VaultMount
import VaultStore

/// `claude-env stop`, `lock` and `build-image`.
enum ContainerCommands {
    static let stop = Command(
        name: "stop",
        abstract: "Stop this project's container; the vault stays mounted for a quick start.",
        discussion:
            "Every session in the container ends. 'claude-env lock' also unmounts the vault.",
        options: [Workbench.engineOption],
        examples: [Example("claude-env stop", "Stop the container of the project here.")])

    static let lock = Command(
        name: "lock",
        abstract: "Stop every container using the vault, then unmount it and wipe its key.",
        discussion: """
            Finds the vault's containers by their label and by their mounts, whichever \
            project they belong to, and stops them; commits the vault and unmounts it; the \
            serving process wipes the key as it exits. Other containers and the engine itself \
            are left alone. The next start asks for the password again.
            """,
        options: [VaultAccess.volumeOption, Workbench.engineOption],
        examples: [Example("claude-env lock", "Lock the vault at the end of the day.")])

    static let buildImage = Command(
        name: "build-image",
        abstract: "Build the image from the embedded Dockerfile (start does it when needed).",
        discussion: """
            The image is tagged claude-env:<hash> from the Dockerfile and the Claude Code \
            version, so a changed Dockerfile gets a new image on the next start. The build \
            needs the internet (the Node base image and the npm package).
            """,
        options: [
            Option("force", help: "Build even if the image is there, without the build cache."),
            Option(
                "claude-code-version", value: "VERSION",
                help:
                    "The Claude Code version to install, remembered for later builds (default latest)."
            ),
            Option(
                "base-image", value: "NAME",
                help:
                    "Build on this Node image (a mirror's copy, say), remembered for later builds."),
            Option("print-dockerfile", help: "Print the embedded Dockerfile instead of building."),
            Workbench.engineOption,
        ],
        examples: [
            Example("claude-env build-image", "Build the image unless it is up to date."),
            Example(
                "claude-env build-image --force",
                "Rebuild it, for instance to get a newer Claude Code."),
            Example(
                "claude-env build-image --claude-code-version 2.0.14",
                "Pin Claude Code to one version."),
        ])

    static func runStop(
        _ arguments: ParsedArguments, path: [String], context: CommandContext
    ) throws -> Int32 {
        let engine = try Workbench(context: context).engine(arguments, path: path)
        let project = Project.locate(from: FileManager.default.currentDirectoryPath)
        let name = project.containerName
        guard engine.state(of: name)?.isRunning == true else {
            context.console.writeError("no container runs for \(project.root)\n")
            return ExitCode.success.rawValue
        }
        do {
            try engine.run(engine.commandLine.stop([name]))
        } catch {
            throw CommandFailure(error.message, status: .unavailable)
        }
        context.console.writeError("stopped \(name)\n")
        return ExitCode.success.rawValue
    }

    static func runLock(
        _ arguments: ParsedArguments, path: [String], context: CommandContext
    ) throws -> Int32 {
        let workbench = Workbench(context: context)
        let vaultID = try workbench.vaultID(
            arguments, ifMissing: "nothing to lock (another vault: --volume FILE)")
        let mountpoint = MountPoint.path(forVaultID: vaultID)
        // Every engine that answers, unless one is named: the vault may be in containers of both.
        var engines: [ContainerEngine] = []
        if arguments.value("engine") != nil {
            engines = [try workbench.engine(arguments, path: path)]
        } else {
            for kind in EngineKind.allCases {
                if let engine = try? workbench.engine(kind) { engines.append(engine) }
            }
        }
        var stuck: [String] = []
        for engine in engines {
            let line = engine.commandLine
            var names = Set<String>()
            let queries = [
                line.names(
                    withLabel: EngineCommandLine.Label.vault,
                    value: MountPoint.identifier(forVaultID: vaultID)),
                line.names(mounting: mountpoint),
            ]
            for query in queries {
                let listed = (try? engine.run(query)) ?? ""
                names.formUnion(listed.split(separator: "\n").map(String.init))
            }
            for name in names.sorted() {
                do {
                    try engine.run(line.stop([name]))
                    context.console.writeError("stopped \(name)\n")
                } catch {
                    stuck.append("\(engine.kind.rawValue) container \(name): \(error.message)")
                }
            }
        }
        if !stuck.isEmpty {
            throw CommandFailure(
                "the vault stays mounted, because these containers still use it and could "
                    + "not be stopped:\n  " + stuck.joined(separator: "\n  ")
                    + "\nStop them with 'docker stop NAME' or 'podman stop NAME', then run "
                    + "'claude-env lock' again.",
                status: .unavailable)
        }
        return try MountCommand.runUnmount(arguments, context: context)
    }

    static func runBuildImage(
        _ arguments: ParsedArguments, path: [String], context: CommandContext
    ) throws -> Int32 {
        let workbench = Workbench(context: context)
        if arguments.isSet("print-dockerfile") {
            context.console.writeOutput(ImageRecipe.embeddedDockerfile)
            return ExitCode.success.rawValue
        }
        if let version = arguments.value("claude-code-version") {
            guard ImageRecipe.isValidVersion(version) else {
                throw UsageError(
                    "'\(version)' is not a Claude Code version (such as 2.0.14, or latest)",
                    path: path)
            }
            try workbench.locations.remember("claude-code-version", version)
        }
        if let base = arguments.value("base-image") {
            guard ImageRecipe.isValidImageName(base) else {
                throw UsageError("'\(base)' is not an image name", path: path)
            }
            try workbench.locations.remember("base-image", base)
        }
        let engine = try workbench.engine(arguments, path: path)
        let recipe = workbench.recipe
        if !arguments.isSet("force") && workbench.imageState(engine, recipe) == .fresh {
            context.console.writeError(
                "\(recipe.tag) is up to date; --force rebuilds it\n")
            return ExitCode.success.rawValue
        }
        try workbench.build(engine, recipe, noCache: arguments.isSet("force"))
        context.console.writeError("built \(recipe.tag)\n")
        return ExitCode.success.rawValue
    }
}
