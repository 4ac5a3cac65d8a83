import Platform
import Testing

@Suite("Subprocess")
struct SubprocessTests {
    @Test("returns the exit status and both output streams in full")
    func capturesOutput() throws {
        // 200 KiB on each stream: more than a pipe holds, so both must be drained together.
        let result = try Subprocess.run(
            "/bin/sh", ["-c", "head -c 204800 /dev/zero; head -c 204800 /dev/zero >&2; exit 3"])
        #expect(result.status == 3)
        #expect(result.output.count == 204_800)
        #expect(result.error.count == 204_800)
    }

    @Test("the child starts with no blocked signals, even when spawned from a worker thread")
    func cleanSignalMask() async throws {
        // SigBlk in /proc/self/status is the blocked mask in hex; it must be all zeros.
        let result = try Subprocess.run("/bin/sh", ["-c", "grep SigBlk /proc/self/status"])
        #expect(result.outputText == "SigBlk:\t0000000000000000\n")
        // And an alarm really fires in the child.
        let alarm = try Subprocess.run("/bin/sh", ["-c", "sleep 5 & kill -ALRM $$; sleep 5"])
        #expect(alarm.status == 128 + 14)
    }

    @Test("a program that does not exist is a spawn error naming it")
    func missingProgram() {
        #expect(throws: Subprocess.SpawnError.self) {
            try Subprocess.run("/nonexistent/program-\(UInt32.random(in: 0...UInt32.max))", [])
        }
    }
}
