import ArgumentParsing
import VaultFS

/// `claude-env fsck`: verify every page and the whole tree.
enum FsckCommand {
    static let command = Command(
        name: "fsck",
        abstract: "Verify every page of the vault and the consistency of its tree.",
        discussion: """
            Decrypts and authenticates every page reachable from the newest commit and checks \
            the tree, the directories, link counts and free space. Each problem is reported with \
            the path it affects. Exits 0 when the vault is clean and 65 when it is not.
            """,
        options: [VaultAccess.volumeOption] + PasswordInput.options,
        examples: [
            Example("claude-env fsck", "Check the remembered vault."),
            Example("claude-env fsck --volume /backup/claude-env.vault", "Check a copy."),
        ])

    static func run(_ arguments: ParsedArguments, context: CommandContext) throws -> Int32 {
        let opened = try VaultAccess(context: context).open(arguments, writable: false)
        let report = opened.filesystem.check()
        var text = "\(opened.path): \(report.files) files, \(report.directories) directories, "
        text +=
            "\(report.symlinks) symlinks; \(report.dataPages) data pages and \(report.treePages) tree pages verified\n"
        context.console.writeOutput(text)
        guard report.isClean else {
            context.console.writeOutput(report.problems.map { "problem: \($0)\n" }.joined())
            context.console.writeError(
                "\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s") found; restore the "
                    + "vault from a backup, or copy out what still reads with 'claude-env vault get'\n"
            )
            return ExitCode.dataError.rawValue
        }
        context.console.writeOutput("clean\n")
        return ExitCode.success.rawValue
    }
}
