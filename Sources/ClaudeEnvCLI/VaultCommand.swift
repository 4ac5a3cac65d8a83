import ArgumentParsing
import Foundation
import VaultFS

/// `claude-env vault …`: the vault's contents without FUSE, for scripts and machines without it.
enum VaultCommand {
    private static let common =
        [VaultAccess.volumeOption, VaultAccess.acceptStaleOption] + PasswordInput.options

    static let command = Command(
        name: "vault",
        abstract: "Read and write the vault's contents without mounting it.",
        subcommands: [
            Command(
                name: "ls", abstract: "List directories in the vault (the root by default).",
                options: common,
                arguments: [
                    Argument("path", help: "A path in the vault.", optional: true, repeating: true)
                ],
                examples: [Example("claude-env vault ls home", "List home/ in the vault.")]),
            Command(
                name: "cat", abstract: "Write files from the vault to standard output.",
                options: common,
                arguments: [Argument("path", help: "A file in the vault.", repeating: true)],
                examples: [
                    Example("claude-env vault cat auth/api-key", "Print the stored API key.")
                ]),
            Command(
                name: "get", abstract: "Copy a file or directory out of the vault.",
                options: common,
                arguments: [
                    Argument("path", help: "What to copy, in the vault."),
                    Argument(
                        "destination", help: "Where to put it (default: its name, here).",
                        optional: true),
                ],
                examples: [
                    Example("claude-env vault get home/.bashrc bashrc", "Copy one file out.")
                ]),
            Command(
                name: "put", abstract: "Copy files or directories into the vault.", options: common,
                arguments: [
                    Argument(
                        "source", help: "Local files or directories, then the vault path.",
                        repeating: true)
                ],
                examples: [
                    Example(
                        "claude-env vault put notes.md repos/my-app/",
                        "Copy a file into a vault directory."),
                    Example(
                        "claude-env vault put ~/.claude home/.claude", "Copy a whole directory in."),
                ]),
            Command(
                name: "rm", abstract: "Remove files, or directories with --recursive.",
                options: [
                    Option("recursive", short: "r", help: "Remove directories and their contents.")
                ] + common,
                arguments: [Argument("path", help: "A path in the vault.", repeating: true)],
                examples: [
                    Example("claude-env vault rm -r repos/old-project", "Remove a project's notes.")
                ]),
            Command(
                name: "mkdir", abstract: "Make directories in the vault.",
                options: [
                    Option(
                        "parents", short: "p",
                        help: "Make missing parents, and accept existing ones.")
                ]
                    + common,
                arguments: [Argument("path", help: "A path in the vault.", repeating: true)],
                examples: [
                    Example(
                        "claude-env vault mkdir -p repos/my-app",
                        "Make a directory and its parents.")
                ]),
        ])

    static func run(_ name: String, _ arguments: ParsedArguments, context: CommandContext) throws
        -> Int32
    {
        let access = VaultAccess(context: context)
        let writes = ["put", "rm", "mkdir"].contains(name)
        let opened = try access.open(arguments, writable: writes)
        if writes && opened.readOnly {
            throw CommandFailure(
                "the vault was opened read-only; nothing was changed", status: .dataError)
        }
        let session = VaultSession(fs: opened.filesystem, console: context.console)
        let words = arguments.positionals
        var status = ExitCode.success
        do {
            switch name {
            case "ls":
                for (index, path) in (words.isEmpty ? ["/"] : words).enumerated() {
                    if words.count > 1 {
                        context.console.writeOutput((index > 0 ? "\n" : "") + "\(path):\n")
                    }
                    try session.list(path)
                }
            case "cat":
                for path in words { try session.cat(path) }
            case "get":
                let destination =
                    words.count > 1 ? words[1] : (words[0] as NSString).lastPathComponent
                try session.get(words[0], to: destination)
            case "put":
                guard words.count >= 2 else {
                    throw UsageError(
                        "put needs at least one source and a vault path",
                        path: ["claude-env", "vault", "put"])
                }
                let target = words.last!
                for source in words.dropLast() {
                    try session.put(source, into: target, several: words.count > 2)
                }
            case "rm":
                for path in words {
                    try session.remove(path, recursive: arguments.isSet("recursive"))
                }
            case "mkdir":
                for path in words {
                    try session.makeDirectory(path, parents: arguments.isSet("parents"))
                }
            default:
                preconditionFailure("no vault command \(name)")
            }
        } catch let failure as VaultSession.PathFailure {
            context.console.writeError("error: \(failure)\n")
            status = .failure
        }
        if writes { try access.commit(opened) }
        return status.rawValue
    }
}

