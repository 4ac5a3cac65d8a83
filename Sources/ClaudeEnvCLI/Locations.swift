import Foundation

/// Where claude-env keeps its files, following the XDG base directory specification.
struct Locations {
    let environment: [String: String]

    private var home: String { environment["HOME"] ?? NSHomeDirectory() }

    private func base(_ variable: String, _ fallback: String) -> String {
        if let value = environment[variable], value.hasPrefix("/") { return value }
        return home + "/" + fallback
    }

    /// `$XDG_CONFIG_HOME/claude-env`: the remembered vault path, engine and such.
    var configDirectory: String { base("XDG_CONFIG_HOME", ".config") + "/claude-env" }
    /// `$XDG_STATE_HOME/claude-env`: per-vault freshness records, daemon logs.
    var stateDirectory: String { base("XDG_STATE_HOME", ".local/state") + "/claude-env" }
    /// `$XDG_DATA_HOME/claude-env`: where a vault is made when no `--path` is given.
    var dataDirectory: String { base("XDG_DATA_HOME", ".local/share") + "/claude-env" }

    static let vaultFileName = "claude-env.vault"

    var configFile: String { configDirectory + "/config" }

    /// The vault to use: `--volume`, else the remembered one, else the default location.
    func vaultPath(option: String?) -> String {
        if let option { return absolute(option) }
        if let remembered = setting("volume") { return remembered }
        return dataDirectory + "/" + Self.vaultFileName
    }

    func remember(vault path: String) throws { try remember("volume", path) }

    /// The value of `key` in the config file: lines of `key=value`.
    func setting(_ key: String) -> String? {
        settings().last { $0.key == key }?.value
    }

    /// Sets `key` in the config file, keeping every other line.
    func remember(_ key: String, _ value: String) throws {
        var lines = settings().filter { $0.key != key }
        lines.append((key, value))
        try FileManager.default.createDirectory(
            atPath: configDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let text = lines.map { "\($0.key)=\($0.value)\n" }.joined()
        try text.write(toFile: configFile, atomically: true, encoding: .utf8)
    }

    private func settings() -> [(key: String, value: String)] {
        guard let text = try? String(contentsOfFile: configFile, encoding: .utf8) else {
            return []
        }
        return text.split(separator: "\n").compactMap { line in
            guard let equals = line.firstIndex(of: "="), !line.hasPrefix("#") else { return nil }
            return (String(line[..<equals]), String(line[line.index(after: equals)...]))
        }
    }

    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}
