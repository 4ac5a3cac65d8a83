import Crypto

/// What this machine last saw of a vault (§10 of the spec), and how a vault compares to it.
public struct FreshnessRecord: Sendable, Equatable {
    public var sequence: UInt64
    public var commitID: [UInt8]

    public init(sequence: UInt64, commitID: [UInt8]) {
        self.sequence = sequence
        self.commitID = commitID
    }

    public enum Verdict: Sendable, Equatable {
        case fresh
        /// An older state than this machine has seen: a restored or rolled-back copy.
        case rolledBack(seen: UInt64, found: UInt64)
        /// A state that does not descend from this machine's last commit.
        case diverged(seen: UInt64, found: UInt64)
        /// Newer, but eight other machines have written since, so descent cannot be shown.
        case unconfirmed
    }

    /// Compares a vault's committed state with this record.
    public func judge(
        _ committed: PageStore.CommittedState, machineID: [UInt8] = PageStore.thisMachineID
    ) -> Verdict {
        if committed.sequence < sequence {
            return .rolledBack(seen: sequence, found: committed.sequence)
        }
        if committed.sequence == sequence {
            return committed.commitID == commitID
                ? .fresh : .diverged(seen: sequence, found: committed.sequence)
        }
        guard let mine = committed.lineage.first(where: { $0.machineID == machineID }) else {
            return .unconfirmed
        }
        if mine.sequence == sequence && mine.commitID == commitID { return .fresh }
        // This machine wrote a later state itself (the record was not saved) only if its entry
        // is newer than the record; any other entry means a different history.
        return mine.sequence > sequence
            ? .fresh : .diverged(seen: sequence, found: committed.sequence)
    }

    /// `sequence` and the commit id in hex, one line.
    public var encoded: String {
        "\(sequence) \(Hex.encode(commitID))\n"
    }

    public init?(encoded text: String) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let sequence = UInt64(parts[0]), parts[1].count == 32 else {
            return nil
        }
        var bytes: [UInt8] = []
        var index = parts[1].startIndex
        while index < parts[1].endIndex {
            let next = parts[1].index(index, offsetBy: 2)
            guard let byte = UInt8(parts[1][index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(sequence: sequence, commitID: bytes)
    }
}

extension PageStore {
    /// This machine's id as the writer record and lineage hold it.
    public static var thisMachineID: [UInt8] { MachineIdentity.machineID }
}
