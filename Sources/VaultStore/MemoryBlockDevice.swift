import Synchronization

/// A block device in memory that records every write and sync, for tests: crash injection
/// replays any prefix of the record, losing unsynced writes as a power cut would.
public final class MemoryBlockDevice: BlockDevice {
    public enum Event: Sendable, Equatable {
        case write(offset: UInt64, bytes: [UInt8])
        case sync
    }

    public let name: String
    private let storage: Mutex<(bytes: [UInt8], events: [Event])>

    public init(name: String = "memory", bytes: [UInt8] = []) {
        self.name = name
        storage = Mutex((bytes, []))
    }

    /// Everything written so far, in order.
    public var events: [Event] { storage.withLock { $0.events } }

    /// The current contents.
    public var bytes: [UInt8] { storage.withLock { $0.bytes } }

    /// Forgets the record (the contents stay).
    public func clearEvents() { storage.withLock { $0.events = [] } }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        storage.withLock { storage in
            guard offset < UInt64(storage.bytes.count) else { return 0 }
            let count = min(buffer.count, storage.bytes.count - Int(offset))
            storage.bytes.withUnsafeBytes { source in
                buffer.copyMemory(
                    from: UnsafeRawBufferPointer(
                        rebasing: source[Int(offset)..<Int(offset) + count]))
            }
            return count
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let copy = Array(bytes)
        storage.withLock { storage in
            Self.apply(copy, at: offset, to: &storage.bytes)
            storage.events.append(.write(offset: offset, bytes: copy))
        }
    }

    public func sync() throws {
        storage.withLock { $0.events.append(.sync) }
    }

    public func size() throws -> UInt64 {
        storage.withLock { UInt64($0.bytes.count) }
    }

    /// Overwrites bytes in place, for tampering tests; not recorded.
    public func tamper(at offset: Int, _ change: (inout [UInt8]) -> Void) {
        storage.withLock { change(&$0.bytes) }
    }

    static func apply(_ bytes: [UInt8], at offset: UInt64, to target: inout [UInt8]) {
        let end = Int(offset) + bytes.count
        if target.count < end {
            target.append(contentsOf: repeatElement(0, count: end - target.count))
        }
        target.replaceSubrange(Int(offset)..<end, with: bytes)
    }

    /// What a crash after the first `cut` events leaves: `base`, every write up to the last
    /// sync among them, and those later writes of the prefix that `keep` chooses (called with
    /// each one's position among the unsynced writes). A write that `tear` names keeps only
    /// its first half, as a torn sector would.
    public static func crashImage(
        base: [UInt8], events: [Event], cut: Int, keep: (Int) -> Bool = { _ in false },
        tear: (Int) -> Bool = { _ in false }
    ) -> [UInt8] {
        let prefix = events.prefix(cut)
        let lastSync = prefix.lastIndex(of: .sync) ?? -1
        var image = base
        var unsynced = 0
        for (index, event) in prefix.enumerated() {
            guard case .write(let offset, let bytes) = event else { continue }
            if index < lastSync {
                apply(bytes, at: offset, to: &image)
            } else {
                defer { unsynced += 1 }
                if tear(unsynced) {
                    apply(Array(bytes.prefix(bytes.count / 2)), at: offset, to: &image)
                } else if keep(unsynced) {
                    apply(bytes, at: offset, to: &image)
                }
            }
        }
        return image
    }
}
