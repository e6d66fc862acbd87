import Foundation
import Logging

/// One loop per destination (a slow PACS never holds up a folder): sends what is due, records
/// each object's outcome as the destination gives it, and follows the destination's health
/// (`DestinationHealth`): while it is down only one probe at a time goes out, and nothing else
/// is tried, counted or logged. A DICOM destination gets `max_associations` senders, each on
/// its own thread (sending blocks on the network and must not occupy Swift's small cooperative
/// pool); they share the queue through `inFlight`, so no object is sent twice at once.
final class DeliveryLoop: @unchecked Sendable {
    // Immutable after init except `inFlight`, which `lock` guards; threads are started once and
    // each signals `finished` when it ends.
    let destination: DestinationSettings
    let health: DestinationHealth
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
        self.health = DestinationHealth(probes: settings.probes)
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

    /// Due deliveries no other sender holds, now held by the caller, oldest first. The ledger
    /// is read under the lock: a sender records each outcome before it releases, so a read
    /// that still sees an object pending also still sees it in flight, and a finished object is
    /// never claimed again.
    private func claim(_ limit: Int) throws -> [DeliveryTask] {
        lock.lock()
        defer { lock.unlock() }
        let due = try ledger.dueDeliveries(destination: destination.name, now: Date(), limit: limit + inFlight.count)
        let mine = Array(due.filter { !inFlight.contains($0.id) }.prefix(limit))
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
                switch health.turn(now: Date()) {
                case .go:
                    let due = try claim(batchLimit)
                    if due.isEmpty {
                        // Nothing (more) due: associations kept past their time are released while we wait.
                        deliverer.closeIdleConnections(now: Date())
                        wait(after: ticket, until: try ledger.nextDeliveryDue(destination: destination.name))
                        continue
                    }
                    // A full batch may leave more due: wake another sender for it.
                    if senders > 1 && due.count == batchLimit { doorbell.ring() }
                    let retryAt = try send(due, probe: false)
                    // A full batch may have left more due. A partial one was all there was:
                    // what was queued since rang after `ticket`, which ends this wait at once.
                    // Nothing else can fall due sooner than a retry this batch scheduled, except
                    // an older retry, which waits at most the 1 s every wait is capped at.
                    // Skipping the ledger's next-due query here saves one read per batch.
                    if due.count < batchLimit { wait(after: ticket, until: retryAt) }
                case .probe:
                    let due = try claim(1)
                    if due.isEmpty {
                        health.probeSentNothing()
                        wait(after: ticket, until: try ledger.nextDeliveryDue(destination: destination.name))
                        continue
                    }
                    _ = try send(due, probe: true)
                case .wait(let until):
                    // Down: what waits for it may wait long, on disk rather than in memory.
                    outbox.spill(waitingFor: destination.name)
                    deliverer.closeIdleConnections(now: Date())
                    wait(after: ticket, until: until)
                }
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

    /// What became of one batch, outcome by outcome.
    private struct Tally {
        var delivered = 0
        var answered = false
        var unreachable: (task: DeliveryTask, error: String)?
        var earliestRetry: Date?
    }

    /// Sends the batch (held by the caller), recording each outcome as it comes; returns the
    /// earliest retry it scheduled.
    private func send(_ batch: [DeliveryTask], probe: Bool) throws -> Date? {
        defer { release(batch) }
        let ready = try outbox.take(batch)
        if ready.isEmpty {
            if probe { health.probeSentNothing() }
            return nil
        }
        var tally = Tally()
        deliverer.deliver(ready.map(\.item)) { index, outcome in
            record(ready[index].task, outcome, into: &tally)
        }
        if tally.delivered > 0 { logger.info("delivered", metadata: ["objects": "\(tally.delivered)"]) }
        if tally.answered && health.answered() {
            logger.notice("destination is back; everything waiting for it goes now, oldest first",
                          metadata: ["waiting": "\(waitingCount())"])
            doorbell.ringAll()
        }
        if let (task, error) = tally.unreachable {
            try ledger.markDeliveryUnsent(task.id, error: error, now: Date())
            metrics.deliveryFailed(destination: destination.name)
            if health.unreachable(error, probe: probe, now: Date()) {
                logger.warning("destination is down; deliveries wait, and one probe at a time finds out when it is back",
                               metadata: ["waiting": "\(waitingCount())", "error": "\(error)"])
                outbox.spill(waitingFor: destination.name)
            }
        } else if probe && !tally.answered {
            health.probeSentNothing()
        }
        return tally.earliestRetry
    }

    /// Records one outcome in the ledger at once: a confirmation before the next object goes.
    private func record(_ task: DeliveryTask, _ outcome: DeliveryOutcome, into tally: inout Tally) {
        switch outcome {
        case .delivered:
            tally.answered = true
            do {
                try ledger.markDelivered(task.id, now: Date())
                outbox.settle(task)
                tally.delivered += 1
            } catch {
                // Unrecorded, it is sent again (harmless for the PACS); kept, so not analysed again.
                logger.error("cannot record a delivery; the object will be sent again",
                             metadata: ["job": "\(task.jobID)", "file": "\(task.fileName)", "error": "\(error)"])
            }
        case .refused(let error):
            tally.answered = true
            let refusals = task.refusals + 1
            let giveUp = maxAttempts > 0 && refusals >= maxAttempts
            let at = giveUp ? nil : retry.retryDate(afterAttempt: refusals)
            do {
                try ledger.markDeliveryRefused(task.id, error: error, retryAt: at, now: Date())
            } catch {
                logger.error("cannot record a refused delivery", metadata: ["job": "\(task.jobID)", "error": "\(error)"])
                return
            }
            if let at, tally.earliestRetry.map({ at < $0 }) ?? true { tally.earliestRetry = at }
            metrics.deliveryFailed(destination: destination.name)
            logger.warning(giveUp ? "the destination refused the object for good" : "the destination refused the object; it is tried again",
                           metadata: ["job": "\(task.jobID)", "file": "\(task.fileName)", "refusals": "\(refusals)",
                                      "retry_in_s": "\(at.map { String(Int($0.timeIntervalSinceNow)) } ?? "never")",
                                      "error": "\(error)"])
            if giveUp { outbox.settle(task) } else { outbox.spill(task) }
        case .unavailable(let error):
            tally.unreachable = (task, error)
        }
    }

    private func waitingCount() -> String {
        guard let waiting = try? ledger.waitingDeliveries() else { return "unknown" }
        return "\(waiting[destination.name]?.count ?? 0)"
    }
}
