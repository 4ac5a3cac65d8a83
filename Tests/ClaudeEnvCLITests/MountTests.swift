import Foundation
import Glibc
import Testing
import VaultMount

/// Through a real FUSE mount served by the real program, as a shell would use it.
@Suite(
    "a real mount", .serialized,
    .enabled(if: access("/dev/fuse", R_OK | W_OK) == 0, "needs /dev/fuse"))
struct MountTests {
    /// Starts `claude-env mount` and waits until the mount answers.
    func mount(_ sandbox: Sandbox) throws -> (Process, String) {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("claude-env")
        process.arguments = ["mount", "--password-file", sandbox.passwordFile]
        process.environment = sandbox.environment
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let vaultID = try #require(VaultHeaderPeekForTests.vaultID(sandbox.vault))
        let mountpoint = MountPoint.path(forVaultID: vaultID)
        for _ in 0..<200 where !MountPoint.isMounted(mountpoint) { usleep(25_000) }
        try #require(MountPoint.isMounted(mountpoint), "the mount did not appear")
        return (process, mountpoint)
    }

    func unmount(_ sandbox: Sandbox, _ process: Process) {
        let result = runCLI(["unmount"], environment: sandbox.environment)
        #expect(result.status == 0, "\(result.error)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
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
        var (process, mountpoint) = try mount(sandbox)
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
        unmount(sandbox, process)

        (process, mountpoint) = try mount(sandbox)
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
        unmount(sandbox, process)
        let fsck = sandbox.run(["fsck"])
        #expect(fsck.status == 0, "\(fsck.output)")
    }

    @Test("git init, add, commit, log and gc inside the vault")
    func git() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/git") else { return }
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(sandbox.run(["bootstrap"]).status == 0)
        let (process, mountpoint) = try mount(sandbox)
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
        unmount(sandbox, process)
        #expect(sandbox.run(["fsck"]).status == 0)
    }
}

enum VaultHeaderPeekForTests {
    static func vaultID(_ path: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 40 else {
            return nil
        }
        return Array(data[24..<40])
    }
}
