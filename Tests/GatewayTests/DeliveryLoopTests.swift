import Foundation
import Logging
import Synchronization
import XCTest
@testable import Gateway

/// One destination's delivery loop with senders that only count or switch between answers, so
/// the loop runs hundreds of batches a second and races show up: the sharing of the queue, the
/// outbox's memory and files, a destination that is down and comes back, an object refused
/// on its own, and each confirmation recorded before the next object goes. The versions with
/// storescp are in PipelineTests and RecoveryTests.
final class DeliveryLoopTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try Tools.temporaryDirectory("delivery-loop") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Counts how often each file was handed over; every send succeeds after a short pause.
    final class CountingDeliverer: Deliverer, @unchecked Sendable {
        private let lock = NSLock()
        private var sends: [String: Int] = [:]
        func deliver(_ items: [DeliveryItem], report: (Int, DeliveryOutcome) -> Void) {
            usleep(UInt32.random(in: 0...300))
            lock.lock()
            for item in items { sends[item.file.path, default: 0] += 1 }
            lock.unlock()
            for index in items.indices { report(index, .delivered) }
        }
        var counts: [String: Int] { lock.lock(); defer { lock.unlock() }; return sends }
    }

    /// `count` received and analysed jobs, each with one SEG for "pacs" (written durably: no
    /// fingerprint to check), as `jobs` in the order they were queued.
    func analysedJobs(_ ledger: SQLiteLedger, _ count: Int) throws -> [Int64] {
        try (0..<count).map { i in
            _ = try ledger.recordReceived(NewInstance(
                sopInstanceUID: "2.25.\(i)", sopClassUID: "1.2.840.10008.5.1.4.1.1.6.1", studyInstanceUID: "1.2.3",
                callingAETitle: "US_ROOM1", transferSyntaxUID: "1.2.840.10008.1.2.1", spoolPath: "s/\(i).dcm", sizeBytes: 1),
                now: Date())
            let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
            try ledger.completeJob(claim.jobID, objects: [
                NewObject(kind: .seg, fileName: "seg.dcm", path: DataDirectory.jobObjectPath(job: claim.jobID, file: "seg.dcm"),
                          sopInstanceUID: "2.25.9\(i)", destinations: ["pacs"]),
            ], analysisSeconds: 0, now: Date())
            return claim.jobID
        }
    }

    static let pacs = DestinationSettings(name: "pacs", kind: .dicom(DICOMDestinationSettings(
        aeTitle: "PACS", host: "127.0.0.1", port: 104, callingAETitle: "WECARE")), outputs: [.seg])

    func outbox(_ ledger: SQLiteLedger, capacity: Int = 1 << 20) -> Outbox {
        Outbox(data: DataDirectory(dir), ledger: ledger, destinations: [Self.pacs], memoryCapacity: capacity, logger: Logger(label: "test"))
    }

    func loop(_ ledger: SQLiteLedger, _ deliverer: Deliverer, _ outbox: Outbox, senders: Int = 1,
              settings: DeliverySettings = DeliverySettings(retryBaseSeconds: 0.05, probeMaxSeconds: 0.2),
              logger: Logger = Logger(label: "test")) -> DeliveryLoop {
        var destination = Self.pacs
        if case .dicom(var peer) = destination.kind {
            peer.maxAssociations = senders
            destination.kind = .dicom(peer)
        }
        return DeliveryLoop(destination: destination, deliverer: deliverer, ledger: ledger, outbox: outbox,
                            settings: settings, metrics: GatewayMetrics(), logger: logger)
    }

    func deliveries(_ ledger: SQLiteLedger, _ jobs: [Int64]) throws -> [DeliverySummary] {
        try jobs.flatMap { try XCTUnwrap(try ledger.job(id: $0)).deliveries }
    }

    func testSendersSharingAQueueNeverSendAnObjectTwice() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let objects = 400
        _ = try analysedJobs(ledger, objects)
        let deliverer = CountingDeliverer()
        let loop = loop(ledger, deliverer, outbox(ledger, capacity: 0), senders: 8, settings: DeliverySettings())
        loop.start()
        let done = try await Tools.eventually(timeout: 60) { try ledger.counts().deliveries[.delivered] == objects }
        await loop.stop()
        XCTAssertTrue(done, "\(String(describing: try? ledger.counts()))")
        let counts = deliverer.counts
        XCTAssertEqual(counts.count, objects, "every object was sent")
        XCTAssertEqual(counts.filter { $0.value > 1 }.count, 0, "objects sent more than once: \(counts.filter { $0.value > 1 })")
    }

    /// Answers `.unavailable` while `down`, and `.refused` for files named in `refuse`; records
    /// what it was handed and how many sends ran at once while down.
    final class SwitchableDeliverer: Deliverer, @unchecked Sendable {
        private let lock = NSLock()
        private var isDown: Bool
        private var refuse: Set<String>
        private var handed: [(path: String, inMemory: Bool, bytes: Data?, down: Bool)] = []
        private var running = 0
        private(set) var mostAtOnceWhileDown = 0
        /// Called before each object is sent.
        var beforeEach: (DeliveryItem) -> Void = { _ in }

        init(down: Bool = false, refuse: Set<String> = []) {
            isDown = down
            self.refuse = refuse
        }

        var down: Bool {
            get { lock.withLock { isDown } }
            set { lock.withLock { isDown = newValue } }
        }

        func deliver(_ items: [DeliveryItem], report: (Int, DeliveryOutcome) -> Void) {
            lock.withLock {
                running += 1
                if isDown { mostAtOnceWhileDown = max(mostAtOnceWhileDown, running) }
            }
            defer { lock.withLock { running -= 1 } }
            usleep(2000)
            for (index, item) in items.enumerated() {
                beforeEach(item)
                let (down, refused) = lock.withLock { () -> (Bool, Bool) in
                    handed.append((item.file.path, item.data != nil, item.data ?? (try? Data(contentsOf: item.file)), isDown))
                    return (isDown, refuse.contains(item.file.path))
                }
                if down { return report(index, .unavailable("connection refused")) }
                report(index, refused ? .refused("peer answered status C000") : .delivered)
            }
        }

        var log: [(path: String, inMemory: Bool, bytes: Data?, down: Bool)] { lock.withLock { handed } }
    }

    /// One received and analysed job whose SEG, with this content, goes to "pacs".
    func analysedJob(_ ledger: SQLiteLedger, content: Data) throws -> Int64 {
        _ = try ledger.recordReceived(NewInstance(
            sopInstanceUID: "2.25.1", sopClassUID: "1.2.840.10008.5.1.4.1.1.6.1", studyInstanceUID: "1.2.3",
            callingAETitle: "US_ROOM1", transferSyntaxUID: "1.2.840.10008.1.2.1", spoolPath: "s/1.dcm", sizeBytes: 1), now: Date())
        let claim = try XCTUnwrap(try ledger.claimDueJob(now: Date()))
        try ledger.completeJob(claim.jobID, objects: [
            NewObject(kind: .seg, fileName: "seg.dcm", path: DataDirectory.jobObjectPath(job: claim.jobID, file: "seg.dcm"),
                      sopInstanceUID: "2.25.9", destinations: ["pacs"], fingerprint: ContentFingerprint(of: content)),
        ], analysisSeconds: 0, now: Date())
        return claim.jobID
    }

    /// A held object goes out from memory and is let go; one whose destination is down waits in
    /// its outbox file, and the probe that finds the destination back sends the file (whose
    /// fingerprint matches).
    func testHeldObjectsGoFromMemoryAndOneWaitingForADownDestinationWaitsOnDisk() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let content = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let outbox = outbox(ledger)
        let claimLike = JobClaim(jobID: 1, attempts: 1, instance: StoredInstance(
            id: 1, sopInstanceUID: "2.25.1", sopClassUID: "", studyInstanceUID: nil, callingAETitle: "", transferSyntaxUID: "", spoolPath: ""))
        var job: Int64 = 0
        try outbox.keep([ProducedObject(kind: .seg, fileName: "seg.dcm", data: content)], of: claimLike) { _ in
            job = try analysedJob(ledger, content: content)
        }
        XCTAssertEqual(job, 1)
        XCTAssertEqual(outbox.heldBytes, content.count)
        let deliverer = SwitchableDeliverer(down: true)
        let loop = loop(ledger, deliverer, outbox)
        loop.start()
        let wentDown = await Tools.eventually(timeout: 30) { loop.health.down != nil }
        XCTAssertTrue(wentDown)
        let spilled = await Tools.eventually(timeout: 30) { outbox.heldBytes == 0 }
        XCTAssertTrue(spilled, "a destination that is down has its objects wait on disk")
        deliverer.down = false
        let done = try await Tools.eventually(timeout: 30) { try ledger.counts().deliveries[.delivered] == 1 }
        await loop.stop()
        XCTAssertTrue(done, "\(String(describing: try? ledger.counts()))")
        let log = deliverer.log
        XCTAssertEqual(log.first?.inMemory, true, "first from memory")
        XCTAssertEqual(log.last?.inMemory, false, "the probe from the spilled file")
        XCTAssertEqual(Set(log.map(\.bytes)), [content])
        XCTAssertNil(loop.health.down)
        let path = DataDirectory.jobObjectPath(job: job, file: "seg.dcm")
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(path)), content)
        XCTAssertEqual(try ledger.job(id: job)?.attempts, 1, "not analysed again")
    }

    /// What a crash leaves: an analysed job whose object is neither held nor on disk. It goes
    /// back to analysis and nothing is sent.
    func testAnObjectNeitherHeldNorOnDiskSendsItsJobBackToAnalysis() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let job = try analysedJob(ledger, content: Data(repeating: 1, count: 100))
        let deliverer = SwitchableDeliverer()
        let loop = loop(ledger, deliverer, outbox(ledger))
        loop.start()
        let redone = try await Tools.eventually(timeout: 30) { try ledger.job(id: job)?.state == "received" }
        await loop.stop()
        XCTAssertTrue(redone)
        XCTAssertEqual(try ledger.job(id: job)?.reason, "outbox file seg.dcm missing; analysing again")
        XCTAssertTrue(deliverer.log.isEmpty)
    }

    /// While the destination is down only one probe at a time goes out, nothing is counted
    /// against the objects, one line says it went down and one that it is back; then the
    /// whole backlog goes at once.
    func testADownDestinationIsProbedOneAtATimeAndGetsItsBacklogAtOnceWhenBack() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let jobs = try analysedJobs(ledger, 40)
        let deliverer = SwitchableDeliverer(down: true)
        let capture = LogCapture()
        let senders = 4
        let loop = loop(ledger, deliverer, outbox(ledger, capacity: 0), senders: senders, logger: capture.logger)
        loop.start()
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let probes = try XCTUnwrap(loop.health.down, "down after the first sends failed").failedProbes
        XCTAssertGreaterThanOrEqual(probes, 3, "probed again and again")
        let sendsWhileDown = deliverer.log.count
        XCTAssertLessThanOrEqual(sendsWhileDown, senders + probes + 1, "one probe at a time: \(sendsWhileDown) sends, \(probes) probes")
        XCTAssertEqual(try ledger.counts().deliveries[.delivered] ?? 0, 0)

        deliverer.down = false
        let back = Date()
        let done = try await Tools.eventually(timeout: 30) { try ledger.counts().deliveries[.delivered] == 40 }
        let took = Date().timeIntervalSince(back)
        await loop.stop()
        XCTAssertTrue(done, "\(String(describing: try? ledger.counts()))")
        XCTAssertLessThan(took, 2, "the backlog goes within one probe wait (0.2 s here), not each object's backoff")
        let all = try deliveries(ledger, jobs)
        XCTAssertTrue(all.allSatisfy { $0.state == "delivered" })
        XCTAssertEqual(deliverer.log.filter { !$0.down }.count, 40, "each object went once when the destination was back")
        XCTAssertEqual(capture.matching("destination is down").count, 1, capture.all.map(\.message).description)
        XCTAssertEqual(capture.matching("destination is back").count, 1)
        XCTAssertEqual(capture.matching("destination is back").first?.metadata["waiting"], "39", "all but the probe's object")
        XCTAssertEqual(capture.all.filter { $0.level >= .warning }.count, 1, "one warning for the whole outage")
    }

    /// An object the destination refuses backs off on its own and fails for good at
    /// max_attempts; the destination stays up and the others go.
    func testARefusedObjectBacksOffAloneAndFailsForGoodAtMaxAttempts() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let jobs = try analysedJobs(ledger, 5)
        let bad = DataDirectory(dir).file(DataDirectory.jobObjectPath(job: jobs[2], file: "seg.dcm")).path
        let deliverer = SwitchableDeliverer(refuse: [bad])
        let loop = loop(ledger, deliverer, outbox(ledger, capacity: 0),
                        settings: DeliverySettings(retryBaseSeconds: 0.05, retryMaxSeconds: 0.1, maxAttempts: 3, probeMaxSeconds: 0.2))
        loop.start()
        let settled = try await Tools.eventually(timeout: 30) {
            try ledger.counts().deliveries[.delivered] == 4 && ledger.counts().deliveries[.failed] == 1
        }
        await loop.stop()
        XCTAssertTrue(settled, "\(String(describing: try? ledger.counts()))")
        XCTAssertNil(loop.health.down, "a refusal is the object's, not the destination's")
        XCTAssertEqual(deliverer.log.filter { $0.path == bad }.count, 3)
        let refused = try XCTUnwrap(try ledger.job(id: jobs[2])?.deliveries.first)
        XCTAssertEqual(refused.state, "failed")
        XCTAssertEqual(refused.lastError, "peer answered status C000")
    }

    /// Each confirmation is in the ledger before the next object of the batch goes, so a crash
    /// during a batch never finds a confirmed object unrecorded.
    func testEachConfirmationIsRecordedBeforeTheNextObjectGoes() async throws {
        let ledger = try SQLiteLedger(path: dir.appendingPathComponent("ledger.sqlite"))
        let jobs = try analysedJobs(ledger, 10)
        let deliverer = SwitchableDeliverer()
        let unrecorded = Mutex<[String]>([])
        let data = DataDirectory(dir)
        let sent = Mutex<[Int64]>([])
        deliverer.beforeEach = { item in
            // Every object handed over before this one is recorded as delivered by now.
            for job in sent.withLock({ $0 }) where (try? ledger.job(id: job)?.deliveries.first?.state) != "delivered" {
                unrecorded.withLock { $0.append("job \(job) before \(item.file.lastPathComponent)") }
            }
            if let job = jobs.first(where: { data.file(DataDirectory.jobObjectPath(job: $0, file: "seg.dcm")) == item.file }) {
                sent.withLock { $0.append(job) }
            }
        }
        let loop = loop(ledger, deliverer, outbox(ledger, capacity: 0))
        loop.start()
        let done = try await Tools.eventually(timeout: 30) { try ledger.counts().deliveries[.delivered] == 10 }
        await loop.stop()
        XCTAssertTrue(done)
        XCTAssertEqual(deliverer.log.count, 10)
        XCTAssertGreaterThan(Set(sent.withLock { $0 }).count, 1)
        XCTAssertEqual(unrecorded.withLock { $0 }, [])
    }
}
