import Crypto
import Dispatch
import Glibc
import Synchronization
import TestSupport
import Testing
import VaultStore

@testable import VaultFS

@Suite("file contents")
struct ContentTests {
    @Test("small files stay inline and move to blocks when they grow")
    func inlineThenBlocks() throws {
        let (fs, device) = try makeFilesystem()
        let file = try fs.file(root, "f", contents: name("tiny"))
        #expect(try fs.attributes(file.inode).blocks512 == 0)
        try fs.write(file.inode, at: 990, [UInt8](repeating: 9, count: 10))
        #expect(try fs.attributes(file.inode).blocks512 == 0)
        try fs.write(file.inode, at: 1000, name("!"))
        let expected =
            name("tiny") + [UInt8](repeating: 0, count: 986) + [UInt8](repeating: 9, count: 10)
            + name("!")
        #expect(try fs.contents(file.inode) == expected)
        try fs.commit()
        #expect(try reopen(fs, device).contents(file.inode) == expected)
    }

    @Test("writes at any offset and length read back exactly, before and after reopening")
    func randomWrites() throws {
        let (fs, device) = try makeFilesystem(
            limits: .init(cleanBytes: 64 << 10, dirtyBytes: 32 << 10))
        let file = try fs.file(root, "data")
        var model: [UInt8] = []
        var random = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let offset = Int.random(in: 0..<200_000, using: &random)
            let bytes = (0..<Int.random(in: 1..<9000, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            try fs.write(file.inode, at: UInt64(offset), bytes)
            if model.count < offset + bytes.count {
                model += [UInt8](repeating: 0, count: offset + bytes.count - model.count)
            }
            model.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        }
        #expect(try fs.contents(file.inode) == model)
        let probe = try fs.read(file.inode, at: 12_345, count: 5000)
        #expect(probe == Array(model[12_345..<17_345]))
        try fs.commit()
        #expect(try reopen(fs, device).contents(file.inode) == model)
    }

    @Test(
        "a read whose blocks change, move or go after they were fetched returns the file as it is now",
        arguments: ["rewrite", "truncate", "remove"])
    func changedWhileFetched(change: String) throws {
        let (fs, device) = try makeFilesystem()
        let pattern = (0..<(64 << 12)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let file = try fs.file(root, "racing", contents: pattern)
        let other = try fs.file(root, "other")
        try fs.commit()
        // Reopened, nothing is cached: the read fetches every block.
        let reopened = try reopen(fs, device)
        try reopened.opened(file.inode)
        let replacement = [UInt8](repeating: 0xEE, count: 8 << 12)
        let result = try reopened.readPieces(
            file.inode, at: 4 << 12, count: 16 << 12,
            afterFetching: {
                switch change {
                case "rewrite":
                    // Sealed at once by the commit, so the tree names new pages; the old ones
                    // are reused by the other file's blocks.
                    try! reopened.write(file.inode, at: 8 << 12, replacement)
                case "truncate":
                    try! reopened.setAttributes(file.inode, .init(size: 10 << 12))
                default:
                    try! reopened.unlink(root, name("racing"))
                }
                try! reopened.commit()
                try! reopened.write(other.inode, at: 0, [UInt8](repeating: 0x11, count: 64 << 12))
                try! reopened.commit()
            })
        var expected = Array(pattern[(4 << 12)..<(20 << 12)])
        switch change {
        case "rewrite":
            expected.replaceSubrange((4 << 12)..<(12 << 12), with: replacement)
        case "truncate":
            expected = Array(pattern[(4 << 12)..<(10 << 12)])
        default:
            break  // open, so its contents stay until it is closed
        }
        let read = Array(result.joined())
        #expect(read.count == expected.count)
        #expect(read == expected, "the read returned bytes the file no longer holds there")
    }

    @Test("sparse files read zeros in their holes and take no pages there")
    func sparse() throws {
        let (fs, _) = try makeFilesystem()
        let file = try fs.file(root, "sparse")
        let before = fs.statistics.pageCount
        try fs.write(file.inode, at: 1 << 30, name("end"))
        try fs.commit()
        #expect(try fs.attributes(file.inode).size == (1 << 30) + 3)
        #expect(try fs.read(file.inode, at: 1 << 20, count: 8) == [UInt8](repeating: 0, count: 8))
        #expect(try fs.read(file.inode, at: 1 << 30, count: 8) == name("end"))
        #expect(fs.statistics.pageCount - before < 10)
    }

    @Test("truncate shrinks, zeroes the tail, and grows with a hole")
    func truncation() throws {
        let (fs, device) = try makeFilesystem()
        let file = try fs.file(root, "t", contents: [UInt8](repeating: 5, count: 20_000))
        _ = try fs.setAttributes(file.inode, .init(size: 5000))
        _ = try fs.setAttributes(file.inode, .init(size: 12_000))
        let expected = [UInt8](repeating: 5, count: 5000) + [UInt8](repeating: 0, count: 7000)
        #expect(try fs.contents(file.inode) == expected)
        try fs.commit()
        #expect(try reopen(fs, device).contents(file.inode) == expected)
        _ = try fs.setAttributes(file.inode, .init(size: 0))
        #expect(try fs.contents(file.inode).isEmpty)
    }

    @Test("removing files gives their pages back for reuse")
    func spaceReuse() throws {
        let (fs, _) = try makeFilesystem()
        let big = [UInt8](repeating: 3, count: 1 << 20)
        for round in 0..<5 {
            let file = try fs.file(root, "big-\(round)", contents: big)
            try fs.commit()
            try fs.unlink(root, name("big-\(round)"))
            try fs.commit()
            _ = file
        }
        // One megabyte is 256 pages; without reuse five rounds would need over 1,280.
        #expect(fs.statistics.pageCount < 700)
    }

    @Test("truncating and removing a file of thousands of blocks frees each of its pages")
    func largeRemoval() throws {
        let (fs, device) = try makeFilesystem()
        try fs.commit()
        func pagesInUse() -> UInt64 { fs.statistics.pageCount - fs.statistics.freePages }
        let empty = pagesInUse()
        // More blocks than one batch of removals takes, twice over.
        let size = 2500 * 4096 + 10
        let file = try fs.file(root, "large", contents: [UInt8](repeating: 8, count: size))
        try fs.commit()
        #expect(pagesInUse() >= empty + 2501)

        let kept = 1100 * 4096 + 7
        _ = try fs.setAttributes(file.inode, .init(size: UInt64(kept)))
        try fs.commit()
        #expect(try fs.contents(file.inode) == [UInt8](repeating: 8, count: kept))
        #expect(pagesInUse() < empty + 1101 + 40)

        try fs.unlink(root, name("large"))
        try fs.commit()
        #expect(pagesInUse() <= empty + 2)
        #expect(try reopen(fs, device).check().isClean)
    }

    @Test("a damaged data page reads as EIO for its file only")
    func damagedPage() throws {
        let (fs, device) = try makeFilesystem()
        let victim = try fs.file(root, "victim", contents: [UInt8](repeating: 1, count: 8192))
        let bystander = try fs.file(root, "bystander", contents: [UInt8](repeating: 2, count: 8192))
        try fs.commit()
        let reopened = try reopen(fs, device)
        // The victim's blocks were written first; find a page holding neither tree nor bystander
        // data by flipping each data page in turn until the victim fails.
        var damaged = false
        for page in 4..<Int(reopened.statistics.pageCount) where !damaged {
            device.tamper(at: 0) { $0[page * 4096 + 17] ^= 0x40 }
            let fresh = try? reopen(fs, device)
            if let fresh,
                (try? fresh.contents(bystander.inode)) == [UInt8](repeating: 2, count: 8192)
            {
                do {
                    _ = try fresh.contents(victim.inode)
                } catch let error as FilesystemError {
                    #expect(error.errno == EIO)
                    let report = fresh.check()
                    #expect(
                        report.problems.contains {
                            $0.hasPrefix("/victim block") && $0.contains("damaged")
                        })
                    damaged = true
                }
            }
            device.tamper(at: 0) { $0[page * 4096 + 17] ^= 0x40 }
        }
        #expect(damaged)
    }
}

@Suite("fsck finds damage anywhere")
struct DamageEverywhereTests {
    @Test("a byte flipped in any page in use is reported; only free pages may change unnoticed")
    func flipEveryPage() throws {
        let (fs, device) = try makeFilesystem()
        let dir = try fs.directory(root, "d")
        for index in 0..<30 {
            _ = try fs.file(
                dir.inode, "f\(index)",
                contents: [UInt8](repeating: UInt8(index), count: index * 700))
        }
        try fs.commit()
        try fs.unlink(dir.inode, name("f3"))
        try fs.commit()
        let free = Set(fs.store.freeSpace.free.flatMap { Array($0) })
        let pageCount = Int(fs.statistics.pageCount)
        var random = SystemRandomNumberGenerator()
        var reported = 0
        for page in 0..<pageCount {
            let offset = page * 4096 + Int.random(in: 0..<4096, using: &random)
            device.tamper(at: 0) { $0[offset] ^= 0x10 }
            defer { device.tamper(at: 0) { $0[offset] ^= 0x10 } }
            var clean: Bool
            do {
                clean = try reopen(fs, device).check().isClean
            } catch {
                clean = false  // refusing to open is a report too
            }
            if free.contains(UInt64(page)) {
                #expect(clean, "free page \(page)")
            } else {
                #expect(!clean, "page \(page), byte \(offset % 4096): damage went unnoticed")
                reported += 1
            }
        }
        #expect(reported == pageCount - free.count)
    }
}

@Suite("repair")
struct RepairTests {
    func repaired(_ device: MemoryBlockDevice, master: SecretBytes) throws -> (
        VaultFilesystem, RepairReport
    ) {
        let store = try PageStore.open(
            device: device, credential: .masterKey(master), readOnly: false, trustFreeList: false)
        let report = try VaultFilesystem.repair(store)
        return (try VaultFilesystem.open(store), report)
    }

