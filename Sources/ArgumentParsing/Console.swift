import Foundation

/// Where a command's output goes: people read standard error for errors and progress, and
/// scripts read standard output for results.
public struct Console: Sendable {
    /// Raw bytes to standard output, for file contents that need not be text.
    public var writeOutputBytes: @Sendable ([UInt8]) -> Void
    public var writeError: @Sendable (String) -> Void

    public init(
        writeOutputBytes: @escaping @Sendable ([UInt8]) -> Void,
        writeError: @escaping @Sendable (String) -> Void
    ) {
        self.writeOutputBytes = writeOutputBytes
        self.writeError = writeError
    }

    /// A console for text only; bytes that are not UTF-8 are shown as replacement characters.
    public init(
        writeOutput: @escaping @Sendable (String) -> Void,
        writeError: @escaping @Sendable (String) -> Void
    ) {
        self.init(
            writeOutputBytes: { writeOutput(String(decoding: $0, as: UTF8.self)) },
            writeError: writeError)
    }

    public func writeOutput(_ text: String) {
        writeOutputBytes(Array(text.utf8))
    }

    /// The process's standard output and standard error.
    public static let standard = Console(
        writeOutputBytes: { FileHandle.standardOutput.write(Data($0)) },
        writeError: { FileHandle.standardError.write(Data($0.utf8)) })
}
