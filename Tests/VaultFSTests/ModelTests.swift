import Crypto
import Glibc
import TestSupport
import Testing
import VaultFS
import VaultStore

/// What the filesystem should hold: every path, and what is at it.
enum ModelNode: Equatable {
    case directory
    case file([UInt8])
    case symlink([UInt8])
}

typealias Model = [String: ModelNode]

/// Reads the whole filesystem into the model's shape.
func snapshot(_ fs: VaultFilesystem) throws -> Model {
    var result: Model = ["": .directory]
    func walk(_ inode: UInt64, _ path: String) throws {
        for entry in try fs.readDirectory(inode, after: 0, limit: .max) {
            let child =
                (path.isEmpty ? "" : path + "/") + String(decoding: entry.name, as: UTF8.self)
            switch entry.type {
            case .directory:
                result[child] = .directory
                try walk(entry.inode, child)
            case .symbolicLink:
                result[child] = .symlink(try fs.readSymbolicLink(entry.inode))
            default:
                result[child] = .file(try fs.contents(entry.inode))
            }
        }
    }
    try walk(root, "")
    return result
}

/// Random operations applied to the filesystem and to the model alike.
struct Workload {
    var random: SplitMix
    var model: Model = ["": .directory]

    func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    func leaf(of path: String) -> [UInt8] {
        Array((path.split(separator: "/").last.map(String.init) ?? "").utf8)
    }

    func resolve(_ fs: VaultFilesystem, _ path: String) throws -> UInt64 {
        var inode = root
        for part in path.split(separator: "/") {
            inode = try fs.lookup(inode, Array(part.utf8)).inode
        }
        return inode
    }

    func children(of path: String) -> [String] {
        model.keys.filter { !$0.isEmpty && parent(of: $0) == path }
    }

    mutating func pick(_ filter: (ModelNode) -> Bool) -> String? {
        let candidates = model.filter { filter($0.value) }.keys.sorted()
        guard !candidates.isEmpty else { return nil }
        return candidates[Int(random.next() % UInt64(candidates.count))]
    }

    mutating func freshName() -> String { "n\(random.next() % 40)" }

    mutating func step(_ fs: VaultFilesystem) throws {
        let directory = pick { $0 == .directory }!
        let newPath = (directory.isEmpty ? "" : directory + "/") + freshName()
        switch random.next() % 9 {
        case 0:
            let result = Result {
                try fs.makeDirectory(
                    try resolve(fs, directory), leaf(of: newPath), mode: 0o755, uid: 1, gid: 1)
            }
            expect(result, success: model[newPath] == nil, orErrno: EEXIST)
            if model[newPath] == nil { model[newPath] = .directory }
        case 1, 2:
            let content = (0..<Int(random.next() % 6000)).map { _ in
                UInt8(truncatingIfNeeded: random.next())
            }
            let result = Result {
                let node = try fs.makeNode(
                    try resolve(fs, directory), leaf(of: newPath), mode: 0o644, uid: 1, gid: 1)
                try fs.write(node.inode, at: 0, content)
            }
            expect(result, success: model[newPath] == nil, orErrno: EEXIST)
            if model[newPath] == nil { model[newPath] = .file(content) }
        case 3:
            guard let path = pick({ if case .file = $0 { true } else { false } }),
                case .file(var content) = model[path]
            else { return }
            let offset = Int(random.next() % 10_000)
            let bytes = (0..<Int(1 + random.next() % 5000)).map { _ in
                UInt8(truncatingIfNeeded: random.next())
            }
            try fs.write(try resolve(fs, path), at: UInt64(offset), bytes)
            if content.count < offset + bytes.count {
                content += [UInt8](repeating: 0, count: offset + bytes.count - content.count)
            }
            content.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            model[path] = .file(content)
        case 4:
            guard let path = pick({ if case .file = $0 { true } else { false } }),
                case .file(var content) = model[path]
            else { return }
            let size = Int(random.next() % 9000)
            _ = try fs.setAttributes(try resolve(fs, path), .init(size: UInt64(size)))
            if size < content.count {
                content.removeSubrange(size...)
            } else {
                content += [UInt8](repeating: 0, count: size - content.count)
            }
            model[path] = .file(content)
        case 5:
            guard let path = pick({ $0 != .directory }) else { return }
            try fs.unlink(try resolve(fs, parent(of: path)), leaf(of: path))
            model[path] = nil
        case 6:
            guard let path = pick({ $0 == .directory }), !path.isEmpty else { return }
            let empty = children(of: path).isEmpty
            let result = Result {
                try fs.removeDirectory(try resolve(fs, parent(of: path)), leaf(of: path))
            }
            expect(result, success: empty, orErrno: ENOTEMPTY)
            if empty { model[path] = nil }
        case 7:
            let target = Array("target-\(random.next() % 100)".utf8)
            let result = Result {
                try fs.makeSymbolicLink(
                    try resolve(fs, directory), leaf(of: newPath), target: target, uid: 1, gid: 1)
            }
            expect(result, success: model[newPath] == nil, orErrno: EEXIST)
            if model[newPath] == nil { model[newPath] = .symlink(target) }
        default:
            guard let source = pick({ _ in true }), !source.isEmpty else { return }
            try rename(fs, source, to: newPath)
        }
    }