    @Test("a clean vault comes through repair unchanged")
    func cleanVault() throws {
        let (fs, device) = try makeFilesystem()
        var workload = Workload(random: SplitMix(state: 5))
        for _ in 0..<300 { try workload.step(fs) }
        try fs.commit()
        let before = try snapshot(fs)
        let (after, report) = try repaired(device, master: fs.store.masterKey)
        #expect(report.losses.isEmpty, "\(report.losses)")
        #expect(try snapshot(after) == before)
        #expect(after.check().isClean)
    }

    @Test("damaged data and a damaged tree node lose only what they held")
    func damagedVault() throws {
        let (fs, device) = try makeFilesystem()
        let keep = try fs.file(root, "keep", contents: [UInt8](repeating: 1, count: 9000))
        let hurt = try fs.file(root, "hurt", contents: [UInt8](repeating: 2, count: 9000))
        try fs.commit()
        // Damage the middle block of "hurt": find its page by damaging candidates until it fails.
        let master = fs.store.masterKey
        var damagedPage: Int?
        for page in 4..<Int(fs.statistics.pageCount) where damagedPage == nil {
            device.tamper(at: 0) { $0[page * 4096 + 9] ^= 1 }
            let probe = try reopen(fs, device)
            if (try? probe.read(hurt.inode, at: 4096, count: 4096)) == nil,
                (try? probe.contents(keep.inode)) != nil
            {
                damagedPage = page
            } else {
                device.tamper(at: 0) { $0[page * 4096 + 9] ^= 1 }
            }
        }
        #expect(damagedPage != nil)
        let (after, report) = try repaired(device, master: master)
        #expect(report.losses.count == 1)
        #expect(after.check().isClean)
        #expect(try after.contents(keep.inode) == [UInt8](repeating: 1, count: 9000))
        let expected =
            [UInt8](repeating: 2, count: 4096) + [UInt8](repeating: 0, count: 4096)
            + [UInt8](repeating: 2, count: 808)
        #expect(try after.contents(hurt.inode) == expected)
        // The repaired vault takes new writes and stays clean after reopening.
        _ = try after.file(root, "new", contents: name("after repair"))
        try after.commit()
        #expect(try reopen(after, device).check().isClean)
    }

