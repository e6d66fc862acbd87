import ArgumentParser
import Foundation
import Gateway

/// `wecare bench-ledger`: the ledger's hot queries on a day-old and on a year-old ledger (same run,
/// same machine), so their ratio says whether a year of operation slows the gateway down. The
/// year-old ledger holds what retention leaves (`--keep-records-days`; 365 keeps everything).
struct BenchLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-ledger",
        abstract: "Time the ledger's hot queries with one day and with --days of rows; one JSON line.")

    @Option(help: "Days of rows in the large ledger.") var days = 365
    @Option(help: "Images a day.") var perDay = 500
    @Option(help: "Timed runs per query.") var runs = 200
    @Option(help: "Retention's keep_records_days.") var keepRecordsDays = 30
    @Option(help: "Retention's keep_images_days.") var keepImagesDays = 14
    @Option(help: "Folder for the two ledgers (removed afterwards).") var scratch: String?

    func run() async throws {
        let folder = URL(fileURLWithPath: scratch ?? NSTemporaryDirectory())
            .appendingPathComponent("wecare-bench-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var results: [String: [String: Double]] = [:]
        var sizes: [String: Int] = [:]
        for (label, d) in [("day", 1), ("year", days)] {
            let file = folder.appendingPathComponent("\(label).sqlite")
            let ledger = try SQLiteLedger(path: file)
            try LedgerBenchmark.fill(ledger, days: d, perDay: perDay, keepRecordsDays: keepRecordsDays,
                                     keepImagesDays: keepImagesDays)
            for t in try LedgerBenchmark.time(ledger, runs: runs) {
                results[t.query, default: [:]][label] = (t.medianMS * 1000).rounded() / 1000
            }
            // The WAL holds what was written since the last checkpoint: count both.
            sizes[label] = [file.path, file.path + "-wal"].compactMap {
                (try? FileManager.default.attributesOfItem(atPath: $0)[.size]) as? Int
            }.reduce(0, +)
        }
        for (query, r) in results {
            if let day = r["day"], let year = r["year"], day > 0 { results[query]?["ratio"] = (year / day * 100).rounded() / 100 }
        }
        let json: [String: Any] = ["days": days, "per_day": perDay, "runs": runs, "keep_records_days": keepRecordsDays,
                                   "keep_images_days": keepImagesDays, "median_ms": results,
                                   "ledger_bytes": sizes]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}
