import Foundation
import Glibc
import Testing
import VaultMount
import VaultStore

/// Through a real FUSE mount served by the real program, as a shell would use it.
@Suite(
    "a real mount", .serialized,
    .enabled(if: access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse"))
struct MountTests {
    /// Runs `claude-env mount`, which returns once its background server answers; returns the
    /// server's pid and the mount point.
    func mount(_ sandbox: Sandbox) throws -> (pid: Int32, mountpoint: String) {
        let binary = productsDirectory.appendingPathComponent("claude-env")
        let result = try runProcess(
            binary, ["mount", "--password-file", sandbox.passwordFile],
            environment: sandbox.environment)
        try #require(result.status == 0, "mount failed: \(result.error)")
        let vaultID = try #require(PageStore.peekVaultID(atPath: sandbox.vault))
        let mountpoint = MountPoint.path(forVaultID: vaultID)
        #expect(MountPoint.isMounted(mountpoint))
        let pid = try #require(
            FileBlockDevice.writerPID(of: sandbox.vault), "no process holds the vault")
        return (pid, mountpoint)
    }

    func unmount(_ sandbox: Sandbox, _ pid: Int32) {
        let result = runCLI(["unmount"], environment: sandbox.environment)
        #expect(result.status == 0, "\(result.error)")
        // The server commits and releases the vault before unmount returns.
        #expect(
            FileBlockDevice.writerPID(of: sandbox.vault) != pid, "the server still holds the vault")
    }

    func shell(_ script: String, in directory: String) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try? process.run()
        let text = String(
            decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test(
        "files, links, renames, xattrs, mmap, appends and big directories survive unmount and remount"
    )
    func workload() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        var (pid, mountpoint) = try mount(sandbox)
        let home = mountpoint + "/home"
        let script = """
            set -e
            printf 'one' > a && printf 'two' > b && mv a b && test "$(cat b)" = one
            ln b hard && test "$(stat -c %h b)" = 2
            ln -s b soft && test "$(readlink soft)" = b
            mkdir -p deep/er/est && mv deep moved && test -d moved/er/est
            python3 - <<'PY'
            import os, mmap, fcntl
            os.setxattr('b', 'user.note', b'kept')
            assert os.getxattr('b', 'user.note') == b'kept'
            fd = os.open('mapped', os.O_RDWR | os.O_CREAT, 0o644)
            os.ftruncate(fd, 8192)
            m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
            m[4096:4101] = b'mmap!'
            m.flush(); m.close(); os.close(fd)
            with open('locked', 'w') as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                f.write('locked')
            f = open('sparse', 'wb'); f.seek(50_000_000); f.write(b'end'); f.close()
            os.truncate('sparse', 50_000_001)
            for i in range(10_000):
                open('many-%05d' % i, 'w').close()
            PY
            for n in 1 2; do (for i in $(seq 1 200); do printf "$n" >> appended; done) & done; wait
            test "$(wc -c < appended)" = 400
            test "$(ls | wc -l)" -gt 10000
            """
        let (status, output) = shell(script, in: home)
        #expect(status == 0, "\(output)")
        unmount(sandbox, pid)

        (pid, mountpoint) = try mount(sandbox)
        let check = """
            set -e
            test "$(cat b)" = one && test "$(cat hard)" = one && test "$(readlink soft)" = b
            test -d moved/er/est
            python3 -c "import os; assert os.getxattr('b', 'user.note') == b'kept'"
            test "$(dd if=mapped bs=1 skip=4096 count=5 2>/dev/null)" = 'mmap!'
            test "$(cat locked)" = locked
            test "$(stat -c %s sparse)" = 50000001
            test "$(ls | grep -c '^many-')" = 10000
            test "$(wc -c < appended)" = 400
            """
        let (checkStatus, checkOutput) = shell(check, in: mountpoint + "/home")
        #expect(checkStatus == 0, "\(checkOutput)")
        unmount(sandbox, pid)
        let fsck = sandbox.run(["fsck"])
        #expect(fsck.status == 0, "\(fsck.output)")
    }

    @Test("a tar of a real tree extracts into the vault identical, file by file")
    func tarRoundTrip() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        let (pid, mountpoint) = try mount(sandbox)
        // The toolchain's own headers and docs: thousands of real files of every size.
        let source = "/usr/share/doc"
        let script = """
            set -e
            tar -C \(source) -cf \(sandbox.home)/tree.tar .
            mkdir \(mountpoint)/home/tree && tar -C \(mountpoint)/home/tree -xf \(sandbox.home)/tree.tar
            (cd \(source) && find . -type f -print0 | sort -z | xargs -0 sha256sum) > \(sandbox.home)/expected
            cd \(mountpoint)/home/tree
            find . -type f -print0 | sort -z | xargs -0 sha256sum > \(sandbox.home)/actual
            cd \(sandbox.home)
            cmp \(sandbox.home)/expected \(sandbox.home)/actual
            (cd \(source) && find . | sort) > \(sandbox.home)/names-expected
            (cd \(mountpoint)/home/tree && find . | sort) > \(sandbox.home)/names-actual
            cmp \(sandbox.home)/names-expected \(sandbox.home)/names-actual
            test "$(wc -l < \(sandbox.home)/expected)" -gt 500
            """
        let (status, output) = shell(script, in: sandbox.home)
        #expect(status == 0, "\(output)")
        unmount(sandbox, pid)
        #expect(sandbox.run(["fsck"]).status == 0)
    }

    @Test("git init, add, commit, log and gc inside the vault")
    func git() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/git") else { return }
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        let (pid, mountpoint) = try mount(sandbox)
        let script = """
            set -e
            git init -q project && cd project
            git config user.email test@example.com && git config user.name test
            for i in $(seq 1 100); do echo "file $i" > "f$i"; done
            git add . && git commit -qm first
            echo changed >> f7 && git commit -qam second
            test "$(git log --oneline | wc -l)" = 2
            git gc -q && git fsck --strict 2>&1
            """
        let (status, output) = shell(script, in: mountpoint + "/repos")
        #expect(status == 0, "\(output)")
        unmount(sandbox, pid)
        #expect(sandbox.run(["fsck"]).status == 0)
    }
}

