import Foundation
import Platform

/// Runs `openssl speed -evp aes-256-gcm`, the ceiling our AEAD path is compared against.
struct OpenSSLSpeed {
    let executable: URL

    /// Finds `openssl` on `PATH`.
    static func locate() -> OpenSSLSpeed? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(
                "openssl")
            if FileManager.default.isExecutableFile(atPath: candidate.path) {
                return OpenSSLSpeed(executable: candidate)
            }
        }
        return nil
    }

    /// Bytes per second for one size, operation and number of processes.
    func measure(size: Int, operation: AEADOperation, processes: Int, seconds: Int) throws -> Double
    {
        var arguments = [
            "speed", "-elapsed", "-evp", "aes-256-gcm", "-bytes", "\(size)", "-seconds",
            "\(seconds)", "-mr",
        ]
        if operation == .open { arguments.append("-decrypt") }
        if processes > 1 { arguments += ["-multi", "\(processes)"] }

        let result = try Subprocess.run(executable.path, arguments)
        let text = result.outputText
        guard result.status == 0, let rate = OpenSSLSpeedOutput.rate(in: text) else {
            throw BenchmarkError.openSSLSpeedFailed(
                command: "openssl " + arguments.joined(separator: " "),
                output: String(text.suffix(400)))
        }
        return rate
    }

}

/// Reading `openssl speed -mr` output.
public enum OpenSSLSpeedOutput {
    /// The aggregate rate: the last `+F:` line that is not one child's report
    /// (`Got: +F:… from N`). Its last field is bytes per second.
    public static func rate(in output: String) -> Double? {
        let lines = output.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("+F:") }
        guard let last = lines.last, let field = last.split(separator: ":").last else { return nil }
        return Double(field)
    }
}
