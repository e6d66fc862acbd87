import Foundation
import Logging

/// One loop per destination (a slow PACS never holds up a folder): sends what is due, records
/// each object's outcome, and schedules retries of only what failed. A DICOM destination gets
/// `max_associations` senders, each on its own thread (sending blocks on the network and must
/// not occupy Swift's small cooperative pool); they share the queue through `inFlight`, so no
/// object is sent twice at once.
final class DeliveryLoop: @unchecked Sendable {
    // Immutable after init except `inFlight`, which `lock` guards; threads are started once and
    // each signals `finished` when it ends.
    private let destination: DestinationSettings
    private let deliverer: Deliverer
    private let ledger: Ledger
    private let outbox: Outbox
    private let retry: RetryPolicy
    private let maxAttempts: Int
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let senders: Int
    let doorbell = Doorbell()
    private let stopFlag = StopFlag()
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var inFlight: Set<Int64> = []

    init(destination: DestinationSettings, deliverer: Deliverer, ledger: Ledger, outbox: Outbox,
         settings: DeliverySettings, metrics: GatewayMetrics, logger: Logger) {
        self.destination = destination
        self.deliverer = deliverer
        self.ledger = ledger
        self.outbox = outbox
        self.retry = RetryPolicy(settings)
        self.maxAttempts = settings.maxAttempts
        self.metrics = metrics
        if case .dicom(let peer) = destination.kind { senders = max(1, peer.maxAssociations) } else { senders = 1 }
        var log = logger
        log[metadataKey: "destination"] = "\(destination.name)"
        self.logger = log
    }

    func start() {
        for index in 0..<senders {
            let thread = Thread { [self] in
                loop()
                finished.signal()
            }
            thread.name = "wecare-delivery-\(destination.name)-\(index)"
            thread.start()
        }
    }

    /// Finishes the batches in flight and releases kept associations, then returns; pending
    /// deliveries stay in the ledger.
    func stop() async {
        stopFlag.set()
        doorbell.ringAll()
        let finished = self.finished
        let senders = self.senders
        let deliverer = self.deliverer
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                for _ in 0..<senders { finished.wait() }
                deliverer.closeAllConnections()
                c.resume()
            }
        }
    }

    /// With several senders, a batch is a few images' objects, so the others find work too.
    private var batchLimit: Int { senders == 1 ? 32 : 6 }

    /// Due deliveries no other sender holds, now held by the caller. The ledger is read under
    /// the lock: a sender records its outcome before it releases, so a read that still sees an
    /// object pending also still sees it in flight, and a finished object is never claimed again.
    private func claim() throws -> [DeliveryTask] {
        lock.lock()
        defer { lock.unlock() }
        let due = try ledger.dueDeliveries(destination: destination.name, now: Date(), limit: batchLimit + inFlight.count)
        let mine = Array(due.filter { !inFlight.contains($0.id) }.prefix(batchLimit))
        inFlight.formUnion(mine.map(\.id))
        return mine
    }

    private func release(_ tasks: [DeliveryTask]) {
        lock.lock()
        inFlight.subtract(tasks.map(\.id))
        lock.unlock()
    }

    private func loop() {
        while true {
            // Ticket first: `stop()` sets the flag before it rings, so either this sees the
            // flag or the wait below sees the ring.
            let ticket = doorbell.ticket()
            if stopFlag.isSet { return }
            do {
                let due = try claim()
                // A full batch may leave more due: wake another sender for it.
                if senders > 1 && due.count == batchLimit { doorbell.ring() }
                if !due.isEmpty {
                    let retryAt: Date?
                    do {
                        defer { release(due) }
                        retryAt = try deliver(due)
                    }
                    // A full batch may have left more due. A partial one was all there was:
                    // what was queued since rang after `ticket`, which ends this wait at once.
                    // Nothing else can fall due sooner than a retry this batch scheduled, except
                    // an older retry, which waits at most the 1 s every wait is capped at.
                    // Skipping the ledger's next-due query here saves one read per batch.
                    if due.count < batchLimit { wait(after: ticket, until: retryAt) }
                    continue
                }
                // Nothing (more) due: associations kept past their time are released while we wait.
                deliverer.closeIdleConnections(now: Date())
                wait(after: ticket, until: try ledger.nextDeliveryDue(destination: destination.name))
            } catch {
                logger.error("ledger error in delivery loop", metadata: ["error": "\(error)"])
                doorbell.waitBlocking(after: doorbell.ticket(), upTo: 1)
            }
        }
    }

    /// Until a ring after `ticket`, or `due` (nil: nothing scheduled), waiting at least 50 ms
    /// and at most 1 s: a sender looks at the ledger again at least once a second.
    private func wait(after ticket: Doorbell.Ticket, until due: Date?) {
        doorbell.waitBlocking(after: ticket, upTo: min(max(due?.timeIntervalSinceNow ?? 1, 0.05), 1))
    }

    /// Sends the batch and records each outcome; returns the earliest retry it scheduled.
    private func deliver(_ batch: [DeliveryTask]) throws -> Date? {
        // Each from memory or its checked outbox file; a job with a lost object goes back to analysis.
        let ready = try outbox.take(batch)
        if ready.isEmpty { return nil }
        let tasks = ready.map(\.task)
        let items = ready.map(\.item)
        let results = deliverer.deliver(items)
        var delivered: [DeliveryTask] = []
        var earliestRetry: Date?
        for (task, result) in zip(tasks, results) {
            if let error = result.error {
                let attempt = task.attempts + 1
                let giveUp = maxAttempts > 0 && attempt >= maxAttempts
                let at = giveUp ? nil : retry.retryDate(afterAttempt: attempt)
                try ledger.markDeliveryFailed(task.id, error: error, retryAt: at, now: Date())
                if let at, earliestRetry.map({ at < $0 }) ?? true { earliestRetry = at }
                metrics.deliveryFailed(destination: destination.name)
                logger.warning(giveUp ? "delivery failed for good" : "delivery failed, will retry",
                               metadata: ["job": "\(task.jobID)", "file": "\(task.fileName)", "attempt": "\(attempt)",
                                          "retry_in_s": "\(at.map { String(Int($0.timeIntervalSinceNow)) } ?? "never")",
                                          "error": "\(error)"])
                // The retry may be hours away: the object waits in its outbox file, not in memory.
                if giveUp { outbox.settle(task) } else { outbox.spill(task) }
            } else {
                delivered.append(task)
            }
        }
        if !delivered.isEmpty {
            try ledger.markDelivered(delivered.map(\.id), now: Date())
            for task in delivered { outbox.settle(task) }
            logger.info("delivered", metadata: ["objects": "\(delivered.count)"])
        }
        return earliestRetry
    }
}
