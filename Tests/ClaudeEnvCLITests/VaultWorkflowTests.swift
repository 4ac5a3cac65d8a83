import Foundation
import Testing
import VaultStore

@Suite("vault commands as a user runs them", .serialized)
struct VaultWorkflowTests {
    @Test("bootstrap, put, ls, cat, get, passwd, recovery key, fsck")
    func fullCycle() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let created = sandbox.run(["bootstrap", "--size", "1"])
        #expect(created.status == 0, "\(created.error)")
        #expect(FileManager.default.fileExists(atPath: sandbox.vault))
        let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.vault)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let recoveryLine = created.output.split(separator: "\n").first {
            $0.hasPrefix("    ") && $0.contains("-")
        }
        let recoveryKey = try #require(recoveryLine).trimmingCharacters(in: .whitespaces)
        #expect(sandbox.run(["bootstrap"]).status == 1)

        // A tree of files goes in and comes back identical.
        let tree = sandbox.home + "/tree"
        try FileManager.default.createDirectory(
            atPath: tree + "/nested", withIntermediateDirectories: true)
        for index in 0..<60 {
            let bytes = (0..<(index * 137)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            try Data(bytes).write(to: URL(fileURLWithPath: tree + "/nested/file-\(index)"))
        }
        try FileManager.default.createSymbolicLink(
            atPath: tree + "/link", withDestinationPath: "nested/file-1")
        #expect(sandbox.run(["vault", "put", tree, "repos"]).status == 0)
        let listing = sandbox.run(["vault", "ls", "repos/tree"])
        #expect(listing.output.contains("nested/"))
        #expect(listing.output.contains("link@"))
        #expect(
            sandbox.run(["vault", "ls", "repos/tree/nested"]).output.split(separator: "\n").count
                == 60)
        let copy = sandbox.home + "/copy"
        #expect(sandbox.run(["vault", "get", "repos/tree", copy]).status == 0)
        for index in 0..<60 {
            #expect(
                FileManager.default.contentsEqual(
                    atPath: tree + "/nested/file-\(index)", andPath: copy + "/nested/file-\(index)")
            )
        }
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: copy + "/link")
                == "nested/file-1")

        #expect(sandbox.run(["vault", "mkdir", "-p", "repos/a/b/c"]).status == 0)
        #expect(sandbox.run(["vault", "rm", "repos/a"]).status == 1)
        #expect(sandbox.run(["vault", "rm", "-r", "repos/a"]).status == 0)
        let expected = (0..<274).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 2) }
        #expect(sandbox.run(["vault", "cat", "repos/tree/nested/file-2"]).outputBytes == expected)

        // A new password opens; the old one no longer does; the recovery key still does.
        let newPasswordFile = sandbox.home + "/new-password"
        try "second password\n".write(toFile: newPasswordFile, atomically: true, encoding: .utf8)
        let changed = sandbox.run(["passwd", "--new-password-file", newPasswordFile])
        #expect(changed.status == 0, "\(changed.error)")
        #expect(sandbox.run(["vault", "ls"]).status == 77)
        #expect(sandbox.run(["vault", "ls"], password: "second password").status == 0)
        #expect(sandbox.run(["vault", "ls"], password: recoveryKey.lowercased()).status == 0)

        let check = sandbox.run(["fsck"], password: "second password")
        #expect(check.status == 0, "\(check.output)\(check.error)")
        #expect(check.output.contains("60 files, 7 directories, 1 symlinks"))
        #expect(check.output.hasSuffix("clean\n"))
    }

    @Test("a cache size in the config file that is not one stops mount before it asks anything")
    func badCacheSizeInConfig() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let config = sandbox.home + "/.config/claude-env"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        try "cache-size=lots\n".write(toFile: config + "/config", atomically: true, encoding: .utf8)
        let result = sandbox.run(["mount"])
        #expect(result.status == 78)
        #expect(
            result.error
                == "error: cache-size=lots in \(config)/config is not a size from 8M to 4G\n")
    }

    @Test("fsck reports a damaged page with the path it belongs to")
    func fsckFindsDamage() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        let file = sandbox.home + "/big"
        try Data(repeating: 0x41, count: 40_000).write(to: URL(fileURLWithPath: file))
        #expect(sandbox.run(["vault", "put", file, "home/big"]).status == 0)
        // The data pages follow the first few metadata pages; damage the one in the middle.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: sandbox.vault))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        var byte = try handle.read(upToCount: 1)!
        byte[0] ^= 0x01
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: byte)
        try handle.close()
        let check = sandbox.run(["fsck"])
        #expect(check.status == 65)
        #expect(check.output.contains("problem: "))

        let repair = sandbox.run(["fsck", "--repair"])
        #expect(repair.status == 0, "\(repair.output)\(repair.error)")
        #expect(repair.output.contains("the repaired vault checks clean"))
        #expect(sandbox.run(["fsck"]).status == 0)
        #expect(sandbox.run(["vault", "ls", "home"]).output.contains("big"))
    }

    @Test("files that are not a vault get a clear error and stay as they were")
    func notAVault() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let path = sandbox.home + "/random.bin"
        let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        try bytes.write(to: URL(fileURLWithPath: path))
        let result = sandbox.run(["vault", "ls", "--volume", path])
        #expect(result.status == 65)
        #expect(result.error.contains("is not a claude-env vault"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        let missing = sandbox.run(["vault", "ls", "--volume", sandbox.home + "/nope"])
        #expect(missing.status == 66)
        #expect(missing.error.contains("create one with 'claude-env bootstrap'"))
    }

    @Test("an older copy put back is refused for writing and reported for reading")
    func rollbackIsReported() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        let saved = try Data(contentsOf: URL(fileURLWithPath: sandbox.vault))
        #expect(sandbox.run(["vault", "mkdir", "home/new"]).status == 0)
        try saved.write(to: URL(fileURLWithPath: sandbox.vault))
        let write = sandbox.run(["vault", "mkdir", "home/other"])
        #expect(write.status == 65)
        #expect(write.error.contains("is older than the state this machine last saw"))
        let read = sandbox.run(["vault", "ls", "home"])
        #expect(read.status == 0)
        #expect(read.error.contains("warning:"))
        #expect(sandbox.run(["vault", "mkdir", "home/other", "--accept-stale"]).status == 0)
        #expect(sandbox.run(["vault", "mkdir", "home/third"]).status == 0)
    }

    @Test("without a password source and no terminal, the error says how to give one")
    func noPassword() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let result = runCLI(["bootstrap"], environment: sandbox.environment)
        #expect(result.status == 64)
        #expect(
            result.error.contains(
                "--password-file FILE, --password-stdin or the CLAUDE_ENV_PASSWORD variable"))
        var environment = sandbox.environment
        environment["CLAUDE_ENV_PASSWORD"] = "from the environment"
        #expect(runCLI(["bootstrap"], environment: environment).status == 0)
        #expect(
            runCLI(
                ["vault", "ls", "--password-stdin"], environment: sandbox.environment,
                input: Array("from the environment\n".utf8)
            ).status == 0)
    }
}

@Suite("one writer")
struct SingleWriterTests {
    @Test("a second writer is refused with the holder's pid, and the vault is untouched")
    func secondWriterRefused() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: sandbox.vault))
        // This process holds the write lock; the real program, as another process, must be refused.
        let holder = try FileBlockDevice(openingExisting: sandbox.vault, access: .readWrite)
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("claude-env")
        process.arguments = [
            "vault", "mkdir", "home/x", "--volume", sandbox.vault, "--password-file",
            sandbox.passwordFile,
        ]
        process.environment = sandbox.environment
        let error = Pipe()
        process.standardError = error
        try process.run()
        let message = String(
            decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 69)
        #expect(message.contains("is in use by process \(getpid())"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.vault)) == before)
        _ = holder
    }
}
