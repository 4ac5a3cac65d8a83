/// Sizes as a user writes them: `64M`, `1G`, `512K`, or plain bytes; `KiB`, `MiB` and `GiB`
/// mean the same, and case does not matter.
public enum ByteSize {
    /// The bytes `text` names, or nil if it names none (or more than a tebibyte).
    public static func bytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = text.uppercased()
        if digits.hasSuffix("IB") { digits.removeLast(2) }
        var multiplier = 1
        if let last = digits.last, let unit = units[last] {
            multiplier = unit
            digits.removeLast()
        }
        guard let value = Int(digits), value > 0, value <= (1 << 40) / multiplier else {
            return nil
        }
        return value * multiplier
    }

    /// The value of `--option`: a size that is a whole number of 4 KiB blocks, within
    /// `range`.
    public static func blocks(
        _ text: String, option: String, within range: ClosedRange<Int> = 4096...(1 << 40),
        path: [String]
    ) throws(UsageError) -> Int {
        guard let bytes = bytes(text), bytes % 4096 == 0 else {
            throw UsageError(
                "option '--\(option)' needs a size such as 64M or 1G (a multiple of 4K), "
                    + "got '\(text)'", path: path)
        }
        guard range.contains(bytes) else {
            throw UsageError(
                "option '--\(option)' needs a size from \(describe(range.lowerBound)) to "
                    + "\(describe(range.upperBound)), got '\(text)'", path: path)
        }
        return bytes
    }

    /// `64M`, `1G` or `4K`: the largest unit that divides `bytes`.
    public static func describe(_ bytes: Int) -> String {
        for (unit, size) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        where bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)"
    }
}
