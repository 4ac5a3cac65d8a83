import ArgumentParsing
import Crypto
import FuseBinding
import VaultStore

/// `claude-env version`: what this build is and what it runs with.
enum VersionCommand {
    static let command = Command(
        name: "version",
        abstract:
            "Show the version, the vault format it writes, and the OpenSSL and libfuse in use.",
        discussion: """
            The library versions are asked of the libraries at run time, so they show what is \
            actually loaded, which may differ from what the program was built against.
            """,
        examples: [
            Example("claude-env version", "Print four lines: program, format, OpenSSL, libfuse.")
        ])

    static func run(console: Console) -> Int32 {
        console.writeOutput(
            """
            claude-env \(ClaudeEnv.version)
            vault format \(VaultFormat.version)
            OpenSSL \(OpenSSLLibrary.version) (\(OpenSSLLibrary.versionText))
            libfuse \(FuseLibrary.version)

            """)
        return ExitCode.success.rawValue
    }
}
