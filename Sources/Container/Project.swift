import Crypto
import Foundation

/// The project a container is for: its directory, the git repository it belongs to, and the
/// id that names its container and its shadow docs in the vault.
public struct Project: Sendable, Equatable {
    /// The top of the git work tree, or the directory itself outside git.
    public var root: String
    /// The repository's git directory, when there is one (`.git`, or a worktree's own).
    public var gitDirectory: String?
    /// `github.com-user-repo` from the git remote, else the directory's name and a short
    /// hash of its path.
    public var id: String

    /// The project that `directory` is in.
    public static func locate(from directory: String) -> Project {
        let start = URL(fileURLWithPath: directory).standardizedFileURL.path
        var candidate = start
        while true {
            let dotGit = candidate == "/" ? "/.git" : candidate + "/.git"
            if let gitDirectory = resolveGitDirectory(dotGit) {
                let remote = remoteURL(configOf: commonDirectory(of: gitDirectory))
                let id = remote.flatMap(normalisedRemote) ?? fallbackID(for: candidate)
                return Project(root: candidate, gitDirectory: gitDirectory, id: id)
            }
            if candidate == "/" { break }
            candidate = (candidate as NSString).deletingLastPathComponent
        }
        return Project(root: start, gitDirectory: nil, id: fallbackID(for: start))
    }

    /// The container's name: the project id and a short hash of the path, so that two
    /// checkouts of one repository get containers of their own.
    public var containerName: String {
        "claude-env-" + String(id.prefix(80)) + "-" + Self.shortHash(root)
    }

    /// A remote URL as `host-owner-repo`: `git@github.com:User/Repo.git`,
    /// `https://github.com/User/Repo` and `ssh://git@github.com:22/User/Repo.git` all give
    /// `github.com-User-Repo`. Nil for a remote on this machine (a path or file: URL).
    public static func normalisedRemote(_ url: String) -> String? {
        var text = url.trimmingCharacters(in: .whitespaces)
        var host: Substring
        var path: Substring
        if let schemeEnd = text.range(of: "://") {
            let scheme = text[..<schemeEnd.lowerBound].lowercased()
            if scheme == "file" { return nil }
            let rest = text[schemeEnd.upperBound...]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            host = rest[..<slash]
            path = rest[slash...]
            if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
            if let colon = host.firstIndex(of: ":") { host = host[..<colon] }
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // scp-like: [user@]host:path
            host = text[..<colon]
            path = text[text.index(after: colon)...]
            if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        } else {
            return nil
        }
        while path.hasSuffix("/") { path = path.dropLast() }
        if path.hasSuffix(".git") { path = path.dropLast(4) }
        text = host.lowercased() + "/" + path
        let words = text.split(separator: "/").map(sanitised).filter { !$0.isEmpty }
        guard words.count >= 2 else { return nil }
        return words.joined(separator: "-")
    }

    static func fallbackID(for directory: String) -> String {
        let name = sanitised((directory as NSString).lastPathComponent)
        return (name.isEmpty ? "root" : name) + "-" + shortHash(directory)
    }

    /// Letters, digits, `.`, `_` and `-`, the characters every engine allows in a name.
    static func sanitised<S: StringProtocol>(_ word: S) -> String {
        var result = ""
        for character in word {
            let allowed =
                character.isASCII
                && (character.isLetter || character.isNumber || "._-".contains(character))
            result.append(allowed ? character : "-")
        }
        while result.hasPrefix("-") || result.hasPrefix(".") { result.removeFirst() }
        return result
    }

    static func shortHash(_ text: String) -> String {
        String(Hex.encode(SHA256.hash(Array(text.utf8))).prefix(8))
    }

    /// The git directory a `.git` entry stands for: the directory itself, or the one a
    /// `gitdir:` file names (worktrees and submodules).
    static func resolveGitDirectory(_ dotGit: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit, isDirectory: &isDirectory) else {
            return nil
        }
        if isDirectory.boolValue { return dotGit }
        guard let text = try? String(contentsOfFile: dotGit, encoding: .utf8),
            text.hasPrefix("gitdir:")
        else { return nil }
        let target = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
        let parent = (dotGit as NSString).deletingLastPathComponent
        return target.hasPrefix("/") ? target : parent + "/" + target
    }

    /// The directory holding a repository's shared files (config, info/): for a linked
    /// worktree, the main repository's.
    static func commonDirectory(of gitDirectory: String) -> String {
        guard
            let text = try? String(contentsOfFile: gitDirectory + "/commondir", encoding: .utf8)
        else { return gitDirectory }
        let target = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return target.hasPrefix("/") ? target : gitDirectory + "/" + target
    }

    /// The URL of the remote `origin`, else of the first remote in the config.
    static func remoteURL(configOf gitDirectory: String) -> String? {
        guard let text = try? String(contentsOfFile: gitDirectory + "/config", encoding: .utf8)
        else { return nil }
        var section = ""
        var urls: [(remote: String, url: String)] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                section = line
                continue
            }
            guard section.hasPrefix("[remote "), let equals = line.firstIndex(of: "=") else {
                continue
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            if key == "url" {
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                let name = section.dropFirst("[remote ".count).trimmingCharacters(
                    in: CharacterSet(charactersIn: "\"] "))
                urls.append((name, value))
            }
        }
        return (urls.first { $0.remote == "origin" } ?? urls.first)?.url
    }
}
