import BenchmarkSuite
import Foundation
import Testing

@Suite("claude-env bench crypto")
struct CryptoBenchmarkTests {
    /// A functional check of the whole pipeline, not a speed target: those live in the
    /// benchmark's own report.
    @Test("measures both sides, prints the table and writes matching JSON")
    func shortRun() throws {
        let json = FileManager.default.temporaryDirectory
            .appendingPathComponent("crypto-bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let result = runCLI([
            "bench", "crypto", "--samples", "1", "--seconds", "1", "--sizes", "4K", "--threads",
            "2",
            "--json", json.path,
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("seal       4 KiB  1 "))
        #expect(result.output.contains("open       4 KiB  2 "))
        #expect(result.output.contains("scrypt N=2^17 r=8 p=1"))

        let report =
            try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        let rows = report["rows"] as! [[String: Any]]
        #expect(rows.count == 4)
        for row in rows {
            let ours = row["ours"] as! Double
            let theirs = row["openSSL"] as! Double
            #expect(ours > 0)
            #expect(theirs > 0)
            #expect(abs((row["ratio"] as! Double) - ours / theirs) < 1e-9)
        }
        let scrypt = report["scrypt"] as! [String: Any]
        #expect(scrypt["logN"] as? Int == 17)
        #expect((scrypt["medianSeconds"] as! Double) > 0)
    }

    @Test("parses the aggregate rate from openssl speed's machine-readable output")
    func parsesOpenSSLSpeed() {
        let multi = """
            Forked child 0
            Forked child 1
            Got: +H:4096 from 0
            Got: +F:25:AES-256-GCM:2423382016.00 from 0
            Got: +H:4096 from 1
            Got: +F:25:AES-256-GCM:2378133504.00 from 1
            +H:4096
            +F:25:AES-256-GCM:4801515520.00
            """
        #expect(OpenSSLSpeedOutput.rate(in: multi) == 4_801_515_520)
        #expect(
            OpenSSLSpeedOutput.rate(
                in: "+DT:AES-256-GCM:2:16384\n+F:25:AES-256-GCM:2968772608.00\n") == 2_968_772_608)
        #expect(OpenSSLSpeedOutput.rate(in: "speed: unknown option\n") == nil)
    }
}
