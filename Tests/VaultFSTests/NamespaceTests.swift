import Glibc
import Testing
import VaultFS

@Suite("names: create, look up, list, link, unlink, rename")
struct NamespaceTests {
    @Test("files and directories appear in lookups and listings, in creation order")
    func createAndList() throws {
        let (fs, _) = try makeFilesystem()
        let home = try fs.directory(root, "home")
        for index in 0..<30 { _ = try fs.file(home.inode, "file-\(index)") }
        #expect(try fs.names(home.inode) == (0..<30).map { "file-\($0)" })
        #expect(try fs.lookup(home.inode, name("file-7")).type == .regular)
        #expect(try fs.lookup(home.inode, name(".")).inode == home.inode)
        #expect(try fs.lookup(home.inode, name("..")).inode == root)
        #expect(try fs.attributes(home.inode).linkCount == 2)
        #expect(try fs.attributes(root).linkCount == 3)
        expectErrno(ENOENT) { _ = try fs.lookup(home.inode, name("missing")) }
        expectErrno(EEXIST) { _ = try fs.file(home.inode, "file-3") }
        expectErrno(ENOTDIR) {
            _ = try fs.file(try fs.lookup(home.inode, name("file-3")).inode, "x")
        }
        expectErrno(ENAMETOOLONG) {
            _ = try fs.file(home.inode, String(repeating: "n", count: 256))
        }
        _ = try fs.file(home.inode, String(repeating: "n", count: 255))
        for bad in ["", ".", "..", "a/b"] {
            expectErrno(EINVAL) { _ = try fs.file(home.inode, bad) }
        }
    }

    @Test("readdir offsets stay valid while entries come and go")
    func stableOffsets() throws {
        let (fs, _) = try makeFilesystem()
        for index in 0..<10 { _ = try fs.file(root, "f\(index)") }
        let first = try fs.readDirectory(root, after: 0, limit: 4)
        #expect(first.map(\.name) == (0..<4).map { name("f\($0)") })
        try fs.unlink(root, name("f2"))
        try fs.unlink(root, name("f5"))
        _ = try fs.file(root, "late")
        let rest = try fs.readDirectory(root, after: first.last!.cookie)
        #expect(rest.map(\.name) == ["f4", "f6", "f7", "f8", "f9", "late"].map(name))
    }

    @Test("a directory of 10,000 entries lists completely in pages")
    func bigDirectory() throws {
        let (fs, _) = try makeFilesystem()
        for index in 0..<10_000 { _ = try fs.file(root, "entry-\(index)") }
        var cookie: UInt64 = 0
        var seen = 0
        while true {
            let page = try fs.readDirectory(root, after: cookie, limit: 700)
            guard let last = page.last else { break }
            seen += page.count
            cookie = last.cookie
        }
        #expect(seen == 10_000)
        #expect(try fs.lookup(root, name("entry-9999")).type == .regular)
    }

    @Test("rmdir needs an empty directory; unlink refuses directories")
    func removal() throws {
        let (fs, _) = try makeFilesystem()
        let dir = try fs.directory(root, "d")
        _ = try fs.file(dir.inode, "x")
        expectErrno(ENOTEMPTY) { try fs.removeDirectory(root, name("d")) }
        expectErrno(EISDIR) { try fs.unlink(root, name("d")) }
        expectErrno(ENOTDIR) { try fs.removeDirectory(dir.inode, name("x")) }
        try fs.unlink(dir.inode, name("x"))
        try fs.removeDirectory(root, name("d"))
        expectErrno(ENOENT) { _ = try fs.attributes(dir.inode) }
        #expect(try fs.attributes(root).linkCount == 2)
    }

    @Test("hard links share one inode; the content goes with the last name")
    func hardLinks() throws {
        let (fs, _) = try makeFilesystem()
        let file = try fs.file(root, "a", contents: name("shared"))
        let linked = try fs.link(file.inode, into: root, as: name("b"))
        #expect(linked.linkCount == 2)
        try fs.unlink(root, name("a"))
        #expect(try fs.contents(try fs.lookup(root, name("b")).inode) == name("shared"))
        #expect(try fs.attributes(file.inode).linkCount == 1)
        try fs.unlink(root, name("b"))
        expectErrno(ENOENT) { _ = try fs.attributes(file.inode) }
        expectErrno(EPERM) {
            _ = try fs.link(try fs.directory(root, "d").inode, into: root, as: name("d2"))
        }
    }

