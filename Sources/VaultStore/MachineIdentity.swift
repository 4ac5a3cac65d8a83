import Crypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// This machine and process, as recorded in the superblock's writer record.
enum MachineIdentity {
    /// The first 16 bytes of SHA-256 of `/etc/machine-id`, so the record does not reveal the
    /// id itself; zeros where the file is missing.
    static let machineID: [UInt8] = {
        guard let file = fopen("/etc/machine-id", "r") else {
            return [UInt8](repeating: 0, count: 16)
        }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = fread(&buffer, 1, buffer.count, file)
        let text = buffer[0..<count].filter { $0 != UInt8(ascii: "\n") }
        return Array(SHA256.hash(Array(text)).prefix(16))
    }()

    /// Seconds since 1970, as the format's timestamps count.
    static func now() -> Int64 { Int64(time(nil)) }

    static func currentWriter() -> WriterRecord {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(
            decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return WriterRecord(
            machineID: machineID, pid: UInt32(getpid()), openedAt: now(), hostName: host)
    }
}
