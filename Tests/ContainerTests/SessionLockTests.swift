import Container
import Foundation
import Testing

@Suite("session counting")
struct SessionLockTests {
    @Test("only the last session to leave is told it is the last")
    func lastOneOut() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sessions-\(UUID().uuidString)"
        ).path
        defer { unlink(path) }
        var first: SessionLock? = try SessionLock(path: path)
        let second = try SessionLock(path: path)
        #expect(first!.leave() == false)
        first = nil
        #expect(second.leave() == true)
    }
}
