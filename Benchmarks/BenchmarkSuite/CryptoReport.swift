import Foundation

extension CryptoBenchmark.Report {
    /// The results as a table for a terminal.
    public func table() -> String {
        var lines: [String] = []
        lines.append(
            "AES-256-GCM, MB/s (10^6 bytes), median of \(samples) × \(secondsPerSample) s; "
                + "OpenSSL \(openSSLVersion), \(cores) cores")
        let header = [
            "operation", "size", "threads", "claude-env", "openssl speed", "ratio", "best/best",
        ]
        var cells: [[String]] = [header]
        for row in rows {
            cells.append([
                row.operation.rawValue, formatSize(row.size), "\(row.threads)",
                megabytes(row.ours), row.openSSL.map(megabytes) ?? "n/a",
                row.ratio.map { String(format: "%.2f", $0) } ?? "n/a",
                row.bestRatio.map { String(format: "%.2f", $0) } ?? "n/a",
            ])
        }
        let widths = header.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        for (index, row) in cells.enumerated() {
            let padded = row.enumerated().map { column, text in
                column < 3
                    ? text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - text.count) + text
            }
            lines.append(padded.joined(separator: "  "))
            if index == 0 {
                lines.append(
                    widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
            }
        }
        lines.append(
            "ratio: our median over OpenSSL's; best/best: our fastest sample over OpenSSL's fastest."
        )
        if !openSSLSpeedAvailable {
            lines.append("openssl was not found on PATH; install the openssl package to compare.")
        }
        lines.append("")
        lines.append(
            String(
                format: "scrypt N=2^%d r=%d p=%d: %.3f s per derivation (median of %d)",
                Int(scrypt.logN), Int(scrypt.r), Int(scrypt.p), scrypt.medianSeconds,
                scrypt.samples.count))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The results as indented JSON with sorted keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    private func megabytes(_ bytesPerSecond: Double) -> String {
        let digits = String(Int((bytesPerSecond / 1e6).rounded()))
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return grouped
    }
}
