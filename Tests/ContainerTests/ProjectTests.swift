import Container
import Foundation
import Testing

@Suite("project identity and shadow docs")
struct ProjectTests {
    @Test(
        "remote URLs of every shape give host-owner-repo",
        arguments: [
            ("git@github.com:User/Repo.git", "github.com-User-Repo"),
            ("https://github.com/User/Repo", "github.com-User-Repo"),
            ("https://github.com/User/Repo.git/", "github.com-User-Repo"),
            ("ssh://git@GitHub.com:22/User/Repo.git", "github.com-User-Repo"),
            (
                "https://token@gitlab.example.org/group/sub/proj.git",
                "gitlab.example.org-group-sub-proj"
            ),
            ("git@host:we ird/na:me.git", "host-we-ird-na-me"),
        ])
    func remotes(url: String, id: String) {
        #expect(Project.normalisedRemote(url) == id)
    }

    @Test(
        "remotes on this machine have no id of their own",
        arguments: ["/srv/git/repo.git", "file:///srv/repo", "../repo"])
    func localRemotes(url: String) {
        #expect(Project.normalisedRemote(url) == nil)
    }

    private func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "project-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a git work tree is found from a subdirectory, with its origin remote")
    func gitProject() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(
            atPath: root + "/.git/info", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: root + "/src/deep", withIntermediateDirectories: true)
        try """
        [core]
        \tbare = false
        [remote "upstream"]
        \turl = https://example.com/other/thing.git
        [remote "origin"]
        \turl = git@github.com:ada/engine.git
        \tfetch = +refs/heads/*:refs/remotes/origin/*
        """.write(toFile: root + "/.git/config", atomically: true, encoding: .utf8)
        let project = Project.locate(from: root + "/src/deep")
        #expect(project.root == root)
        #expect(project.id == "github.com-ada-engine")
        #expect(project.gitDirectory == root + "/.git")
        #expect(project.containerName.hasPrefix("claude-env-github.com-ada-engine-"))
    }

    @Test("a directory outside git is named by its name and a hash of its path")
    func plainDirectory() throws {
        let parent = try scratch()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let first = parent + "/a/notes"
        let second = parent + "/b/notes"
        for path in [first, second] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        let one = Project.locate(from: first)
        let two = Project.locate(from: second)
        #expect(one.gitDirectory == nil && one.root == first)
        #expect(one.id.hasPrefix("notes-") && two.id.hasPrefix("notes-") && one.id != two.id)
    }

    @Test("_docs links into the vault, is excluded in .git/info/exclude once, never in .gitignore")
    func shadowDocs() throws {
        let root = try scratch()
        let vault = try scratch()
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: vault)
        }
        try FileManager.default.createDirectory(
            atPath: root + "/.git", withIntermediateDirectories: true)
        try "[core]\n".write(toFile: root + "/.git/config", atomically: true, encoding: .utf8)
        try "node_modules\n".write(toFile: root + "/.gitignore", atomically: true, encoding: .utf8)
        let project = Project.locate(from: root)
        #expect(try ShadowDocs.prepare(project, vaultMountpoint: vault) == nil)
        #expect(try ShadowDocs.prepare(project, vaultMountpoint: vault) == nil)
        let target = vault + "/repos/" + project.id
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: root + "/_docs") == target)
        let exclude = try String(contentsOfFile: root + "/.git/info/exclude", encoding: .utf8)
        #expect(exclude.components(separatedBy: "\n").filter { $0 == "/_docs" }.count == 1)
        #expect(
            try String(contentsOfFile: root + "/.gitignore", encoding: .utf8) == "node_modules\n")
        try "note".write(toFile: root + "/_docs/todo.md", atomically: true, encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: target + "/todo.md"))

        // A link left from another mount path is moved; a real directory is left alone.
        let other = try scratch()
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(try ShadowDocs.prepare(project, vaultMountpoint: other) == nil)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: root + "/_docs")
                == other + "/repos/" + project.id)
        unlink(root + "/_docs")
        try FileManager.default.createDirectory(
            atPath: root + "/_docs", withIntermediateDirectories: false)
        let warning = try ShadowDocs.prepare(project, vaultMountpoint: vault)
        #expect(warning?.contains("not a link") == true)
    }

    @Test("the API key helper is added once to Claude Code's settings, keeping what is there")
    func apiKeyHelper() throws {
        let vault = try scratch()
        defer { try? FileManager.default.removeItem(atPath: vault) }
        #expect(try ClaudeSettings.ensureAPIKeyHelper(vaultMountpoint: vault) == .noKey)
        try FileManager.default.createDirectory(
            atPath: vault + "/auth", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: vault + "/home/.claude", withIntermediateDirectories: true)
        try "sk-test\n".write(toFile: vault + "/auth/api-key", atomically: true, encoding: .utf8)
        let settingsFile = vault + "/home/.claude/settings.json"
        try #"{"theme": "dark"}"#.write(toFile: settingsFile, atomically: true, encoding: .utf8)
        #expect(try ClaudeSettings.ensureAPIKeyHelper(vaultMountpoint: vault) == .added)
        #expect(try ClaudeSettings.ensureAPIKeyHelper(vaultMountpoint: vault) == .alreadySet)
        let object =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: settingsFile))) as? [String: String]
        #expect(object == ["theme": "dark", "apiKeyHelper": "cat /claude-env/auth/api-key"])

        try "{not json".write(toFile: settingsFile, atomically: true, encoding: .utf8)
        #expect(throws: ContainerError.self) {
            try ClaudeSettings.ensureAPIKeyHelper(vaultMountpoint: vault)
        }
        #expect(try String(contentsOfFile: settingsFile, encoding: .utf8) == "{not json")
    }
}
