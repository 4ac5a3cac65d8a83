import Crypto

extension PageStore {
    /// The active keyslots, by index.
    public var keyslots: [(index: Int, slot: Keyslot)] {
        state.withLock { state in
            state.header.keyslots.enumerated().compactMap { index, slot in slot.map { (index, $0) }
            }
        }
    }

    /// Adds a keyslot for `credential` and makes it durable in both header copies; returns its
    /// index.
    @discardableResult
    public func addKeyslot(_ credential: Credential, derivation: KeyDerivation) throws -> Int {
        guard !isReadOnly else { throw VaultError.readOnly }
        return try state.withLock { state throws in
            guard let index = state.header.keyslots.firstIndex(where: { $0 == nil }) else {
                throw VaultError.keyslotsFull
            }
            let kind: Keyslot.Kind
            let secret: SecretBytes
            switch credential {
            case .password(let password): (kind, secret) = (.password, password)
            case .recoveryKey(let key): (kind, secret) = (.recoveryKey, key)
            case .masterKey: throw VaultError.notFound("a keyslot kind for the master key itself")
            }
            var header = state.header
            header.keyslots[index] = try Keyslot.make(
                kind: kind, derivation: derivation, secret: secret, master: keys.master,
                index: index,
                vaultID: keys.vaultID, created: MachineIdentity.now())
            header.sequence += 1
            try writeHeaderCopies(header)
            state.header = header
            return index
        }
    }

    /// Wipes keyslot `index` from both header copies. Refuses to remove the last password slot.
    public func removeKeyslot(at index: Int) throws {
        guard !isReadOnly else { throw VaultError.readOnly }
        try state.withLock { state throws in
            guard index >= 0, index < VaultFormat.keyslotCount,
                let slot = state.header.keyslots[index]
            else {
                throw VaultError.notFound("keyslot \(index)")
            }
            let passwordSlots = state.header.keyslots.filter { $0?.kind == .password }.count
            if slot.kind == .password && passwordSlots == 1 { throw VaultError.lastKeyslot }
            var header = state.header
            header.keyslots[index] = nil
            header.sequence += 1
            try writeHeaderCopies(header)
            state.header = header
        }
    }

    /// Copy A, sync, copy B, sync: a crash leaves at least one complete copy (§5).
    func writeHeaderCopies(_ header: VaultHeader) throws {
        try device.write(try header.encode(key: keys.headerKey), at: 0)
        try device.sync()
        try device.write(try header.encode(key: keys.headerKey), at: UInt64(VaultFormat.pageSize))
        try device.sync()
    }
}
