import ArgumentParsing
import Container
import Foundation
import VaultMount
import VaultStore

/// `claude-env status`: where the vault is, whether it is mounted, and how full it is.
enum StatusCommand {
    static let command = Command(
        name: "status",
        abstract: "Show the vault's path and size, and whether and where it is mounted.",
        discussion:
            "Needs no password: it reads only the vault's plaintext header and the kernel's mount table.",
        options: [VaultAccess.volumeOption, Workbench.engineOption],
        examples: [Example("claude-env status", "Show the state of the remembered vault.")])

    static func run(
        _ arguments: ParsedArguments, path commandPath: [String], context: CommandContext
    )
        throws -> Int32
    {
        let locations = Locations(environment: context.environment)
        let path = locations.vaultPath(option: arguments.value("volume"))
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            context.console.writeOutput(
                "vault:    none at \(path); create one with 'claude-env bootstrap'\n")
            return ExitCode.noInput.rawValue
        }
        guard let vaultID = PageStore.peekVaultID(atPath: path) else {
            throw CommandFailure("\(path) is not a claude-env vault", status: .dataError)
        }
        let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        var text = "vault:    \(path) (\(megabytes(size)) on disk)\n"
        let mountpoint = MountPoint.path(forVaultID: vaultID)
        if MountPoint.isMounted(mountpoint) {
            var answer = statvfs()
            if statvfs(mountpoint, &answer) == 0 {
                let pid =
                    FileBlockDevice.writerPID(of: path).map { "by process \($0)" }
                    ?? "by an unknown process"
                text += "mounted:  at \(mountpoint), \(pid)\n"
                let total = UInt64(answer.f_blocks) * UInt64(answer.f_frsize)
                let free = UInt64(answer.f_bfree) * UInt64(answer.f_frsize)
                text += "space:    \(megabytes(total - free)) used, \(megabytes(free)) free\n"
            } else {
                text +=
                    "mounted:  at \(mountpoint), but its process is gone; 'claude-env mount' clears it\n"
            }
        } else if let pid = FileBlockDevice.writerPID(of: path) {
            text += "mounted:  no; process \(pid) has the vault open\n"
        } else {
            text += "mounted:  no\n"
        }
        text += containerStatus(arguments, path: commandPath, vaultID: vaultID, context: context)
        context.console.writeOutput(text)
        return ExitCode.success.rawValue
    }

    /// The engine, the image, and the vault's containers by project.
    private static func containerStatus(
        _ arguments: ParsedArguments, path: [String], vaultID: [UInt8], context: CommandContext
    ) -> String {
        let workbench = Workbench(context: context)
        let engine: ContainerEngine
        do {
            engine = try workbench.engine(arguments, path: path)
        } catch {
            let first = "\(error)".split(separator: "\n").first ?? ""
            return "engine:   none (\(first))\n"
        }
        var text =
            "engine:   \(engine.kind.rawValue), \(engine.isRootless ? "rootless" : "rootful")\n"
        let recipe = workbench.recipe
        switch workbench.imageState(engine, recipe) {
        case .fresh: text += "image:    \(recipe.tag), up to date\n"
        case .missing(let older):
            text +=
                "image:    \(recipe.tag) not built\(older.isEmpty ? "" : ", only older ones") "
                + "(start builds it)\n"
        }
        let line = engine.commandLine
        let listed =
            (try? engine.run(
                line.names(
                    withLabel: EngineCommandLine.Label.vault,
                    value: MountPoint.identifier(forVaultID: vaultID)))) ?? ""
        let names = listed.split(separator: "\n").map(String.init)
        if names.isEmpty {
            text += "containers: none running\n"
        } else {
            text += "containers:\n"
            let described = (try? engine.run(line.projects(names))) ?? ""
            for entry in described.split(separator: "\n") {
                let words = entry.split(separator: " ", maxSplits: 1)
                let name = words.first.map { $0.hasPrefix("/") ? $0.dropFirst() : $0 } ?? ""
                text += "  \(name)  (project \(words.count > 1 ? String(words[1]) : "?"))\n"
            }
        }
        return text
    }

    private static func megabytes(_ bytes: UInt64) -> String {
        String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}
