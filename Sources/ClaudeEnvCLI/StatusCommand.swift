import ArgumentParsing
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
        options: [VaultAccess.volumeOption],
        examples: [Example("claude-env status", "Show the state of the remembered vault.")])

    static func run(_ arguments: ParsedArguments, context: CommandContext) throws -> Int32 {
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
        context.console.writeOutput(text)
        return ExitCode.success.rawValue
    }

    private static func megabytes(_ bytes: UInt64) -> String {
        String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}
