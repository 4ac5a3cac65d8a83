import Foundation

/// `_docs` in a project: a link to the project's own directory in the vault, for notes that
/// stay out of the repository. The link is absolute to the host's mount path, which the
/// container also sees, so it resolves on both sides while the vault is mounted.
public enum ShadowDocs {
    public static let linkName = "_docs"

    /// `repos/<project id>` under the mounted vault.
    public static func directory(for project: Project, vaultMountpoint: String) -> String {
        vaultMountpoint + "/repos/" + project.id
    }

    /// Makes the project's directory in the vault, the `_docs` link to it, and the git
    /// exclusion. Returns a warning when `_docs` is already something else, which is left
    /// untouched.
    public static func prepare(_ project: Project, vaultMountpoint: String) throws(ContainerError)
        -> String?
    {
        let target = directory(for: project, vaultMountpoint: vaultMountpoint)
        let link = project.root + "/" + linkName
        do {
            try FileManager.default.createDirectory(
                atPath: target, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw ContainerError(
                .unusableWorkspace,
                "cannot make \(target) in the vault: \(error.localizedDescription)")
        }
        var warning: String?
        if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: link) {
            if existing != target {
                // A link from another vault's mount or an older id: point it here.
                unlink(link)
                try makeLink(link, to: target)
            }
        } else if FileManager.default.fileExists(atPath: link) {
            warning =
                "\(link) already exists and is not a link; it is left as it is, and the "
                + "project's shadow docs are at \(target) (in the container: "
                + "/claude-env/repos/\(project.id))"
        } else {
            try makeLink(link, to: target)
        }
        if let gitDirectory = project.gitDirectory {
            try exclude(inRepository: Project.commonDirectory(of: gitDirectory))
        }
        return warning
    }

    private static func makeLink(_ link: String, to target: String) throws(ContainerError) {
        guard symlink(target, link) == 0 else {
            throw ContainerError(
                .unusableWorkspace,
                "cannot make the link \(link): \(String(cString: strerror(errno)))")
        }
    }

    /// Lists `/_docs` in `.git/info/exclude`: ignored by git in this clone only, never in the
    /// project's own `.gitignore`.
    static func exclude(inRepository gitDirectory: String) throws(ContainerError) {
        let info = gitDirectory + "/info"
        let file = info + "/exclude"
        let existing = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let patterns: Set<String> = ["_docs", "/_docs", "_docs/", "/_docs/"]
        if existing.split(whereSeparator: \.isNewline).contains(where: {
            patterns.contains($0.trimmingCharacters(in: .whitespaces))
        }) {
            return
        }
        var text = existing
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += "# claude-env: the link to this project's notes in the vault\n/\(linkName)\n"
        do {
            try FileManager.default.createDirectory(
                atPath: info, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            throw ContainerError(
                .unusableWorkspace, "cannot write \(file): \(error.localizedDescription)")
        }
    }
}
