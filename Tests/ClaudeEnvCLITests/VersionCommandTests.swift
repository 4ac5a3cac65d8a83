import ClaudeEnvCLI
import Crypto
import Foundation
import Testing

@Suite("claude-env version")
struct VersionCommandTests {
    @Test("names the program, the vault format and the libraries actually loaded")
    func reportsVersions() throws {
        let result = runCLI(["version"])
        #expect(result.status == 0)
        let lines = result.output.split(separator: "\n").map(String.init)
        try #require(lines.count == 4)
        #expect(lines[0] == "claude-env \(ClaudeEnv.version)")
        #expect(lines[1] == "vault format 1")
        #expect(lines[2].hasPrefix("OpenSSL 3."))
        #expect(lines[3].hasPrefix("libfuse 3."))

        // What the libraries say at run time agrees with the installed command-line tools.
        let openssl = try runProcess(URL(fileURLWithPath: "/usr/bin/openssl"), ["version"])
        #expect(openssl.output.hasPrefix("OpenSSL \(OpenSSLLibrary.version) "))
        #expect(lines[2].hasPrefix("OpenSSL \(OpenSSLLibrary.version) "))
        let fuse = try runProcess(
            URL(fileURLWithPath: "/usr/bin/pkg-config"), ["--modversion", "fuse3"])
        #expect(
            lines[3] == "libfuse \(fuse.output.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
}
