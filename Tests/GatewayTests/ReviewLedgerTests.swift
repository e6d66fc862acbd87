import XCTest
@testable import Gateway

/// The reading room's part of the ledger: accounts, the worklist's states and filters, signatures
/// (durable, with their deliveries, refused when someone signed meanwhile) and the audit trail.
final class ReviewLedgerTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("review-ledger") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }


    func item(_ job: Int64, date: String, name: String) -> NewReviewItem {
        NewReviewItem(jobID: job, patientName: name, patientID: "ID\(job)", studyDate: date, label: "benign", probability: 0.8,
                      result: Data("{\"label\":\"benign\"}".utf8), aiReportUID: "2.25.\(job)", aiReportSeriesUID: "2.25.9\(job)",
                      producerVersion: "model 1")
    }

    func testAccounts() throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        try ledger.addAccount(name: "dr.a", role: .radiologist, passwordHash: "$2b$h", now: Date())
        XCTAssertThrowsError(try ledger.addAccount(name: "dr.a", role: .viewer, passwordHash: "x", now: Date())) {
            XCTAssertEqual($0 as? ReviewLedgerError, .accountExists("dr.a"))
        }
        XCTAssertThrowsError(try ledger.setDisabled(name: "nobody", true, now: Date())) {
            XCTAssertEqual($0 as? ReviewLedgerError, .noSuchAccount("nobody"))
        }
        try ledger.setDisabled(name: "dr.a", true, now: Date())
        try ledger.setPassword(name: "dr.a", passwordHash: "$2b$new", now: Date())
        XCTAssertEqual(try ledger.account(name: "dr.a"), Account(name: "dr.a", role: .radiologist, passwordHash: "$2b$new", disabled: true))
    }

    func testWorklistStatesFiltersPagesAndSignatures() throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        var jobs: [Int64] = []
        for k in 1...4 {
            guard case .recorded(let job) = try ledger.recordReceived(.example("1.\(k)"), now: Date()) else { return XCTFail() }
            jobs.append(job)
        }
        // Jobs 1-3 analysed and kept for review, job 4 still waiting.
        for k in 0..<3 {
            let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
            try ledger.completeJob(claim.jobID, objects: [], analysisSeconds: 0.1, now: Date())
            if k < 2 { try ledger.recordReviewItem(item(claim.jobID, date: "2026120\(k + 1)", name: "P\(k)^A"), now: Date()) }
        }
        var page = try ledger.worklist(WorklistFilter())
        XCTAssertEqual(page.rows.map(\.job), jobs.reversed(), "newest first")
        XCTAssertEqual(page.rows.map(\.state), [.analysing, .unavailable, .ready, .ready])
        XCTAssertEqual(page.rows.last?.patientName, "P0^A")
        XCTAssertEqual(try ledger.worklist(WorklistFilter(state: .ready)).total, 2)
        XCTAssertEqual(try ledger.worklist(WorklistFilter(from: "20261202", to: "20261231")).rows.map(\.job), [jobs[1]])
        page = try ledger.worklist(WorklistFilter(page: 1, pageSize: 3))
        XCTAssertEqual(page.rows.map(\.job), [jobs[0]], "the second page of three")
        XCTAssertEqual(page.total, 4)

        // A signature: objects, deliveries and audit in one transaction; a stale one is refused.
        let object = NewObject(kind: .sr, fileName: "r1-sr.dcm", path: "outbox/jobs/\(jobs[0])/r1-sr.dcm", sopInstanceUID: "2.25.77",
                               destinations: ["pacs"])
        let signature = SignedRevision(jobID: jobs[0], revision: 1, user: "dr.a", outcome: .corrected, document: Data("{}".utf8),
                                       objects: [object], auditDetail: "revision 1 corrected")
        try ledger.recordSignature(signature, expectedPrevious: 0, now: Date())
        XCTAssertThrowsError(try ledger.recordSignature(signature, expectedPrevious: 0, now: Date())) {
            XCTAssertEqual($0 as? ReviewLedgerError, .revisionConflict(job: jobs[0], found: 1))
        }
        let signed = try XCTUnwrap(try ledger.reviewItem(job: jobs[0]))
        XCTAssertEqual(signed.row.state, .corrected)
        XCTAssertEqual(signed.row.revision, 1)
        XCTAssertEqual(signed.signedDocument, Data("{}".utf8))
        let due = try ledger.dueDeliveries(destination: "pacs", now: Date(), limit: 10)
        XCTAssertEqual(due.map(\.fileName), ["r1-sr.dcm"], "through the same delivery path")
        try ledger.markDelivered(due[0].id, now: Date())
        XCTAssertEqual(try ledger.reviewItem(job: jobs[0])?.row.state, .delivered)
        XCTAssertEqual(try ledger.reviewItem(job: jobs[0])?.row.outcome, .corrected, "what was signed stays visible")

        try ledger.audit(user: "dr.a", action: "view", job: jobs[1], detail: nil, now: Date())
        XCTAssertEqual(try ledger.auditTrail(limit: 10, job: nil).map(\.action), ["view", "sign"], "newest first")
        XCTAssertEqual(try ledger.auditTrail(limit: 10, job: jobs[0]).map(\.detail), ["revision 1 corrected"])
        XCTAssertThrowsError(try ledger.saveDraft(job: 999, draft: nil, user: "dr.a", now: Date()))
    }
}
