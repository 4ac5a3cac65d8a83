import ArgumentParsing
import Crypto
import Foundation
import VaultFS
import VaultStore

/// Finding, unlocking and opening the vault for a command, with the freshness check of the
/// format (§10 of the spec).
struct VaultAccess {
    let context: CommandContext
    let locations: Locations

    init(context: CommandContext) {
        self.context = context
        self.locations = Locations(environment: context.environment)
    }

    static let volumeOption = Option(
        "volume", value: "FILE", help: "The vault file (default: the one bootstrap remembered).")
    static let acceptStaleOption = Option(
        "accept-stale",
        help: "Write to a vault older than, or diverged from, the one this machine last saw.")

    struct Opened {
        let path: String
        let store: PageStore
        let filesystem: VaultFilesystem
        let readOnly: Bool
    }

    /// Opens the vault named by `--volume` (or remembered), asking for its password.
    /// - Parameter masterKey: the key itself, as handed to a background mount over a pipe;
    ///   then no password is asked for.
    func open(
        _ arguments: ParsedArguments, writable: Bool, trustFreeList: Bool = true,
        masterKey: SecretBytes? = nil, limits: VaultFilesystem.CacheLimits = .init()
    ) throws -> Opened {
        let path = locations.vaultPath(option: arguments.value("volume"))
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure(
                "no vault at \(path); create one with 'claude-env bootstrap', or name it with --volume FILE",
                status: .noInput)
        }
        let device: FileBlockDevice
        do {
            device = try FileBlockDevice(
                openingExisting: path, access: writable ? .readWrite : .readOnly)
        } catch let error as VaultError {
            throw failure(error)
        }
        let store: PageStore
        if let masterKey {
            do {
                store = try PageStore.open(
                    device: device, credential: .masterKey(masterKey), readOnly: !writable)
            } catch let error as VaultError {
                throw failure(error)
            }
        } else {
            let secret = try PasswordInput(context: context, arguments: arguments).read(
                prompt: "Password for \(path)")
            store = try unlock(
                device, secret: secret, writable: writable, trustFreeList: trustFreeList)
        }

        var readOnly = !writable
        if let seen = freshness(for: store) {
            switch seen.judge(store.committed) {
            case .fresh, .unconfirmed:
                break
            case .rolledBack(let seen, let found), .diverged(let seen, let found):
                let what =
                    found < seen
                    ? "is older than the state this machine last saw (commit \(found), seen \(seen)): a restored "
                        + "backup or a rolled-back copy"
                    : "has diverged from the state this machine last saw (commit \(found), seen \(seen)): it was "
                        + "written elsewhere from an older copy"
                if writable && !arguments.isSet("accept-stale") {
                    throw CommandFailure(
                        "\(path) \(what); nothing was changed. Pass --accept-stale to use it anyway.",
                        status: .dataError)
                }
                context.console.writeError("warning: \(path) \(what)\n")
                readOnly = readOnly || !arguments.isSet("accept-stale")
            }
        }
        let filesystem: VaultFilesystem
        do {
            filesystem = try VaultFilesystem.open(
                store, limits: limits, removingOrphans: trustFreeList)
        } catch {
            throw CommandFailure(
                "\(path): \(error); 'claude-env fsck --repair' saves what still verifies",
                status: .dataError)
        }
        if !readOnly { try record(store) }
        return Opened(path: path, store: store, filesystem: filesystem, readOnly: readOnly)
    }

    /// Tries `secret` as a recovery key when it reads as one, then as a password.
    func unlock(
        _ device: FileBlockDevice, secret: SecretBytes, writable: Bool, trustFreeList: Bool = true
    ) throws -> PageStore {
        var credentials: [Credential] = []
        let text = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        if let key = RecoveryKey(parsing: text) { credentials.append(.recoveryKey(key.secret)) }
        credentials.append(.password(secret))
        var lastError: VaultError = .wrongPassword
        for credential in credentials {
            do {
                return try PageStore.open(
                    device: device, credential: credential, readOnly: !writable,
                    trustFreeList: trustFreeList)
            } catch let error as VaultError {
                lastError = error
                if error != .wrongPassword { break }
            }
        }
        throw failure(lastError)
    }

    func failure(_ error: VaultError) -> CommandFailure {
        switch error {
        case .wrongPassword: return CommandFailure("\(error)", status: .noPermission)
        case .locked: return CommandFailure("\(error)", status: .unavailable)
        case .io: return CommandFailure("\(error)", status: .ioError)
        default: return CommandFailure("\(error)", status: .dataError)
        }
    }

    private func freshnessFile(_ store: PageStore) -> String {
        locations.stateDirectory + "/vaults/" + Hex.encode(store.vaultID)
    }

    func freshness(for store: PageStore) -> FreshnessRecord? {
        guard let text = try? String(contentsOfFile: freshnessFile(store), encoding: .utf8) else {
            return nil
        }
        return FreshnessRecord(encoded: text)
    }

    /// Remembers the vault's committed state as the newest this machine has seen.
    func record(_ store: PageStore) throws {
        let committed = store.committed
        let file = freshnessFile(store)
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        try FreshnessRecord(sequence: committed.sequence, commitID: committed.commitID).encoded
            .write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// Commits the filesystem's changes and records the new state.
    func commit(_ opened: Opened) throws {
        try opened.filesystem.commit()
        try record(opened.store)
    }
}
