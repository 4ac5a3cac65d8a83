import Synchronization

/// Slots that concurrent workers each fill a disjoint range of.
struct UnsafeSlots<Element>: @unchecked Sendable {
    // @unchecked Sendable: every index is written by one worker, and read after all have ended.
    let base: UnsafeMutableBufferPointer<Element>

    init(_ base: UnsafeMutableBufferPointer<Element>) { self.base = base }

    subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

/// A buffer that concurrent sealers each write a disjoint page of.
struct UnsafeSendableBuffer: @unchecked Sendable {
    // @unchecked Sendable: every user touches only its own slice, and the owner outlives them.
    let base: UnsafeMutableRawBufferPointer

    init(_ base: UnsafeMutableRawBufferPointer) { self.base = base }

    func slice(_ offset: Int, _ count: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: base[offset..<offset + count])
    }
}

/// Buffers for the ciphertext of batch reads and writes, kept from one batch to the next: a
/// fresh megabyte each time would either be mapped and faulted in anew or fragment the heap.
final class ScratchBuffers: Sendable {
    private static let size = 256 * VaultFormat.pageSize
    private static let kept = 2
    private let free = Mutex<[UnsafeSendableBuffer]>([])

    func withBuffer<R>(bytes: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws
        -> R
    {
        guard bytes <= Self.size else {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
            defer { buffer.deallocate() }
            return try body(buffer)
        }
        let buffer =
            free.withLock { $0.popLast() }
            ?? UnsafeSendableBuffer(.allocate(byteCount: Self.size, alignment: 64))
        defer {
            let spare = free.withLock { buffers -> Bool in
                guard buffers.count < Self.kept else { return true }
                buffers.append(buffer)
                return false
            }
            if spare { buffer.base.deallocate() }
        }
        return try body(buffer.slice(0, bytes))
    }

    deinit {
        for buffer in free.withLock({ $0 }) { buffer.base.deallocate() }
    }
}