    @Test("a lost directory's children move to lost+found")
    func lostParent() throws {
        let (fs, device) = try makeFilesystem()
        let dir = try fs.directory(root, "dir")
        let child = try fs.file(dir.inode, "child", contents: name("still here"))
        for index in 0..<400 {
            _ = try fs.file(root, "padding-\(index)", contents: name("\(index)"))
        }
        try fs.commit()
        // Remove the root's entry for "dir" behind the filesystem's back, as a lost leaf would.
        let store = try PageStore.open(
            device: device, credential: .masterKey(fs.store.masterKey), readOnly: false)
        let broken = try VaultFilesystem.open(store)
        try broken.forgetEntryForTesting(root, name("dir"))
        try broken.commit()
        #expect(!broken.check().isClean)
        let (after, report) = try repaired(device, master: fs.store.masterKey)
        #expect(report.movedToLostAndFound == 1)
        #expect(after.check().isClean)
        let found = try after.readDirectory(root, after: 0, limit: .max).first {
            $0.name.starts(with: name("lost+found-"))
        }
        let lostAndFound = try #require(found)
        let moved = try after.lookup(lostAndFound.inode, name("inode-\(dir.inode)"))
        #expect(
            try after.contents(try after.lookup(moved.inode, name("child")).inode)
                == name("still here"))
        _ = child
    }
}

