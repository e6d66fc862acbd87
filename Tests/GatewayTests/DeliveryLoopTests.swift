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
                NewObject(kind: .seg, fileName: "seg.dcm", path: "outbox/\(i)/seg.dcm", sopInstanceUID: "2.25.9\(i)",
                          destinations: ["pacs"]),
            ], analysisSeconds: 0, now: Date())
        }
        let deliverer = CountingDeliverer()
        let pacs = DestinationSettings(name: "pacs", kind: .dicom(DICOMDestinationSettings(
            aeTitle: "PACS", host: "127.0.0.1", port: 104, callingAETitle: "WECARE", maxAssociations: 8)), outputs: [.seg])
        let loop = DeliveryLoop(destination: pacs, deliverer: deliverer, ledger: ledger, dataDirectory: dir,
                                settings: DeliverySettings(), metrics: GatewayMetrics(), logger: Logger(label: "test"))
        loop.start()
        let done = try await Tools.eventually(timeout: 60) { try ledger.counts().deliveries[.delivered] == objects }
        await loop.stop()
        XCTAssertTrue(done, "\(String(describing: try? ledger.counts()))")
        let counts = deliverer.counts
        XCTAssertEqual(counts.count, objects, "every object was sent")
        XCTAssertEqual(counts.filter { $0.value > 1 }.count, 0, "objects sent more than once: \(counts.filter { $0.value > 1 })")
    }
}
