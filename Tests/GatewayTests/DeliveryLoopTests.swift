import Foundation
import Logging
import XCTest
@testable import Gateway

/// The sharing of one destination's queue between senders, under contention. The end-to-end
/// version with storescp is in PipelineTests; here the sender only counts, so the loop runs
/// hundreds of batches a second and a race between claiming and recording shows up.
final class DeliveryLoopTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("delivery-loop") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Counts how often each file was handed over; every send succeeds after a short pause.
    final class CountingDeliverer: Deliverer, @unchecked Sendable {
        private let lock = NSLock()
        private var sends: [String: Int] = [:]
        func deliver(_ items: [DeliveryItem]) -> [DeliveryResult] {
            usleep(UInt32.random(in: 0...300))
            lock.lock()
            for item in items { sends[item.file.path, default: 0] += 1 }
            lock.unlock()
            return items.map { DeliveryResult(item: $0, error: nil) }
        }
        var counts: [String: Int] { lock.lock(); defer { lock.unlock() }; return sends }
    }

    func testSendersSharingAQueueNeverSendAnObjectTwice() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let objects = 400
        for i in 0..<objects {
            _ = try ledger.recordReceived(NewInstance(
                sopInstanceUID: "2.25.\(i)", sopClassUID: "1.2.840.10008.5.1.4.1.1.6.1", studyInstanceUID: "1.2.3",
                callingAETitle: "US_ROOM1", transferSyntaxUID: "1.2.840.10008.1.2.1", spoolPath: "s/\(i).dcm", sizeBytes: 1),
                now: Date())
            let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
            try ledger.completeJob(claim.jobID, objects: [
                NewObject(kind: .seg, fileName: "seg.dcm", path: DataDirectory.jobObjectPath(job: claim.jobID, file: "seg.dcm"),
                          sopInstanceUID: "2.25.9\(i)",
                          destinations: ["pacs"]),
            ], analysisSeconds: 0, now: Date())
        }
        let deliverer = CountingDeliverer()
        let pacs = DestinationSettings(name: "pacs", kind: .dicom(DICOMDestinationSettings(
            aeTitle: "PACS", host: "127.0.0.1", port: 104, callingAETitle: "WECARE", maxAssociations: 8)), outputs: [.seg])
        let loop = DeliveryLoop(destination: pacs, deliverer: deliverer, ledger: ledger,
                                outbox: outbox(ledger, capacity: 0), settings: DeliverySettings(), metrics: GatewayMetrics(), logger: Logger(label: "test"))
        loop.start()
        let done = try await Tools.eventually(timeout: 60) { try ledger.counts().deliveries[.delivered] == objects }
        await loop.stop()
        XCTAssertTrue(done, "\(String(describing: try? ledger.counts()))")
        let counts = deliverer.counts
        XCTAssertEqual(counts.count, objects, "every object was sent")
        XCTAssertEqual(counts.filter { $0.value > 1 }.count, 0, "objects sent more than once: \(counts.filter { $0.value > 1 })")
    }

    /// Fails the first `failures` batches, then succeeds; records what it was handed.
    final class FlakyDeliverer: Deliverer, @unchecked Sendable {
        private let lock = NSLock()
        private var failures: Int
        private var handed: [(path: String, inMemory: Bool, bytes: Data?)] = []
        init(failures: Int) { self.failures = failures }
        func deliver(_ items: [DeliveryItem]) -> [DeliveryResult] {
            lock.lock()
            defer { lock.unlock() }
            for item in items { handed.append((item.file.path, item.data != nil, item.data ?? (try? Data(contentsOf: item.file)))) }
            let fail = failures > 0
            failures -= 1
            return items.map { DeliveryResult(item: $0, error: fail ? "peer down" : nil) }
        }
        var log: [(path: String, inMemory: Bool, bytes: Data?)] { lock.lock(); defer { lock.unlock() }; return handed }
    }

    /// One received and analysed job whose SEG, with this content, goes to "pacs".
    func analysedJob(_ ledger: SQLiteLedger, content: Data) throws -> Int64 {
        _ = try ledger.recordReceived(NewInstance(
            sopInstanceUID: "2.25.1", sopClassUID: "1.2.840.10008.5.1.4.1.1.6.1", studyInstanceUID: "1.2.3",
            callingAETitle: "US_ROOM1", transferSyntaxUID: "1.2.840.10008.1.2.1", spoolPath: "s/1.dcm", sizeBytes: 1), now: Date())
        let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        try ledger.completeJob(claim.jobID, objects: [
            NewObject(kind: .seg, fileName: "seg.dcm", path: DataDirectory.jobObjectPath(job: claim.jobID, file: "seg.dcm"),
                      sopInstanceUID: "2.25.9",
                      destinations: ["pacs"], fingerprint: ContentFingerprint(of: content)),
        ], analysisSeconds: 0, now: Date())
        return claim.jobID
    }

    static let pacs = DestinationSettings(name: "pacs", kind: .dicom(DICOMDestinationSettings(
        aeTitle: "PACS", host: "127.0.0.1", port: 104, callingAETitle: "WECARE")), outputs: [.seg])

    func outbox(_ ledger: SQLiteLedger, capacity: Int = 1 << 20) -> Outbox {
        Outbox(data: DataDirectory(dir), ledger: ledger, destinations: [Self.pacs], memoryCapacity: capacity, logger: Logger(label: "test"))
    }

    func loop(_ ledger: SQLiteLedger, _ deliverer: Deliverer, _ outbox: Outbox) -> DeliveryLoop {
        DeliveryLoop(destination: Self.pacs, deliverer: deliverer, ledger: ledger, outbox: outbox,
                            settings: DeliverySettings(retryBaseSeconds: 0.05), metrics: GatewayMetrics(), logger: Logger(label: "test"))
    }

    /// A held object goes out from memory and is let go; a failed one waits in its outbox
    /// file, and its retry sends the file (whose fingerprint matches).
    func testHeldObjectsGoFromMemoryAndAFailedOneWaitsOnDisk() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let content = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let outbox = outbox(ledger)
        let first = JobClaim(jobID: 1, attempts: 1, instance: StoredInstance(
            id: 1, sopInstanceUID: "2.25.1", sopClassUID: "", studyInstanceUID: nil, callingAETitle: "", transferSyntaxUID: "", spoolPath: ""))
        var job: Int64 = 0
        try outbox.keep([ProducedObject(kind: .seg, fileName: "seg.dcm", data: content)], of: first) { _ in
            job = try analysedJob(ledger, content: content)
        }
        XCTAssertEqual(job, 1)
        let path = DataDirectory.jobObjectPath(job: job, file: "seg.dcm")
        let deliverer = FlakyDeliverer(failures: 1)
        let loop = loop(ledger, deliverer, outbox)
        loop.start()
        let done = try await Tools.eventually(timeout: 30) { try ledger.counts().deliveries[.delivered] == 1 }
        await loop.stop()
        XCTAssertTrue(done, "\(String(describing: try? ledger.counts()))")
        let log = deliverer.log
        XCTAssertEqual(log.count, 2)
        XCTAssertEqual(log.map(\.inMemory), [true, false], "first from memory, the retry from the spilled file")
        XCTAssertEqual(log.map(\.bytes), [content, content])
        XCTAssertEqual(outbox.heldBytes, 0)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(path)), content)
        XCTAssertEqual(try ledger.job(id: job)?.attempts, 1, "not analysed again")
    }

    /// What a crash leaves: an analysed job whose object is neither held nor on disk. It goes
    /// back to analysis and nothing is sent.
    func testAnObjectNeitherHeldNorOnDiskSendsItsJobBackToAnalysis() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let job = try analysedJob(ledger, content: Data(repeating: 1, count: 100))
        let deliverer = FlakyDeliverer(failures: 0)
        let loop = loop(ledger, deliverer, outbox(ledger))
        loop.start()
        let redone = try await Tools.eventually(timeout: 30) { try ledger.job(id: job)?.state == "received" }
        await loop.stop()
        XCTAssertTrue(redone)
        XCTAssertEqual(try ledger.job(id: job)?.reason, "outbox file seg.dcm missing; analysing again")
        XCTAssertTrue(deliverer.log.isEmpty)
    }
}
