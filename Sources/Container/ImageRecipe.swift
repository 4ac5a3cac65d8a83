import Crypto

/// The image claude-env builds: the embedded Dockerfile and the Claude Code version, and the
/// tag derived from both, so that a changed recipe gets an image of its own.
public struct ImageRecipe: Sendable, Equatable {
    public var dockerfile: String
    public var claudeCodeVersion: String

    public static let defaultClaudeCodeVersion = "latest"
    public static let repository = "claude-env"

    public init(
        dockerfile: String = ImageRecipe.embeddedDockerfile,
        claudeCodeVersion: String = ImageRecipe.defaultClaudeCodeVersion
    ) {
        self.dockerfile = dockerfile
        self.claudeCodeVersion = claudeCodeVersion
    }

    /// SHA-256 of the Dockerfile, hex: the image's label.
    public var dockerfileHash: String { Hex.encode(SHA256.hash(Array(dockerfile.utf8))) }

    /// `claude-env:<12 hex digits>`, from the Dockerfile and the version together.
    public var tag: String {
        let digest = SHA256.hash(Array((dockerfileHash + "\n" + claudeCodeVersion).utf8))
        return Self.repository + ":" + String(Hex.encode(digest).prefix(12))
    }

    /// Whether a version names something npm can install, and nothing a shell could misread.
    public static func isValidVersion(_ version: String) -> Bool {
        !version.isEmpty && version.count <= 64
            && version.allSatisfy {
                $0.isASCII && ($0.isLetter || $0.isNumber || ".-+_".contains($0))
            }
    }
}