@Suite("commits without fsync")
struct AutomaticCommitTests {
    @Test("changes become durable on the timer, without fsync")
    func timer() async throws {
        let (fs, device) = try makeFilesystem()
        let before = fs.store.committed.sequence
        _ = try fs.file(root, "unsynced", contents: name("made durable by the timer"))
        fs.commitPeriodically(every: .milliseconds(20)) { error in
            Issue.record("commit failed: \(error)")
        }
        defer { fs.stopPeriodicCommits() }
        for _ in 0..<500 where fs.store.committed.sequence == before {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(fs.store.committed.sequence > before)
        let reopened = try reopen(fs, device)
        #expect(
            try reopened.contents(try reopened.lookup(root, name("unsynced")).inode)
                == name("made durable by the timer"))
        // With nothing to write, the timer commits nothing.
        let idle = fs.store.committed.sequence
        try await Task.sleep(for: .milliseconds(100))
        #expect(fs.store.committed.sequence == idle)
    }

    @Test("writing more than the dirty limit commits along the way and keeps memory bounded")
    func memoryPressure() async throws {
        let (fs, _) = try makeFilesystem(
            limits: .init(cleanBytes: 256 << 10, dirtyBytes: 256 << 10))
        let file = try fs.file(root, "large")
        let before = fs.store.committed.sequence
        let chunk = [UInt8](repeating: 0x33, count: 1 << 20)
        for index in 0..<8 { try fs.write(file.inode, at: UInt64(index) << 20, chunk) }
        // The commits run beside the writes, so the last may still be on its way.
        for _ in 0..<500 where fs.store.committed.sequence < before + 2 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(fs.store.committed.sequence >= before + 2)
        #expect(
            try fs.read(file.inode, at: 5 << 20, count: 16) == [UInt8](repeating: 0x33, count: 16))
    }

    @Test(
        "writes, removals and commits at once leave a vault that checks clean and holds every byte")
    func commitsDuringWrites() throws {
        let (fs, device) = try makeFilesystem(
            limits: .init(cleanBytes: 256 << 10, dirtyBytes: 256 << 10))
        let files = try (0..<2).map { try fs.file(root, "writer-\($0)").inode }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { role in
            do {
                switch role {
                case 0, 1:
                    // Every 16 KiB chunk says which writer and pass wrote it.
                    for pass in 0..<6 {
                        for chunk in 0..<64 {
                            let byte = UInt8(truncatingIfNeeded: role * 16 + pass)
                            try fs.write(
                                files[role], at: UInt64(chunk) << 14,
                                [UInt8](repeating: byte, count: 1 << 14))
                        }
                    }
                case 2:
                    for round in 0..<60 {
                        let file = try fs.file(
                            root, "scratch-\(round)", contents: [UInt8](repeating: 9, count: 20_000)
                        )
                        if round % 3 != 0 { try fs.unlink(root, name("scratch-\(round)")) }
                        _ = file
                    }
                default:
                    for _ in 0..<40 { try fs.commit() }
                }
            } catch {
                failures.withLock { $0.append("\(role): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        try fs.commit()
        let reopened = try reopen(fs, device)
        #expect(reopened.check().isClean)
        for (writer, file) in files.enumerated() {
            #expect(
                try reopened.contents(file)
                    == [UInt8](repeating: UInt8(writer * 16 + 5), count: 64 << 14))
        }
        #expect(try reopened.names(root).filter { $0.hasPrefix("scratch-") }.count == 20)
    }
}

/// A memory device that records the read-ahead it is asked for.
private final class ReadAheadRecorder: BlockDevice {
    let inner = MemoryBlockDevice()
    let asked = Mutex<[Range<UInt64>]>([])
    /// Every read and every ask, in order: pages read, and pages asked for.
    let events = Mutex<[(read: Bool, pages: Range<UInt64>)]>([])

    var name: String { inner.name }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        let size = UInt64(VaultFormat.pageSize)
        events.withLock {
            $0.append((true, offset / size..<(offset + UInt64(buffer.count)) / size))
        }
        return try inner.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try inner.write(bytes, at: offset)
    }

    func sync() throws { try inner.sync() }

    func size() throws -> UInt64 { try inner.size() }

    func startReading(at offset: UInt64, count: Int) {
        asked.withLock { $0.append(offset..<offset + UInt64(count)) }
        let size = UInt64(VaultFormat.pageSize)
        events.withLock { $0.append((false, offset / size..<(offset + UInt64(count)) / size)) }
    }
}

@Suite("read-ahead")
struct ReadAheadTests {
    /// A filesystem on a recording device with what `fill` writes, committed, and the same
    /// vault opened again with nothing cached.
    private func reopenedFilesystem(
        on device: ReadAheadRecorder, _ fill: (VaultFilesystem) throws -> InodeAttributes
    ) throws -> (VaultFilesystem, InodeAttributes) {
        let (store, _) = try PageStore.create(
            device: device, password: SecretBytes(copying: "pw".utf8),
            derivation: .scrypt(Scrypt.Parameters(logN: 15, r: 8, p: 1)))
        let fs = try VaultFilesystem.format(store, uid: 1000, gid: 1000)
        let file = try fill(fs)
        try fs.commit()
        let reopened = try VaultFilesystem.open(
            try PageStore.open(
                device: device, credential: .masterKey(store.masterKey), readOnly: false))
        return (reopened, file)
    }

    @Test("reading a file in order asks the disk for what follows; reading here and there does not")
    func sequentialOnly() throws {
        let device = ReadAheadRecorder()
        let (reopened, file) = try reopenedFilesystem(on: device) { fs in
            let file = try fs.file(root, "long")
            for megabyte in 0..<16 {
                try fs.write(
                    file.inode, at: UInt64(megabyte) << 20, [UInt8](repeating: 7, count: 1 << 20))
            }
            return file
        }
        let vaultEnd = try device.size()

        for offset in [UInt64(9) << 20, 2 << 20, 13 << 20, 5 << 20] {
            #expect(try reopened.read(file.inode, at: offset, count: 1 << 20).count == 1 << 20)
        }
        #expect(device.asked.withLock { $0 }.isEmpty)
        device.events.withLock { $0.removeAll() }

        var readEnd: UInt64 = 0
        for megabyte in 0..<4 {
            let bytes = try reopened.read(file.inode, at: UInt64(megabyte) << 20, count: 1 << 20)
            #expect(bytes == [UInt8](repeating: 7, count: 1 << 20))
            readEnd = UInt64(megabyte + 1) << 20
        }
        let asked = device.asked.withLock { $0 }
        #expect(!asked.isEmpty)
        // Ahead of what was read, within the vault, and never asked twice.
        for range in asked {
            #expect(range.lowerBound >= readEnd / 2 && range.upperBound <= vaultEnd)
        }
        #expect(zip(asked, asked.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound })
        // Reads of many blocks ask nothing before reading; the ask ahead follows the read.
        let events = device.events.withLock { $0 }
        #expect(events.first?.read == true)
    }

    @Test("a single block read out of order asks for the pages around it first")
    func readAround() throws {
        let device = ReadAheadRecorder()
        let (reopened, file) = try reopenedFilesystem(on: device) { fs in
            try fs.file(root, "blocks", contents: [UInt8](repeating: 3, count: 4 << 20))
        }
        // Attributes and the tree's nodes first, so that only the block is left to read.
        _ = try reopened.read(file.inode, at: 0, count: 1)

        for block: UInt64 in [700, 31, 512, 9] {
            device.events.withLock { $0.removeAll() }
            #expect(
                try reopened.read(file.inode, at: block * 4096, count: 4096)
                    == [UInt8](
                        repeating: 3, count: 4096))
            // One ask, of an aligned window, then the block's page read from inside it; a tree
            // node the lookup needed may be read before both.
            let events = device.events.withLock { $0 }
            #expect(events.filter { !$0.read }.count == 1)
            guard events.count >= 2 else { continue }
            let (ask, read) = (events[events.count - 2], events[events.count - 1])
            #expect(ask.read == false && read.read == true)
            #expect(ask.pages.count == 8 && ask.pages.lowerBound % 8 == 0)
            #expect(read.pages.count == 1 && ask.pages.contains(read.pages.lowerBound))
        }
    }
}
