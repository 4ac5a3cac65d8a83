import ArgumentParsing
import Crypto
import Foundation
import VaultStore

/// `claude-env passwd`: change, add or remove the secrets that open the vault.
enum PasswdCommand {
    static let command = Command(
        name: "passwd",
        abstract:
            "Change the vault's password, add or remove keyslots, or make a new recovery key.",
        discussion: """
            Unlocks the vault with its current password or recovery key, then writes the new \
            keyslot and makes it durable before the old one is wiped, so a crash never leaves \
            the vault without a way in. The contents are not re-encrypted: a copy of the file \
            made before the change still opens with the old password.

            The new password is asked twice at the terminal, or read from --new-password-file \
            or CLAUDE_ENV_NEW_PASSWORD.
            """,
        options: [
            VaultAccess.volumeOption,
            Option("add", help: "Add a password, keeping the current one."),
            Option("remove-slot", value: "N", help: "Remove keyslot N (see --list)."),
            Option("list", help: "List the keyslots."),
            Option("new-recovery-key", help: "Add a recovery key and print it once."),
            Option("new-password-file", value: "FILE", help: "Read the new password from FILE."),
        ] + PasswordInput.options,
        examples: [
            Example("claude-env passwd", "Change the password."),
            Example("claude-env passwd --list", "Show which keyslots are in use."),
            Example(
                "claude-env passwd --add", "Add a second password, for example for another person."),
            Example(
                "claude-env passwd --new-recovery-key",
                "Add a recovery key after losing the old one."),
        ])

    static func run(
        _ arguments: ParsedArguments, path commandPath: [String], context: CommandContext
    ) throws -> Int32 {
        let access = VaultAccess(context: context)
        let listing = arguments.isSet("list")
        let opened = try access.open(arguments, writable: !listing)
        let store = opened.store
        if listing {
            var text = "slot  kind          key derivation                       created\n"
            for (index, slot) in store.keyslots {
                let kind = slot.kind == .password ? "password" : "recovery key"
                let created = Date(timeIntervalSince1970: TimeInterval(slot.created))
                text += "\(String(index).padding(toLength: 6, withPad: " ", startingAt: 0))"
                text += kind.padding(toLength: 14, withPad: " ", startingAt: 0)
                text += slot.derivation.description.padding(
                    toLength: 37, withPad: " ", startingAt: 0)
                text += "\(created)\n"
            }
            context.console.writeOutput(text)
            return ExitCode.success.rawValue
        }
        if opened.readOnly {
            throw CommandFailure(
                "the vault was opened read-only; nothing was changed", status: .dataError)
        }
        do {
            if let slot = arguments.value("remove-slot") {
                guard let index = Int(slot) else {
                    throw UsageError(
                        "option '--remove-slot' needs a slot number, got '\(slot)'",
                        path: commandPath)
                }
                try store.removeKeyslot(at: index)
                context.console.writeOutput("Removed keyslot \(index).\n")
                return ExitCode.success.rawValue
            }
            if arguments.isSet("new-recovery-key") {
                let key = try RecoveryKey.generate()
                let index = try store.addKeyslot(.recoveryKey(key.secret), derivation: .hkdf)
                context.console.writeOutput(
                    "Added recovery key in keyslot \(index), shown this once:\n\n    \(key.formatted)\n\n"
                )
                return ExitCode.success.rawValue
            }
            let newPassword = try readNewPassword(arguments, context: context)
            let index = try store.addKeyslot(.password(newPassword), derivation: .passwordDefault)
            if arguments.isSet("add") {
                context.console.writeOutput("Added a password in keyslot \(index).\n")
                return ExitCode.success.rawValue
            }
            // The new slot is durable in both header copies; only now is the old one wiped. A
            // recovery key used to unlock stays.
            if let old = store.unlockedSlot,
                store.keyslots.first(where: { $0.index == old })?.slot.kind == .password
            {
                try store.removeKeyslot(at: old)
                context.console.writeOutput(
                    "Password changed: keyslot \(index) replaces keyslot \(old).\n")
            } else {
                context.console.writeOutput("Password set in keyslot \(index).\n")
            }
            return ExitCode.success.rawValue
        } catch let error as VaultError {
            throw access.failure(error)
        }
    }

    private static func readNewPassword(_ arguments: ParsedArguments, context: CommandContext)
        throws -> SecretBytes
    {
        if let file = arguments.value("new-password-file") {
            guard let bytes = PasswordInput.readFile(file) else {
                throw CommandFailure("cannot read the new password file \(file)", status: .noInput)
            }
            let line = Array(bytes.prefix { $0 != UInt8(ascii: "\n") })
            guard !line.isEmpty else {
                throw CommandFailure("the new password is empty", status: .usage)
            }
            return SecretBytes(copying: line)
        }
        if let value = context.environment["CLAUDE_ENV_NEW_PASSWORD"], !value.isEmpty {
            return SecretBytes(copying: value.utf8)
        }
        var terminalOnly = context
        terminalOnly.environment[PasswordInput.environmentVariable] = nil
        return try PasswordInput(context: terminalOnly, arguments: ParsedArguments()).read(
            prompt: "New password", confirm: true)
    }
}