/// Path-level operations on an open vault filesystem.
struct VaultSession {
    let fs: VaultFilesystem
    let console: Console
    let uid = getuid()
    let gid = getgid()

    struct PathFailure: Error, CustomStringConvertible {
        var path: String
        var error: any Error
        var description: String { "\(path): \(error)" }
    }

    func components(_ path: String) -> [[UInt8]] {
        path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.map { Array($0.utf8) }
    }

    func resolve(_ path: String) throws -> InodeAttributes {
        do {
            var current = try fs.attributes(VaultFilesystem.rootInode)
            for part in components(path) { current = try fs.lookup(current.inode, part) }
            return current
        } catch {
            throw PathFailure(path: path, error: error)
        }
    }

    /// The parent directory's inode and the last name of `path`.
    func parentAndName(_ path: String) throws -> (UInt64, [UInt8]) {
        var parts = components(path)
        guard let name = parts.popLast() else {
            throw PathFailure(path: path, error: FilesystemError(EINVAL, "the root has no name"))
        }
        let parent = try resolve(
            parts.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/"))
        return (parent.inode, name)
    }

    func list(_ path: String) throws {
        let directory = try resolve(path)
        guard directory.type == .directory else {
            console.writeOutput("\(path)\n")
            return
        }
        var text = ""
        var cookie: UInt64 = 0
        while true {
            let page = try fs.readDirectory(directory.inode, after: cookie)
            guard let last = page.last else { break }
            for entry in page {
                let attributes = try fs.attributes(entry.inode)
                let suffix = entry.type == .directory ? "/" : entry.type == .symbolicLink ? "@" : ""
                text += "\(modeString(attributes.mode)) \(String(attributes.size).leftPad(10)) "
                text += "\(String(decoding: entry.name, as: UTF8.self))\(suffix)\n"
            }
            cookie = last.cookie
        }
        console.writeOutput(text)
    }

    func modeString(_ mode: UInt32) -> String {
        let type: Character =
            switch FileType(mode: mode) {
            case .directory: "d"
            case .symbolicLink: "l"
            case .regular: "-"
            default: "?"
            }
        let bits = "rwxrwxrwx"
        return String(type)
            + String(
                bits.enumerated().map { mode & (1 << (8 - $0.offset)) != 0 ? $0.element : "-" })
    }

    func cat(_ path: String) throws {
        let file = try resolve(path)
        guard file.type == .regular else {
            throw PathFailure(path: path, error: FilesystemError(EISDIR, "not a file"))
        }
        var offset: UInt64 = 0
        while offset < file.size {
            let chunk = try fs.read(file.inode, at: offset, count: 1 << 20)
            guard !chunk.isEmpty else { break }
            console.writeOutputBytes(chunk)
            offset += UInt64(chunk.count)
        }
    }

    func get(_ path: String, to destination: String) throws {
        let item = try resolve(path)
        if FileManager.default.fileExists(atPath: destination) {
            throw PathFailure(
                path: destination,
                error: FilesystemError(EEXIST, "already exists; nothing was copied"))
        }
        switch item.type {
        case .directory:
            try FileManager.default.createDirectory(
                atPath: destination, withIntermediateDirectories: false)
            for entry in try fs.readDirectory(item.inode, after: 0, limit: .max) {
                let name = String(decoding: entry.name, as: UTF8.self)
                try get(path + "/" + name, to: destination + "/" + name)
            }
        case .symbolicLink:
            try FileManager.default.createSymbolicLink(
                atPath: destination,
                withDestinationPath: String(
                    decoding: try fs.readSymbolicLink(item.inode), as: UTF8.self))
        case .regular:
            guard FileManager.default.createFile(atPath: destination, contents: nil) else {
                throw PathFailure(
                    path: destination, error: FilesystemError(EACCES, "cannot create"))
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: destination))
            defer { try? handle.close() }
            var offset: UInt64 = 0
            while offset < item.size {
                let chunk = try fs.read(item.inode, at: offset, count: 1 << 20)
                guard !chunk.isEmpty else { break }
                try handle.write(contentsOf: chunk)
                offset += UInt64(chunk.count)
            }
            chmod(destination, mode_t(item.mode & 0o777))
        default:
            console.writeError("skipping \(path): a special file\n")
        }
    }

