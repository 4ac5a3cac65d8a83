/// A filesystem served through FUSE's low-level API, addressed by inode number. Each method
/// must answer its request exactly once, from any thread, and must not throw or trap: a
/// failure is an errno reply.
public protocol FuseOperations: AnyObject, Sendable {
    func lookup(_ request: FuseRequest, parent: UInt64, name: [UInt8])
    func getAttributes(_ request: FuseRequest, inode: UInt64)
    func setAttributes(_ request: FuseRequest, inode: UInt64, changes: FuseAttributeChanges)
    func readLink(_ request: FuseRequest, inode: UInt64)
    func makeNode(_ request: FuseRequest, parent: UInt64, name: [UInt8], mode: UInt32, rdev: UInt64)
    func makeDirectory(_ request: FuseRequest, parent: UInt64, name: [UInt8], mode: UInt32)
    func unlink(_ request: FuseRequest, parent: UInt64, name: [UInt8])
    func removeDirectory(_ request: FuseRequest, parent: UInt64, name: [UInt8])
    func symlink(_ request: FuseRequest, target: [UInt8], parent: UInt64, name: [UInt8])
    func rename(
        _ request: FuseRequest, parent: UInt64, name: [UInt8], newParent: UInt64, newName: [UInt8],
        flags: FuseRenameFlags)
    func link(_ request: FuseRequest, inode: UInt64, newParent: UInt64, newName: [UInt8])
    func open(_ request: FuseRequest, inode: UInt64, flags: Int32)
    func create(_ request: FuseRequest, parent: UInt64, name: [UInt8], mode: UInt32, flags: Int32)
    func read(_ request: FuseRequest, inode: UInt64, offset: UInt64, size: Int)
    func write(_ request: FuseRequest, inode: UInt64, offset: UInt64, data: UnsafeRawBufferPointer)
    func flush(_ request: FuseRequest, inode: UInt64)
    func release(_ request: FuseRequest, inode: UInt64)
    func fsync(_ request: FuseRequest, inode: UInt64, dataOnly: Bool)
    func openDirectory(_ request: FuseRequest, inode: UInt64)
    /// `readdir`, or with `withAttributes` `readdirplus`, whose entries carry their
    /// attributes so that the kernel need not look each one up.
    func readDirectory(
        _ request: FuseRequest, inode: UInt64, offset: UInt64, size: Int, withAttributes: Bool)
    func releaseDirectory(_ request: FuseRequest, inode: UInt64)
    func statistics(_ request: FuseRequest)
    func setExtendedAttribute(
        _ request: FuseRequest, inode: UInt64, name: [UInt8], value: [UInt8], flags: Int32)
    func extendedAttribute(_ request: FuseRequest, inode: UInt64, name: [UInt8], size: Int)
    func listExtendedAttributes(_ request: FuseRequest, inode: UInt64, size: Int)
    func removeExtendedAttribute(_ request: FuseRequest, inode: UInt64, name: [UInt8])
    /// The session is ending: make everything durable.
    func destroy()
}
