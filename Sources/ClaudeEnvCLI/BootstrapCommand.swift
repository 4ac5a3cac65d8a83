import ArgumentParsing
import Crypto
import Foundation
import Platform
import VaultFS
import VaultStore

/// `claude-env bootstrap`: make a new vault.
enum BootstrapCommand {
    static let command = Command(
        name: "bootstrap",
        abstract: "Create a new encrypted vault, with auth/, config/, home/ and repos/ inside.",
        discussion: """
            Asks for a new password twice (or reads it once from --password-file, \
            --password-stdin or CLAUDE_ENV_PASSWORD), creates claude-env.vault in DIR, and \
            remembers its path so that later commands find it from any directory. A recovery \
            key is printed once: write it down, it opens the vault if the password is lost.

            --size is a quota: the file starts small and grows on demand up to it.
            """,
        options: [
            Option(
                "path", value: "DIR",
                help: "Where to create claude-env.vault (default ~/.local/share/claude-env)."),
            Option(
                "size", value: "GB",
                help: "The most the vault may grow to, in GiB (default: no limit)."),
            Option(
                "api-key", value: "KEY",
                help:
                    "Store an Anthropic API key in auth/api-key. Visible to other users in the process list: "
                    + "prefer --api-key-file."),
            Option(
                "api-key-file", value: "FILE",
                help: "Store the API key read from FILE in auth/api-key."),
            Option(
                "kdf", value: "NAME",
                help: "How the password is stretched: scrypt (default) or pbkdf2."),
        ] + PasswordInput.options,
        examples: [
            Example(
                "claude-env bootstrap",
                "Create the vault in ~/.local/share/claude-env, asking for a password."),
            Example(
                "claude-env bootstrap --path ~/vaults --size 2",
                "Create it in ~/vaults with a 2 GiB quota."),
            Example(
                "claude-env bootstrap --api-key-file ~/key.txt",
                "Create it and keep the API key inside, mode 0600."),
        ])

    static let directories = ["auth", "config", "home", "repos"]

    static func run(
        _ arguments: ParsedArguments, path commandPath: [String], context: CommandContext
    ) throws -> Int32 {
        let locations = Locations(environment: context.environment)
        let directory = arguments.value("path").map(locations.absolute) ?? locations.dataDirectory
        let vaultPath = directory + "/" + Locations.vaultFileName
        var quotaPages: UInt64 = 0
        if let size = arguments.value("size") {
            guard let gigabytes = Double(size), gigabytes > 0, gigabytes < 1_000_000 else {
                throw UsageError(
                    "option '--size' needs a positive number of GiB, got '\(size)'",
                    path: commandPath)
            }
            quotaPages = UInt64(gigabytes * Double(1 << 30)) / UInt64(VaultFormat.pageSize)
        }
        let derivation: KeyDerivation
        switch arguments.value("kdf") ?? "scrypt" {
        case "scrypt": derivation = .passwordDefault
        case "pbkdf2": derivation = .pbkdf2(iterations: PBKDF2.defaultIterations)
        case let other:
            throw UsageError(
                "option '--kdf' is scrypt or pbkdf2, got '\(other)'", path: commandPath)
        }
        var apiKey: [UInt8]?
        if let key = arguments.value("api-key") {
            apiKey = Array(key.utf8)
            context.console.writeError(
                "warning: a key on the command line can be seen in the process list and shell history; "
                    + "next time use --api-key-file\n")
        }
        if let file = arguments.value("api-key-file") {
            // Read through a descriptor, so that a pipe such as <(pass show key) works too.
            let descriptor = open(file, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0, let data = readToEnd(descriptor) else {
                if descriptor >= 0 { close(descriptor) }
                throw CommandFailure("cannot read the API key file \(file)", status: .noInput)
            }
            close(descriptor)
            apiKey = Array(
                String(decoding: data, as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines
                ).utf8)
        }
        if FileManager.default.fileExists(atPath: vaultPath) {
            throw CommandFailure(
                "\(vaultPath) already exists; bootstrap never replaces a vault. Use it with "
                    + "'--volume \(vaultPath)', or choose another --path.",
                status: .failure)
        }

        let password = try PasswordInput(context: context, arguments: arguments).read(
            prompt: "New password for \(vaultPath)", confirm: true)
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw CommandFailure(
                "cannot create \(directory): \(error.localizedDescription)", status: .ioError)
        }
        let device: FileBlockDevice
        do {
            device = try FileBlockDevice(creating: vaultPath)
        } catch let error as VaultError {
            throw CommandFailure("\(error)", status: .ioError)
        }
        do {
            let (store, recoveryKey) = try PageStore.create(
                device: device, password: password, derivation: derivation, withRecoveryKey: true,
                quotaPages: quotaPages)
            let uid = getuid()
            let gid = getgid()
            let filesystem = try VaultFilesystem.format(store, rootMode: 0o700, uid: uid, gid: gid)
            var inodes: [String: UInt64] = [:]
            for name in directories {
                inodes[name] = try filesystem.makeDirectory(
                    VaultFilesystem.rootInode, Array(name.utf8), mode: 0o700, uid: uid, gid: gid
                ).inode
            }
            if let apiKey {
                let file = try filesystem.makeNode(
                    inodes["auth"]!, Array("api-key".utf8), mode: 0o600, uid: uid, gid: gid)
                try filesystem.write(file.inode, at: 0, apiKey + [UInt8(ascii: "\n")])
            }
            let access = VaultAccess(context: context)
            try filesystem.commit()
            try access.record(store)
            try locations.remember(vault: vaultPath)

            var text = "Created \(vaultPath)"
            text += quotaPages > 0 ? " (quota \(arguments.value("size")!) GiB).\n" : ".\n"
            if apiKey != nil { text += "The API key is in auth/api-key, mode 0600.\n" }
            if let recoveryKey {
                text += """

                    Recovery key, shown this once. Keep it somewhere safe and offline; it opens the
                    vault if the password is lost:

                        \(recoveryKey.formatted)


                    """
            }
            text +=
                "Next: in a project's directory, 'claude-env start' opens a shell in its container, "
                + "with the vault as HOME.\n"
            context.console.writeOutput(text)
            return ExitCode.success.rawValue
        } catch {
            unlink(vaultPath)
            throw CommandFailure(
                "could not create the vault (nothing was kept): \(error)", status: .ioError)
        }
    }
}
