import Foundation

/// Claude Code's settings in the vault, where claude-env points it at the stored API key.
///
/// Claude Code reads no key file by itself; an `apiKeyHelper` command in its settings is
/// run to print the key, so the key stays in the vault and out of the container's
/// environment (and so out of `docker inspect`).
public enum ClaudeSettings {
    /// Claude Code's config directory inside the container (`CLAUDE_CONFIG_DIR`).
    public static let configDirectory = ContainerSpec.homePath + "/.claude"
    /// Where bootstrap stores the API key, relative to the vault's root.
    public static let apiKeyPath = "auth/api-key"
    /// The helper: prints the key from the vault.
    public static let apiKeyHelper = "cat \(ContainerSpec.vaultPath)/\(apiKeyPath)"

    public enum Outcome: Equatable, Sendable {
        /// There is no stored key: nothing to do.
        case noKey
        /// The settings already name a helper (this one or the user's own).
        case alreadySet
        /// The helper was added.
        case added
    }

    /// Adds the helper to `home/.claude/settings.json` under the mounted vault when a key is
    /// stored and the settings name no helper yet, keeping every other setting.
    public static func ensureAPIKeyHelper(vaultMountpoint: String) throws(ContainerError)
        -> Outcome
    {
        guard FileManager.default.fileExists(atPath: vaultMountpoint + "/" + apiKeyPath) else {
            return .noKey
        }
        let directory = vaultMountpoint + "/home/.claude"
        let file = directory + "/settings.json"
        var settings: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: file), !data.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: data),
                let dictionary = object as? [String: Any]
            else {
                throw ContainerError(
                    .unusableWorkspace,
                    "\(file) is not a JSON object; fix it, or remove it to let claude-env "
                        + "write one with the API key helper")
            }
            settings = dictionary
        }
        if settings["apiKeyHelper"] != nil { return .alreadySet }
        settings["apiKeyHelper"] = apiKeyHelper
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let data = try JSONSerialization.data(
                withJSONObject: settings,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw ContainerError(
                .unusableWorkspace, "cannot write \(file): \(error.localizedDescription)")
        }
        return .added
    }
}
