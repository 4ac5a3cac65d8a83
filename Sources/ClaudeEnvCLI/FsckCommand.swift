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

            With --repair, rebuilds the vault from everything that still verifies and commits \
            it: damaged blocks read as zeros, records under a damaged tree node are lost, \
            names of lost inodes are removed and unnamed inodes move to /lost+found-N. Each \
            loss is listed. Copy the vault file first if you may want to try otherwise.
            """,
        options: [
            VaultAccess.volumeOption,
            Option("repair", help: "Rebuild the vault from what verifies, and commit it."),
            VaultAccess.acceptStaleOption,
        ] + PasswordInput.options,
        examples: [
            Example("claude-env fsck", "Check the remembered vault."),
            Example("claude-env fsck --volume /backup/claude-env.vault", "Check a copy."),
            Example("claude-env fsck --repair", "Save what verifies in a damaged vault."),
        ])

    static func run(_ arguments: ParsedArguments, context: CommandContext) throws -> Int32 {
        let access = VaultAccess(context: context)
        if arguments.isSet("repair") {
            return try repair(arguments, access: access, context: context)
        }
        let opened = try access.open(arguments, writable: false)
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

    private static func repair(
        _ arguments: ParsedArguments, access: VaultAccess, context: CommandContext
    ) throws -> Int32 {
        let opened = try access.open(arguments, writable: true, trustFreeList: false)
        if opened.readOnly {
            throw CommandFailure(
                "the vault was opened read-only; nothing was changed", status: .dataError)
        }
        let report: RepairReport
        do {
            report = try VaultFilesystem.repair(opened.store)
        } catch {
            throw CommandFailure(
                "repair failed, and the vault is as it was: \(error)", status: .dataError)
        }
        try access.record(opened.store)
        var text = report.losses.map { "lost: \($0)\n" }.joined()
        text += "kept \(report.keptRecords) records"
        text +=
            report.movedToLostAndFound > 0
            ? ", moved \(report.movedToLostAndFound) to lost+found\n" : "\n"
        let check = try VaultFilesystem.open(opened.store).check()
        text +=
            check.isClean
            ? "the repaired vault checks clean\n"
            : check.problems.map { "problem: \($0)\n" }.joined()
        context.console.writeOutput(text)
        return check.isClean ? ExitCode.success.rawValue : ExitCode.dataError.rawValue
    }
}
