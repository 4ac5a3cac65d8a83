/// Why the container side of claude-env cannot go on; every message says what to do next.
public struct ContainerError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// No engine is installed, or the one asked for is not.
        case engineMissing
        /// An engine is installed but does not answer.
        case engineNotRunning
        /// The project directory cannot be used as a workspace.
        case unusableWorkspace
        /// The engine refused or failed a command.
        case engineFailed
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
