import Foundation
import Logging

/// A bounded pool of workers that take received jobs from the ledger, run the processor,
/// hand what it produced to the outbox and queue the deliveries. While the breaker has
/// analysis paused, jobs stay queued.
final class JobRunner: @unchecked Sendable {
    // All stored properties are immutable or thread-safe.
    private let ledger: Ledger
    private let processor: InstanceProcessor
    private let spool: Spool
    private let outbox: Outbox
    /// What the processor is asked to make: what some destination takes, or everything.
    private let kinds: Set<OutputKind>
    private let retry: RetryPolicy
    let breaker: AnalysisBreaker
    /// Worker deaths or time-outs after which an image is quarantined.
    private let quarantineAfter: Int
    private let workers: Int
    private let metrics: GatewayMetrics
    private let logger: Logger
    let doorbell = Doorbell()
    /// Told when a job produced deliveries (wakes the delivery loops).
    var onDeliveriesQueued: @Sendable () -> Void = {}
    /// Told of every successful analysis with all it produced, before the outbox keeps it (the
    /// reading room keeps the AI's result.json for review); set before `start()`.
    var onAnalysed: (@Sendable (_ job: Int64, _ instance: ReceivedInstance, _ produced: [ProducedObject]) -> Void)?
    private let stopFlag = StopFlag()
    private var tasks: [Task<Void, Never>] = []

    /// `extraKinds`: made whatever the destinations take (the reading room needs result.json).
    init(ledger: Ledger, processor: InstanceProcessor, spool: Spool, outbox: Outbox, retry: RetryPolicy,
         breaker: AnalysisBreaker, quarantineAfter: Int = 2, workers: Int, metrics: GatewayMetrics, logger: Logger,
         extraKinds: Set<OutputKind> = []) {
        self.ledger = ledger
        self.processor = processor
        self.spool = spool
        self.outbox = outbox
        kinds = outbox.kindsWanted.union(extraKinds)
        self.retry = retry
        self.breaker = breaker
        self.quarantineAfter = max(1, quarantineAfter)
        self.workers = max(1, workers)
        self.metrics = metrics
        self.logger = logger
    }

    func start() {
        tasks = (0..<workers).map { index in
            Task.detached { [self] in await self.work(index) }
        }
    }

    /// Lets each worker finish its current job, then returns; queued jobs stay in the ledger.
    func stop() async {
        stopFlag.set()
        doorbell.ringAll()
        for task in tasks { await task.value }
        tasks = []
    }

    private func work(_ index: Int) async {
        let stop = stopFlag
        while true {
            // Ticket first: `stop()` sets the flag before it rings, so either this sees the
            // flag or the wait below sees the ring.
            let ticket = doorbell.ticket()
            if stop.isSet { return }
            var probe = false
            do {
                switch breaker.turn(now: Date()) {
                case .go: break
                case .probe: probe = true
                case .wait(let until):
                    await doorbell.wait(after: ticket, upTo: min(max(until.timeIntervalSinceNow, 0.05), 1))
                    continue
                }
                if let claim = try ledger.claimDueJob(now: Date()) {
                    let verdict = await run(claim)
                    judge(verdict, probe: probe)
                    continue
                }
                if probe { breaker.probeClaimedNothing() }
                let next = try ledger.nextJobDue().map { $0.timeIntervalSinceNow } ?? 1
                await doorbell.wait(after: ticket, upTo: min(max(next, 0.05), 1))
            } catch {
                if probe { breaker.probeClaimedNothing() }
                logger.error("ledger error in worker", metadata: ["worker": "\(index)", "error": "\(error)"])
                await doorbell.wait(after: doorbell.ticket(), upTo: 1)
            }
        }
    }

    /// Tells the breaker how the analysis went, and the operator when that paused or resumed it.
    private func judge(_ verdict: AnalysisBreaker.Verdict, probe: Bool) {
        switch breaker.record(verdict, probe: probe, now: Date()) {
        case .paused(let failures, let reason):
            metrics.analysisPauses.increment()
            logger.error("analysis paused: it failed for every image alike; images are still received and stored, and analysis resumes by itself once a probe image succeeds",
                         metadata: ["failures_in_a_row": "\(failures)", "reason": "\(reason)", "queued": "\(queuedJobs())"])
        case .resumed(let seconds):
            // What failed meanwhile failed for the analysis's sake, not its image's: due now.
            do { _ = try ledger.makeQueuedJobsDue(now: Date()) } catch {
                logger.error("cannot make the queued jobs due; they wait for their retry times", metadata: ["error": "\(error)"])
            }
            logger.notice("analysis resumed: a probe image was analysed", metadata: [
                "paused_s": "\(Int(seconds))", "queued": "\(queuedJobs())"])
            doorbell.ringAll()
        case nil:
            break
        }
    }

