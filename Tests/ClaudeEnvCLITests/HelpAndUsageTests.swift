import ClaudeEnvCLI
import Foundation
import Testing

@Suite("help and usage errors")
struct HelpAndUsageTests {
    @Test(
        "help text matches the golden file",
        arguments: [
            (["--help"], "help-root.txt"),
            (["-h"], "help-root.txt"),
            (["version", "--help"], "help-version.txt"),
            (["bench", "--help"], "help-bench.txt"),
            (["bench", "crypto", "--help"], "help-bench-crypto.txt"),
            (["bench", "crypto", "--samples", "2", "-h"], "help-bench-crypto.txt"),
            (["bench", "fs", "--help"], "help-bench-fs.txt"),
            (["bootstrap", "--help"], "help-bootstrap.txt"),
            (["passwd", "--help"], "help-passwd.txt"),
            (["fsck", "--help"], "help-fsck.txt"),
            (["mount", "--help"], "help-mount.txt"),
            (["unmount", "--help"], "help-unmount.txt"),
            (["status", "--help"], "help-status.txt"),
            (["vault", "--help"], "help-vault.txt"),
            (["vault", "put", "--help"], "help-vault-put.txt"),
            (["start", "--help"], "help-start.txt"),
            (["stop", "--help"], "help-stop.txt"),
            (["lock", "--help"], "help-lock.txt"),
            (["build-image", "--help"], "help-build-image.txt"),
            (["doctor", "--help"], "help-doctor.txt"),
        ])
    func helpMatchesGolden(arguments: [String], golden: String) throws {
        let result = runCLI(arguments)
        #expect(result.status == 0)
        #expect(result.error.isEmpty)
        let comparison = try Golden.check(result.output, against: golden)
        #expect(comparison.actual == comparison.expected)
    }

    static let mistakes: [[String]] = [
        [],
        ["frobnicate"],
        ["bnch"],
        ["bench"],
        ["bench", "cryptoo"],
        ["version", "--bogus"],
        ["version", "extra"],
        ["version", "--", "ls"],
        ["bench", "crypto", "--samples"],
        ["bench", "crypto", "--samples", "zero"],
        ["bench", "crypto", "--sizes", "0"],
        ["bench", "crypto", "--json", "a", "--json", "b"],
        ["bench", "fs", "--size", "1000"],
        ["bench", "fs", "--files", "-3"],
        ["bench", "fs", "--cache-size", "5G"],
        ["mount", "--cache-size", "2M"],
        ["--samples", "3", "bench", "crypto"],
        ["bootstrap", "--size", "lots"],
        ["bootstrap", "--kdf", "md5"],
        ["vault", "cat"],
        ["passwd", "--password-file"],
        ["stop", "--engine", "lxc"],
        ["build-image", "--claude-code-version", "1; rm -rf ~"],
        ["start", "--image"],
    ]

    @Test("every usage error exits 64 and says what was wrong and where to get help")
    func usageErrorsMatchGolden() throws {
        var transcript = ""
        for arguments in Self.mistakes {
            let result = runCLI(arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.output.isEmpty, "\(arguments)")
            #expect(result.error.contains("--help' for usage."), "\(arguments)")
            transcript += "$ claude-env \(arguments.joined(separator: " "))\n\(result.error)\n"
        }
        let comparison = try Golden.check(transcript, against: "usage-errors.txt")
        #expect(comparison.actual == comparison.expected)
    }

    @Test("the installed program prints its version and exits 64 on a usage error")
    func realProcess() throws {
        let binary = productsDirectory.appendingPathComponent("claude-env")
        let version = try runProcess(binary, ["--version"])
        #expect(version.status == 0)
        #expect(version.output == "claude-env \(ClaudeEnv.version)\n")

        let wrong = try runProcess(binary, ["--definitely-not-an-option"])
        #expect(wrong.status == 64)
        #expect(wrong.output.isEmpty)
        let expected = """
            error: unknown option '--definitely-not-an-option' for 'claude-env'
            Run 'claude-env --help' for usage.

            """
        #expect(wrong.error == expected)
    }
}
