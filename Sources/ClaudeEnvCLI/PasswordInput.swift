import ArgumentParsing
import Crypto
import Foundation
import Platform

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where a secret comes from: a file, standard input, the environment, or the terminal
/// without echo. Never the command line.
struct PasswordInput {
    let context: CommandContext
    let passwordFile: String?
    let fromStandardInput: Bool

    static let environmentVariable = "CLAUDE_ENV_PASSWORD"

    static let options: [Option] = [
        Option(
            "password-file", value: "FILE", help: "Read the password from FILE (its first line)."),
        Option("password-stdin", help: "Read the password from standard input."),
    ]

    init(context: CommandContext, arguments: ParsedArguments) {
        self.context = context
        self.passwordFile = arguments.value("password-file")
        self.fromStandardInput = arguments.isSet("password-stdin")
    }

    /// The password, from the first source given; asked twice at a terminal when `confirm`.
    func read(prompt: String, confirm: Bool = false) throws -> SecretBytes {
        if let passwordFile {
            guard let bytes = Self.readFile(passwordFile) else {
                throw CommandFailure(
                    "cannot read the password file \(passwordFile)", status: .noInput)
            }
            return try nonEmpty(firstLine(bytes))
        }
        if fromStandardInput { return try nonEmpty(firstLine(context.readStandardInput())) }
        if let value = context.environment[Self.environmentVariable] {
            return try nonEmpty(Array(value.utf8))
        }
        guard context.hasTerminal else {
            throw CommandFailure(
                "no password given and no terminal to ask on; use --password-file FILE, --password-stdin "
                    + "or the \(Self.environmentVariable) variable",
                status: .usage)
        }
        let first = try nonEmpty(try Terminal.readSecret(prompt: prompt + ": "))
        if confirm {
            let second = try Terminal.readSecret(prompt: "Repeat the password: ")
            guard first == SecretBytes(copying: second) else {
                throw CommandFailure(
                    "the two passwords differ; nothing was changed", status: .usage)
            }
        }
        return first
    }

    /// All of a file, read with plain reads so that pipes (`<(…)`) and FIFOs work too.
    static func readFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return readToEnd(descriptor)
    }

    private func firstLine(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        if let end = bytes.firstIndex(of: UInt8(ascii: "\n")) { bytes.removeSubrange(end...) }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return bytes
    }

    private func nonEmpty(_ bytes: [UInt8]) throws -> SecretBytes {
        guard !bytes.isEmpty else { throw CommandFailure("the password is empty", status: .usage) }
        return SecretBytes(copying: bytes)
    }
}

/// Reading from the controlling terminal with echo off.
enum Terminal {
    static func readSecret(prompt: String) throws -> [UInt8] {
        let descriptor = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CommandFailure("cannot open the terminal to ask for the password")
        }
        defer { close(descriptor) }
        var saved = termios()
        let haveTerminal = tcgetattr(descriptor, &saved) == 0
        if haveTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(descriptor, TCSAFLUSH, &quiet)
        }
        defer {
            if haveTerminal { tcsetattr(descriptor, TCSAFLUSH, &saved) }
            _ = write(descriptor, "\n", 1)
        }
        _ = prompt.withCString { write(descriptor, $0, strlen($0)) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(descriptor, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        return line
    }
}
