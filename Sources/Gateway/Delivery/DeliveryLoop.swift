import Foundation
import Logging

/// One loop per destination (a slow PACS never holds up a folder): sends what is due, records
/// each object's outcome, and schedules retries of only what failed.
final class DeliveryLoop: @unchecked Sendable {
    // Immutable after init apart from `task`, touched only by start/stop on the service.
    private let destination: DestinationSettings
    private let deliverer: Deliverer
    private let ledger: Ledger
    private let dataDirectory: URL
    private let retry: RetryPolicy
    private let maxAttempts: Int
    private let metrics: GatewayMetrics
    private let logger: Logger
    let doorbell = Doorbell()
    private let stopFlag = StopFlag()
    private var task: Task<Void, Never>?

    init(destination: DestinationSettings, deliverer: Deliverer, ledger: Ledger, dataDirectory: URL,
         settings: DeliverySettings, metrics: GatewayMetrics, logger: Logger) {
        self.destination = destination
        self.deliverer = deliverer
        self.ledger = ledger
        self.dataDirectory = dataDirectory
        self.retry = RetryPolicy(settings)
        self.maxAttempts = settings.maxAttempts
        self.metrics = metrics
        var log = logger
        log[metadataKey: "destination"] = "\(destination.name)"
        self.logger = log
    }

    func start() {
        task = Task.detached { [self] in await self.loop() }
    }

    /// Finishes the batch in flight, then returns; pending deliveries stay in the ledger.
    func stop() async {
        stopFlag.set()
        await task?.value
        task = nil
    }

    private func loop() async {
        let stop = stopFlag
        while !stop.isSet {
            do {
                let due = try ledger.dueDeliveries(destination: destination.name, now: Date(), limit: 32)
                if !due.isEmpty {
                    try deliver(due)
                    continue
                }
                let next = try ledger.nextDeliveryDue(destination: destination.name).map { $0.timeIntervalSinceNow } ?? 1
                await doorbell.wait(upTo: min(max(next, 0.05), 1), stop: { stop.isSet })
            } catch {
                logger.error("ledger error in delivery loop", metadata: ["error": "\(error)"])
                await doorbell.wait(upTo: 1, stop: { stop.isSet })
            }
        }
    }

    private func deliver(_ tasks: [DeliveryTask]) throws {
        // DICOM objects of a batch travel over one association; files are read from the outbox.
        let items = tasks.map { t in
            DeliveryItem(file: dataDirectory.appendingPathComponent(t.path), fileName: t.fileName, kind: t.kind,
                         studyInstanceUID: t.studyInstanceUID, sourceSOPInstanceUID: t.sourceSOPInstanceUID)
        }
        let results = deliverer.deliver(items)
        var delivered: [Int64] = []
        for (task, result) in zip(tasks, results) {
            if let error = result.error {
                let attempt = task.attempts + 1
                let giveUp = maxAttempts > 0 && attempt >= maxAttempts
                let at = giveUp ? nil : retry.retryDate(afterAttempt: attempt)
                try ledger.markDeliveryFailed(task.id, error: error, retryAt: at, now: Date())
                metrics.deliveryFailed(destination: destination.name)
                logger.warning(giveUp ? "delivery failed for good" : "delivery failed, will retry",
                               metadata: ["job": "\(task.jobID)", "file": "\(task.fileName)", "attempt": "\(attempt)",
                                          "retry_in_s": "\(at.map { String(Int($0.timeIntervalSinceNow)) } ?? "never")",
                                          "error": "\(error)"])
            } else {
                delivered.append(task.id)
            }
        }
        if !delivered.isEmpty {
            try ledger.markDelivered(delivered, now: Date())
            logger.info("delivered", metadata: ["objects": "\(delivered.count)"])
        }
    }
}
