import DICOM
import Foundation
import Metrics
import Prometheus

/// The gateway's metrics, kept in a registry of its own (not the process-global bootstrap),
/// so several services can run in one test process and /metrics shows only this one.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let associationsActive: Metrics.Meter
    let associationsTotal: Metrics.Counter
    let analysisDuration: Metrics.Timer
    /// Analyses that killed or hung their worker process.
    let workerFailures: Metrics.Counter
    /// Images quarantined (their analysis failed its worker too often); the current number is
    /// `wecare_jobs{state="quarantined"}`.
    let jobsQuarantined: Metrics.Counter
    /// Times the breaker paused analysis; whether it is paused now is `wecare_analysis_paused`.
    let analysisPauses: Metrics.Counter

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["wecare_analysis_duration_seconds"] =
            [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60].map { Duration.milliseconds(Int64($0 * 1000)) }
        self.factory = factory
        associationsActive = Metrics.Meter(label: "wecare_associations_active", factory: factory)
        associationsTotal = Metrics.Counter(label: "wecare_associations_total", factory: factory)
        analysisDuration = Metrics.Timer(label: "wecare_analysis_duration_seconds", factory: factory)
        workerFailures = Metrics.Counter(label: "wecare_analysis_worker_failures_total", factory: factory)
        jobsQuarantined = Metrics.Counter(label: "wecare_jobs_quarantined_total", factory: factory)
        analysisPauses = Metrics.Counter(label: "wecare_analysis_pauses_total", factory: factory)
    }

    /// The reading room: signatures by outcome (accepted / corrected) and logins by result
    /// (ok / failed / paused). Counts only: who and which patient stay in the audit trail.
    public func reviewSigned(outcome: String) {
        Metrics.Counter(label: "wecare_review_signatures_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    public func reviewLogin(result: String) {
        Metrics.Counter(label: "wecare_review_logins_total", dimensions: [("result", result)], factory: factory).increment()
    }

    func associationRejected(reason: String) {
        Metrics.Counter(label: "wecare_associations_rejected_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// Connections that ended before an association request, by `ConnectionFailureReason.label`.
    func connectionFailed(reason: String) {
        Metrics.Counter(label: "wecare_connections_failed_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    func instanceAnswered(_ status: DIMSEStatus) {
        Metrics.Counter(label: "wecare_instances_received_total", dimensions: [("status", status.hex)], factory: factory).increment()
    }

    func retentionRemoved(_ count: Int, reason: String) {
        guard count > 0 else { return }
        Metrics.Counter(label: "wecare_retention_removed_total", dimensions: [("reason", reason)], factory: factory)
            .increment(by: count)
    }

    func spool(_ usage: SpoolUsage, now: Date) {
        Metrics.Gauge(label: "wecare_spool_images", factory: factory).record(usage.images)
        Metrics.Gauge(label: "wecare_spool_bytes", factory: factory).record(usage.bytes)
        Metrics.Gauge(label: "wecare_spool_oldest_age_seconds", factory: factory)
            .record(usage.oldestReceivedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0)
    }

    /// A C-STORE whose dataset arrived and was refused (scan, image checks, UIDs, content
    /// conflict), by reason; its status is counted by `instanceAnswered` as well.
    func instanceRefused(reason: String) {
        Metrics.Counter(label: "wecare_instances_refused_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    func deliveryFailed(destination: String) {
        Metrics.Counter(label: "wecare_delivery_failures_total", dimensions: [("destination", destination)], factory: factory).increment()
    }

    /// One destination as a scrape shows it.
    struct DestinationSnapshot {
        var name: String
        var up: Bool
        /// nil when the ledger could not be read.
        var waiting: WaitingDeliveries?
    }

    /// Snapshot values refreshed right before each scrape. `analysisPaused` nil: no analysis.
    func refresh(counts: LedgerCounts?, diskHeadroomBytes: Int64?, outboxMemoryBytes: Int,
                 destinations: [DestinationSnapshot], analysisPaused: Bool?, now: Date = Date()) {
        for d in destinations {
            let label = [("destination", d.name)]
            Metrics.Gauge(label: "wecare_destination_up", dimensions: label, factory: factory).record(d.up ? 1 : 0)
            guard let waiting = d.waiting else { continue }
            Metrics.Gauge(label: "wecare_destination_waiting", dimensions: label, factory: factory).record(waiting.count)
            let age = waiting.oldestQueuedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0
            Metrics.Gauge(label: "wecare_destination_oldest_waiting_seconds", dimensions: label, factory: factory).record(age)
        }
        if let analysisPaused {
            Metrics.Gauge(label: "wecare_analysis_paused", factory: factory).record(analysisPaused ? 1 : 0)
        }
        if let counts {
            for state in JobState.allCases {
                Metrics.Gauge(label: "wecare_jobs", dimensions: [("state", state.rawValue)], factory: factory).record(counts.jobs[state] ?? 0)
            }
            for state in DeliveryState.allCases {
                Metrics.Gauge(label: "wecare_deliveries", dimensions: [("state", state.rawValue)], factory: factory).record(counts.deliveries[state] ?? 0)
            }
        }
        if let diskHeadroomBytes {
            Metrics.Gauge(label: "wecare_disk_headroom_bytes", factory: factory).record(diskHeadroomBytes)
        }
        Metrics.Gauge(label: "wecare_outbox_memory_bytes", factory: factory).record(outboxMemoryBytes)
    }

    /// Prometheus text exposition format.
    public func render() -> String { registry.emitToString() }
}