    private func queuedJobs() -> String {
        (try? ledger.counts().jobs[.received] ?? 0).map(String.init) ?? "unknown"
    }

    /// Analyses one claimed job and records its outcome; returns it for the breaker.
    private func run(_ claim: JobClaim) async -> AnalysisBreaker.Verdict {
        let hash = UIDHash.short(claim.instance.sopInstanceUID)
        var log = logger
        log[metadataKey: "job"] = "\(claim.jobID)"
        log[metadataKey: "instance"] = "\(hash)"
        let instance = ReceivedInstance(sopClassUID: claim.instance.sopClassUID, sopInstanceUID: claim.instance.sopInstanceUID,
                                        callingAETitle: claim.instance.callingAETitle,
                                        spoolFile: spool.url(relativePath: claim.instance.spoolPath))
        let started = DispatchTime.now()
        do {
            let produced = try await processor.process(instance, making: kinds)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            metrics.analysisDuration.recordSeconds(seconds)
            onAnalysed?(claim.jobID, instance, produced)
            let objects = try outbox.keep(produced, of: claim) { objects in
                try ledger.completeJob(claim.jobID, objects: objects, analysisSeconds: seconds, now: Date())
            }
            log.info("job analysed", metadata: ["objects": "\(objects.count)", "seconds": "\(String(format: "%.3f", seconds))"])
            if objects.contains(where: { !$0.destinations.isEmpty }) { onDeliveriesQueued() }
            return .succeeded
        } catch ProcessingError.permanent(let reason) {
            log.warning("job failed for good", metadata: ["reason": "\(reason)"])
            try? ledger.failJob(claim.jobID, reason: reason, retryAt: nil, now: Date())
            await answerUnavailable(claim, instance, reason: reason, log)
            return .neither
        } catch ProcessingError.workerFailed(let reason) {
            metrics.workerFailures.increment()
            do {
                let outcome = try ledger.recordWorkerFailure(claim.jobID, reason: reason, quarantineAfter: quarantineAfter,
                                                             retryAt: retry.retryDate(afterAttempt: 1), now: Date())
                if outcome.quarantined {
                    metrics.jobsQuarantined.increment()
                    log.error("image quarantined: its analysis killed or hung a worker process too often; it is not analysed again",
                              metadata: ["failures": "\(outcome.failures)", "reason": "\(reason)"])
                    await answerUnavailable(claim, instance, reason: "quarantined after \(outcome.failures) failed analyses: \(reason)", log)
                } else {
                    log.warning("the analysis killed or hung its worker; the image is tried once more",
                                metadata: ["failures": "\(outcome.failures)", "reason": "\(reason)"])
                }
            } catch {
                log.error("cannot record the worker failure", metadata: ["error": "\(error)"])
            }
            return .neither
        } catch {
            let reason: String
            if case ProcessingError.transient(let r) = error { reason = r } else { reason = "\(error)" }
            let at = retry.retryDate(afterAttempt: claim.attempts)
            log.warning("job failed, will retry", metadata: ["reason": "\(reason)", "retry_in_s": "\(Int(at.timeIntervalSinceNow))"])
            try? ledger.failJob(claim.jobID, reason: reason, retryAt: at, now: Date())
            return .failed(reason)
        }
    }
    /// Every image gets an answer at the PACS: one that failed for good or was quarantined gets
    /// the report that says the AI analysis is unavailable and why.
    private func answerUnavailable(_ claim: JobClaim, _ instance: ReceivedInstance, reason: String, _ log: Logger) async {
        do {
            let produced = try await processor.unavailableReport(instance, reason: reason)
            guard !produced.isEmpty else {
                log.warning("no \"AI analysis unavailable\" report is made by this processor; the PACS gets nothing for this image")
                return
            }
            let objects = try outbox.keep(produced, of: claim) { objects in
                try ledger.attachObjects(claim.jobID, objects: objects, now: Date())
            }
            log.notice("\"AI analysis unavailable\" report made", metadata: ["objects": "\(objects.count)"])
            if objects.contains(where: { !$0.destinations.isEmpty }) { onDeliveriesQueued() }
        } catch {
            log.error("cannot make the \"AI analysis unavailable\" report; the PACS gets nothing for this image",
                      metadata: ["error": "\(error)"])
        }
    }
}