    mutating func rename(_ fs: VaultFilesystem, _ source: String, to target: String) throws {
        let sourceNode = model[source]!
        let targetNode = model[target]
        var expected: Int32? = nil
        if target == source || target.hasPrefix(source + "/") {
            expected = target == source ? nil : EINVAL
        } else if let targetNode {
            if targetNode == .directory && sourceNode != .directory { expected = EISDIR }
            if targetNode != .directory && sourceNode == .directory { expected = ENOTDIR }
            if targetNode == .directory && sourceNode == .directory && !children(of: target).isEmpty
            {
                expected = ENOTEMPTY
            }
        }
        let result = Result {
            try fs.rename(
                try resolve(fs, parent(of: source)), leaf(of: source),
                to: try resolve(fs, parent(of: target)), leaf(of: target))
        }
        expect(result, success: expected == nil, orErrno: expected ?? 0)
        guard expected == nil, target != source else { return }
        let moved = model.filter { $0.key == source || $0.key.hasPrefix(source + "/") }
        model = model.filter { !($0.key == target || $0.key.hasPrefix(target + "/")) }
        for (path, node) in moved {
            model[path] = nil
            model[target + path.dropFirst(source.count)] = node
        }
    }

    func expect(
        _ result: Result<some Any, any Error>, success: Bool, orErrno errno: Int32,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        switch result {
        case .success:
            #expect(success, "succeeded, expected errno \(errno)", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(!success, "failed: \(error)", sourceLocation: sourceLocation)
            #expect(
                (error as? FilesystemError)?.errno == errno, "\(error)",
                sourceLocation: sourceLocation)
        }
    }
}

@Suite("filesystem against a model")
struct ModelTests {
    @Test(
        "long random sequences match the model after every step, commit and reopen",
        arguments: [11, 12, 13, 14])
    func randomSequences(seed: UInt64) throws {
        var (fs, device) = try makeFilesystem(
            limits: .init(cleanBytes: 128 << 10, dirtyBytes: 64 << 10))
        var workload = Workload(random: SplitMix(state: seed))
        for step in 0..<600 {
            try workload.step(fs)
            if step % 50 == 0 { #expect(try snapshot(fs) == workload.model, "step \(step)") }
            if step % 150 == 149 {
                try fs.commit()
                fs = try reopen(fs, device)
                #expect(try snapshot(fs) == workload.model, "after reopen at step \(step)")
                let report = fs.check()
                #expect(report.isClean, "\(report.problems)")
            }
        }
    }
}

@Suite("filesystem crashes")
struct FilesystemCrashTests {
    @Test("a crash at any write recovers exactly a committed state, never losing a commit")
    func crashAtEveryWrite() throws {
        // Dirty data never reaches the limit here, so commits happen only where the test makes them.
        let (fs, device) = try makeFilesystem(
            limits: .init(cleanBytes: 64 << 10, dirtyBytes: 64 << 20))
        let base = device.bytes
        device.clearEvents()
        var workload = Workload(random: SplitMix(state: 99))
        var committed: [(position: Int, model: Model)] = [(0, try snapshot(fs))]
        for round in 0..<8 {
            for _ in 0..<(5 + round) { try workload.step(fs) }
            try fs.commit()
            committed.append((device.events.count, workload.model))
        }
        let events = device.events
        let master = fs.store.masterKey
        let cuts =
            Array(stride(from: 0, through: events.count, by: max(1, events.count / 150))) + [
                events.count
            ]
        for cut in cuts {
            let durable = committed.lastIndex { $0.position <= cut }!
            for keep in [
                { (_: Int) in false }, { (_: Int) in true }, { (index: Int) in index % 3 != 1 },
            ] {
                let image = MemoryBlockDevice.crashImage(
                    base: base, events: events, cut: cut, keep: keep)
                let store = try PageStore.open(
                    device: MemoryBlockDevice(bytes: image), credential: .masterKey(master),
                    readOnly: true)
                let recoveredFilesystem = try VaultFilesystem.open(store)
                let report = recoveredFilesystem.check()
                #expect(report.isClean, "cut \(cut): \(report.problems)")
                let recovered = try snapshot(recoveredFilesystem)
                let matches = committed.indices.filter { committed[$0].model == recovered }
                #expect(
                    matches.contains { $0 >= durable && $0 <= durable + 1 },
                    "cut \(cut): not a committed state at or after \(durable)")
            }
        }
    }
}
