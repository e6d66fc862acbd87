import Foundation

/// The outcome of one `wecare selftest` check, printed as one line.
public struct SelftestResult: Sendable, Equatable {
    public enum Status: String, Sendable, Comparable {
        case ok = "ok", warn = "warn", fail = "FAIL"

        var rank: Int { self == .ok ? 0 : self == .warn ? 1 : 2 }
        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
    }

    public var status: Status
    /// What was checked, e.g. "ledger" or "destination pacs".
    public var check: String
    /// What is true (ok), or what is wrong and what to do about it (warn, FAIL). No PHI.
    public var detail: String

    public init(_ status: Status, _ check: String, _ detail: String) {
        self.status = status
        self.check = check
        self.detail = detail
    }

    /// "FAIL  ledger        ..." — the status first, so a reader's eye finds the FAILs.
    public var line: String {
        let s = status.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)
        let c = check.count < 20 ? check.padding(toLength: 20, withPad: " ", startingAt: 0) : check + " "
        return s + " " + c + detail
    }
}

extension Array where Element == SelftestResult {
    /// `wecare selftest` exits 0 only when nothing failed (warnings are for the admin to read).
    public var passed: Bool { !contains { $0.status == .fail } }
}
