import Crypto
import Testing
import VaultStore

@Suite("crashes at every write")
struct CrashTests {
    /// Commits `rounds` states, each a root page naming its round, recording every write and
    /// sync. Returns the image before the first round, the events, and for each round the
    /// position just after its commit's last sync.
    func workload(rounds: Int) throws -> (
        base: [UInt8], events: [MemoryBlockDevice.Event], commits: [Int], master: SecretBytes
    ) {
        let (store, device, _) = try makeStore()
        let base = device.bytes
        device.clearEvents()
        var commits: [Int] = []
        var previous: [PagePointer] = []
        for round in 0..<rounds {
            for pointer in previous { store.release(pointer) }
            // A few pages of data, then the root that names the round.
            previous = try store.write(
                batch: (0..<(round % 3 + 1)).map { _ in labelledPage("data \(round)") },
                kind: .fileData)
            let root = try store.write(labelledPage("round \(round)"), kind: .treeNode)
            previous.append(root)
            try store.commit(root: root, nextInode: UInt64(100 + round))
            commits.append(device.events.count)
        }
        return (base, device.events, commits, store.masterKey)
    }

    @Test("every cut opens at the newest durable commit or a later one, never anything else")
    func everyCut() throws {
        let (base, events, commits, master) = try workload(rounds: 6)
        let keepPolicies: [(String, (Int) -> Bool, (Int) -> Bool)] = [
            ("lose every unsynced write", { _ in false }, { _ in false }),
            ("keep every unsynced write", { _ in true }, { _ in false }),
            ("keep alternate writes", { $0 % 2 == 0 }, { _ in false }),
            ("keep the others", { $0 % 2 == 1 }, { _ in false }),
            ("tear the first unsynced write", { _ in true }, { $0 == 0 }),
        ]
        var checked = 0
        for cut in 0...events.count {
            // The newest commit whose final sync is inside the cut must be there.
            let durable = commits.lastIndex { $0 <= cut }
            for (policy, keep, tear) in keepPolicies {
                let image = MemoryBlockDevice.crashImage(
                    base: base, events: events, cut: cut, keep: keep, tear: tear)
                let store = try PageStore.open(
                    device: MemoryBlockDevice(bytes: image), credential: .masterKey(master),
                    readOnly: true)
                let state = store.committed
                if state.root.isNull {
                    #expect(durable == nil, "cut \(cut), \(policy): lost round \(durable ?? -1)")
                    continue
                }
                let round = Int(state.nextInode) - 100
                #expect(
                    round >= (durable ?? -1), "cut \(cut), \(policy): went back to round \(round)")
                #expect(
                    round <= (durable ?? -1) + 1, "cut \(cut), \(policy): a round from the future")
                #expect(
                    try store.read(state.root, kind: .treeNode) == labelledPage("round \(round)"))
                checked += 1
            }
        }
        #expect(checked > events.count * 4)
    }
}
