import Foundation
import GRDB

/// The ledger file: it opens, SQLite's integrity check passes, and its schema is this version's
/// (migrations not yet applied are applied by the next `wecare serve`; migrations this version
/// does not know mean the file was written by a newer WeCare). Opened read-only: the check
/// changes nothing, even while the gateway runs.
public enum LedgerCheck {
    public static func run(_ configuration: GatewayConfiguration) -> SelftestResult {
        let file = configuration.dataDirectory.appendingPathComponent("ledger.sqlite")
        guard FileManager.default.fileExists(atPath: file.path) else {
            return SelftestResult(.ok, "ledger", "none yet at \(file.path); `wecare serve` creates it on first start")
        }
        let restore = "stop the gateway, move \(file.lastPathComponent) aside and restore it from a backup "
            + "(images already in spool/ stay there)"
        do {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(10)
            let queue = try DatabaseQueue(path: file.path, configuration: config)
            defer { try? queue.close() }
            return try queue.read { db -> SelftestResult in
                let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check(3)")
                guard problems == ["ok"] else {
                    // SQLite's lines as one, so the check stays one line.
                    let said = problems.joined(separator: "\n").split(whereSeparator: \.isNewline).prefix(3).joined(separator: "; ")
                    return SelftestResult(.fail, "ledger", "\(file.path) is damaged (integrity check: "
                        + "\(said.isEmpty ? "no answer" : said)); \(restore)")
                }
                let known = SQLiteLedger.migrator.migrations
                let applied = try SQLiteLedger.migrator.appliedIdentifiers(db)
                let unknown = applied.subtracting(known).sorted()
                if !unknown.isEmpty {
                    return SelftestResult(.fail, "ledger", "\(file.path) has schema steps this version does not know "
                        + "(\(unknown.joined(separator: ", "))): it was written by a newer WeCare; install that version again")
                }
                let pending = known.filter { !applied.contains($0) }
                if !pending.isEmpty {
                    return SelftestResult(.warn, "ledger", "\(pending.count) schema step(s) not yet applied "
                        + "(\(pending.joined(separator: ", "))); the next `wecare serve` applies them")
                }
                let jobs = try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs") ?? 0
                return SelftestResult(.ok, "ledger", "\(file.path): integrity ok, schema current (\(known.count) steps), \(jobs) job(s)")
            }
        } catch {
            let said = "\(error)".split(whereSeparator: \.isNewline).joined(separator: "; ")
            return SelftestResult(.fail, "ledger", "cannot open \(file.path) (\(said)); \(restore)")
        }
    }
}