    /// Copies `source` to `target`: into it when it is a directory, else to that name.
    func put(_ source: String, into target: String, several: Bool) throws {
        var status = stat()
        guard lstat(source, &status) == 0 else {
            throw PathFailure(path: source, error: FilesystemError(errno, "cannot read"))
        }
        let existing = try? resolve(target)
        let destination: String
        if let existing, existing.type == .directory {
            destination = target + "/" + (source as NSString).lastPathComponent
        } else if several || target.hasSuffix("/") {
            throw PathFailure(
                path: target,
                error: FilesystemError(ENOTDIR, "copying several items needs a directory"))
        } else {
            destination = target
        }
        try copyIn(source, to: destination, status: status)
    }

    private func copyIn(_ source: String, to destination: String, status: stat) throws {
        let (parent, name) = try parentAndName(destination)
        let mode = UInt32(status.st_mode) & 0o7777
        do {
            switch UInt32(status.st_mode) & UInt32(S_IFMT) {
            case UInt32(S_IFDIR):
                let directory =
                    try (try? fs.lookup(parent, name))
                    ?? fs.makeDirectory(parent, name, mode: mode, uid: uid, gid: gid)
                for child in try FileManager.default.contentsOfDirectory(atPath: source).sorted() {
                    var childStatus = stat()
                    guard lstat(source + "/" + child, &childStatus) == 0 else { continue }
                    try copyIn(
                        source + "/" + child, to: destination + "/" + child, status: childStatus)
                }
                _ = directory
            case UInt32(S_IFLNK):
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: source)
                _ = try fs.makeSymbolicLink(
                    parent, name, target: Array(target.utf8), uid: uid, gid: gid)
            case UInt32(S_IFREG):
                let file: InodeAttributes
                if let existing = try? fs.lookup(parent, name), existing.type == .regular {
                    file = try fs.setAttributes(existing.inode, .init(size: 0))
                } else {
                    file = try fs.makeNode(parent, name, mode: mode, uid: uid, gid: gid)
                }
                guard let handle = FileHandle(forReadingAtPath: source) else {
                    throw FilesystemError(EACCES, "cannot read \(source)")
                }
                defer { try? handle.close() }
                var offset: UInt64 = 0
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    try fs.write(file.inode, at: offset, Array(chunk))
                    offset += UInt64(chunk.count)
                }
                let modified =
                    Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
                _ = try fs.setAttributes(file.inode, .init(modificationTime: modified))
            default:
                console.writeError("skipping \(source): a special file\n")
            }
        } catch let error as PathFailure {
            throw error
        } catch {
            throw PathFailure(path: destination, error: error)
        }
    }

    func remove(_ path: String, recursive: Bool) throws {
        let item = try resolve(path)
        let (parent, name) = try parentAndName(path)
        do {
            if item.type == .directory {
                guard recursive else {
                    throw FilesystemError(EISDIR, "a directory; use --recursive")
                }
                for entry in try fs.readDirectory(item.inode, after: 0, limit: .max) {
                    try remove(
                        path + "/" + String(decoding: entry.name, as: UTF8.self), recursive: true)
                }
                try fs.removeDirectory(parent, name)
            } else {
                try fs.unlink(parent, name)
            }
        } catch let error as PathFailure {
            throw error
        } catch {
            throw PathFailure(path: path, error: error)
        }
    }

    func makeDirectory(_ path: String, parents: Bool) throws {
        var current = VaultFilesystem.rootInode
        let parts = components(path)
        for (index, part) in parts.enumerated() {
            let last = index == parts.count - 1
            if let existing = try? fs.lookup(current, part) {
                guard existing.type == .directory else {
                    throw PathFailure(
                        path: path, error: FilesystemError(ENOTDIR, "a file is in the way"))
                }
                if last && !parents {
                    throw PathFailure(path: path, error: FilesystemError(EEXIST, "already exists"))
                }
                current = existing.inode
                continue
            }
            guard last || parents else {
                throw PathFailure(
                    path: path, error: FilesystemError(ENOENT, "a parent is missing; use --parents")
                )
            }
            do {
                current = try fs.makeDirectory(current, part, mode: 0o755, uid: uid, gid: gid).inode
            } catch {
                throw PathFailure(path: path, error: error)
            }
        }
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}