    @Test("an unlinked file stays readable while open, and is gone after the last close")
    func openUnlinked() throws {
        let (fs, device) = try makeFilesystem()
        let file = try fs.file(root, "tmp", contents: [UInt8](repeating: 7, count: 10_000))
        try fs.opened(file.inode)
        try fs.unlink(root, name("tmp"))
        #expect(try fs.contents(file.inode) == [UInt8](repeating: 7, count: 10_000))
        try fs.commit()
        // A crash now leaves an orphan; the next writer removes it.
        let after = try reopen(fs, device)
        expectErrno(ENOENT) { _ = try after.attributes(file.inode) }
        // Without a crash, the last close removes it.
        try fs.closed(file.inode)
        expectErrno(ENOENT) { _ = try fs.attributes(file.inode) }
    }

    @Test("rename moves, replaces, refuses, and exchanges")
    func renames() throws {
        let (fs, _) = try makeFilesystem()
        let a = try fs.directory(root, "a")
        let b = try fs.directory(root, "b")
        let file = try fs.file(a.inode, "f", contents: name("one"))
        _ = try fs.file(b.inode, "g", contents: name("two"))

        try fs.rename(a.inode, name("f"), to: b.inode, name("g"))
        #expect(try fs.names(a.inode).isEmpty)
        #expect(try fs.contents(try fs.lookup(b.inode, name("g")).inode) == name("one"))
        #expect(try fs.lookup(b.inode, name("g")).inode == file.inode)

        _ = try fs.file(a.inode, "h", contents: name("three"))
        expectErrno(EEXIST) {
            try fs.rename(a.inode, name("h"), to: b.inode, name("g"), mode: .noReplace)
        }
        try fs.rename(a.inode, name("h"), to: b.inode, name("g"), mode: .exchange)
        #expect(try fs.contents(try fs.lookup(b.inode, name("g")).inode) == name("three"))
        #expect(try fs.contents(try fs.lookup(a.inode, name("h")).inode) == name("one"))
        expectErrno(ENOENT) {
            try fs.rename(a.inode, name("h"), to: b.inode, name("none"), mode: .exchange)
        }

        // Directories: into itself or below it is refused; over a non-empty one too.
        let inner = try fs.directory(a.inode, "inner")
        expectErrno(EINVAL) { try fs.rename(root, name("a"), to: inner.inode, name("a")) }
        expectErrno(EINVAL) { try fs.rename(root, name("a"), to: a.inode, name("x")) }
        expectErrno(ENOTEMPTY) { try fs.rename(a.inode, name("inner"), to: root, name("b")) }
        expectErrno(ENOTDIR) { try fs.rename(a.inode, name("inner"), to: b.inode, name("g")) }
        expectErrno(EISDIR) { try fs.rename(b.inode, name("g"), to: a.inode, name("inner")) }

        try fs.rename(a.inode, name("inner"), to: b.inode, name("moved"))
        #expect(
            try fs.lookup(try fs.lookup(b.inode, name("moved")).inode, name("..")).inode == b.inode)
        #expect(try fs.attributes(a.inode).linkCount == 2)
        #expect(try fs.attributes(b.inode).linkCount == 3)

        // Renaming a name onto another name of the same file does nothing.
        _ = try fs.link(try fs.lookup(a.inode, name("h")).inode, into: a.inode, as: name("h2"))
        try fs.rename(a.inode, name("h"), to: a.inode, name("h2"))
        #expect(try fs.names(a.inode) == ["h", "h2"])
    }

    @Test("symlinks keep their target; xattrs in the user namespace only")
    func symlinksAndXattrs() throws {
        let (fs, _) = try makeFilesystem()
        let link = try fs.makeSymbolicLink(
            root, name("l"), target: name("../target/path"), uid: 1, gid: 1)
        #expect(try fs.readSymbolicLink(link.inode) == name("../target/path"))
        #expect(link.size == 14)
        expectErrno(ENAMETOOLONG) {
            _ = try fs.makeSymbolicLink(
                root, name("long"), target: [UInt8](repeating: 0x61, count: 1001), uid: 1, gid: 1)
        }
        let file = try fs.file(root, "f")
        try fs.setExtendedAttribute(file.inode, name("user.comment"), name("hello"))
        #expect(try fs.extendedAttribute(file.inode, name("user.comment")) == name("hello"))
        expectErrno(EEXIST) {
            try fs.setExtendedAttribute(file.inode, name("user.comment"), [], mode: .create)
        }
        expectErrno(ENODATA) {
            try fs.setExtendedAttribute(file.inode, name("user.other"), [], mode: .replace)
        }
        expectErrno(EOPNOTSUPP) { try fs.setExtendedAttribute(file.inode, name("trusted.x"), []) }
        expectErrno(E2BIG) {
            try fs.setExtendedAttribute(
                file.inode, name("user.big"), [UInt8](repeating: 1, count: 701))
        }
        #expect(try fs.extendedAttributeNames(file.inode) == [name("user.comment")])
        try fs.removeExtendedAttribute(file.inode, name("user.comment"))
        expectErrno(ENODATA) { _ = try fs.extendedAttribute(file.inode, name("user.comment")) }
    }
}
