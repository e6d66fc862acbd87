import Foundation

/// One association at a time per SOP Instance UID from "is it in the ledger already?" to its
/// ledger row. Two copies arriving at once would otherwise both find nothing, and the second's
/// spool commit would replace the first's file (spool names come from the UID) while the
/// ledger kept the first's hash. Different UIDs never wait for each other.
final class InstanceCommitGate: @unchecked Sendable {  // state guarded by `condition`
    private let condition = NSCondition()
    private var busy: Set<String> = []

    func exclusive<T>(_ sopInstanceUID: String, _ body: () throws -> T) rethrows -> T {
        condition.lock()
        while busy.contains(sopInstanceUID) { condition.wait() }
        busy.insert(sopInstanceUID)
        condition.unlock()
        defer {
            condition.lock()
            busy.remove(sopInstanceUID)
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}
