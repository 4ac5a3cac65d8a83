import Crypto

/// The image claude-env builds: the embedded Dockerfile, the Claude Code version and the base
/// image, and the tag derived from all three, so that a changed recipe gets an image of its own.
public struct ImageRecipe: Sendable, Equatable {
    public var dockerfile: String
    public var claudeCodeVersion: String
    /// The Node image to build on instead of the Dockerfile's own (a mirror, say).
    public var baseImage: String?

    public static let defaultClaudeCodeVersion = "latest"
    public static let repository = "claude-env"

    public init(
        dockerfile: String = ImageRecipe.embeddedDockerfile,
        claudeCodeVersion: String = ImageRecipe.defaultClaudeCodeVersion,
        baseImage: String? = nil
    ) {
        self.dockerfile = dockerfile
        self.claudeCodeVersion = claudeCodeVersion
        self.baseImage = baseImage
    }

    /// SHA-256 of the Dockerfile, hex: the image's label.
    public var dockerfileHash: String { Hex.encode(SHA256.hash(Array(dockerfile.utf8))) }

    /// `claude-env:<12 hex digits>`, from the Dockerfile, the version and the base together.
    public var tag: String {
        var recipe = dockerfileHash + "\n" + claudeCodeVersion
        if let baseImage { recipe += "\n" + baseImage }
        let digest = SHA256.hash(Array(recipe.utf8))
        return Self.repository + ":" + String(Hex.encode(digest).prefix(12))
    }

    /// Whether `name` reads as an image reference (`registry:5000/node:22-slim`,
    /// `name@sha256:…`) and nothing else.
    public static func isValidImageName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 256 && !name.hasPrefix("-")
            && name.allSatisfy {
                $0.isASCII && ($0.isLetter || $0.isNumber || "._-/:@".contains($0))
            }
    }

    /// Whether a version names something npm can install, and nothing a shell could misread.
    public static func isValidVersion(_ version: String) -> Bool {
        !version.isEmpty && version.count <= 64
            && version.allSatisfy {
                $0.isASCII && ($0.isLetter || $0.isNumber || ".-+_".contains($0))
            }
    }
}