extension MountTests {
    @Test(
        "kill -9 of the server during writes, twenty times: each remount opens, checks clean, keeps all fsync'd"
    )
    func killLoop() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        for round in 0..<20 {
            let (pid, mountpoint) = try mount(sandbox)
            // Everything fsync'd in earlier rounds is there, byte for byte.
            for earlier in 0..<round {
                let data = FileManager.default.contents(
                    atPath: mountpoint + "/home/synced-\(earlier)")
                #expect(
                    data == Data(String(repeating: "round \(earlier) ", count: 3000).utf8),
                    "round \(earlier)")
            }
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            writer.arguments = [
                "python3", "-c",
                """
                import os, sys
                path = sys.argv[1]
                with open(path + '/home/synced-' + sys.argv[2], 'wb') as f:
                    f.write(('round ' + sys.argv[2] + ' ').encode() * 3000)
                    f.flush(); os.fsync(f.fileno())
                print('synced', flush=True)
                try:
                    for i in range(100000):
                        with open('%s/home/unsynced-%s-%d' % (path, sys.argv[2], i), 'wb') as f:
                            f.write(os.urandom(20000))
                except OSError:
                    pass
                """,
                mountpoint, "\(round)",
            ]
            let output = Pipe()
            writer.standardOutput = output
            writer.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try writer.run()
            let line = output.fileHandleForReading.availableData
            #expect(String(decoding: line, as: UTF8.self).hasPrefix("synced"))
            usleep(UInt32.random(in: 10_000...150_000))
            #expect(kill(pid, SIGKILL) == 0)
            writer.waitUntilExit()
            // Wait until the kernel has let go of the dead server's lock.
            for _ in 0..<200 where FileBlockDevice.writerPID(of: sandbox.vault) != nil {
                usleep(10_000)
            }
        }
        // The last dead mount is cleared by the next mount, and the vault checks clean.
        let (pid, mountpoint) = try mount(sandbox)
        #expect(FileManager.default.fileExists(atPath: mountpoint + "/home/synced-19"))
        unmount(sandbox, pid)
        let fsck = sandbox.run(["fsck"])
        #expect(fsck.status == 0, "\(fsck.output)")
    }
}

/// As an ordinary user (uid 65534), through the setuid fusermount3, as on a desktop.
@Suite(
    "a real mount by an ordinary user", .serialized,
    .enabled(
        if: getuid() == 0 && access("/usr/bin/fusermount3", X_OK) == 0
            && access("/usr/bin/setpriv", X_OK) == 0,
        "needs root to become another user, fusermount3 and setpriv"),
    .enabled(
        if: ordinaryUsersCanOpenFuse(),
        "/dev/fuse is not open to ordinary users (chmod 0666 /dev/fuse)"))
struct OrdinaryUserMountTests {
    @Test("bootstrap, mount, write, unmount and read back as uid 65534")
    func ordinaryUser() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(
            "claude-env-user-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        // The user cannot reach the build directory, so it gets its own copy of the program.
        let binary = home + "/claude-env"
        try FileManager.default.copyItem(
            atPath: productsDirectory.appendingPathComponent("claude-env").path, toPath: binary)
        try "user password\n".write(toFile: home + "/password", atomically: true, encoding: .utf8)
        #expect(chownRecursively(home, uid: 65534) == 0)

        func asUser(_ words: [String]) throws -> CLIResult {
            try runProcess(
                URL(fileURLWithPath: "/usr/bin/setpriv"),
                [
                    "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i", "HOME=\(home)",
                    "PATH=/usr/bin:/bin",
                ]
                    + words)
        }
        let password = ["--password-file", home + "/password"]
        #expect(try asUser([binary, "bootstrap"] + password).status == 0)
        let mounted = try asUser([binary, "mount"] + password)
        #expect(mounted.status == 0, "\(mounted.error)")
        let vault = home + "/.local/share/claude-env/claude-env.vault"
        let mountpoint = MountPoint.path(
            forVaultID: try #require(PageStore.peekVaultID(atPath: vault)))
        let mountLine = try String(contentsOfFile: "/proc/mounts", encoding: .utf8).split(
            separator: "\n"
        )
        .first { $0.contains(mountpoint) }
        #expect(mountLine?.contains("user_id=65534") == true)
        let wrote = try asUser([
            "/bin/sh", "-c",
            "echo 'by the user' > \(mountpoint)/home/note && cat \(mountpoint)/home/note",
        ])
        #expect(wrote.output == "by the user\n", "\(wrote.error)")
        // Without allow_other, nobody else (root included) gets in.
        var status = stat()
        #expect(stat(mountpoint + "/home", &status) != 0)
        #expect(try asUser([binary, "unmount"]).status == 0)
        let read = try asUser([binary, "vault", "cat", "home/note"] + password)
        #expect(read.output == "by the user\n")
    }
}

func ordinaryUsersCanOpenFuse() -> Bool {
    var status = stat()
    return stat("/dev/fuse", &status) == 0 && status.st_mode & 0o006 == 0o006
}

func chownRecursively(_ path: String, uid: uid_t) -> Int32 {
    let result = try? runProcess(URL(fileURLWithPath: "/bin/chown"), ["-R", "\(uid):\(uid)", path])
    return result?.status ?? -1
}
