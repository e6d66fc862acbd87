import Foundation
import Synchronization

/// Pauses analysis when it fails for every image alike (a broken model file, a bad upgrade, a
/// worker that cannot start), instead of failing each image in turn: after `threshold` analyses
/// in a row failed so, no job is claimed; images are still received, stored and queued (the
/// modality notices nothing). One probe at a time, the next queued image after a wait with
/// jitter that doubles up to `probe_max_seconds`, finds out when analysis works again; then it
/// resumes on its own.
///
/// What counts is an analysis that failed for a reason not the image's own (a transient
/// failure; `WorkerFailure.cannotStart` arrives as one). An image that cannot be analysed for
/// good, or that killed or hung its worker (quarantine handles those), says nothing about the
/// analysis: it neither counts nor breaks a run of failures.
final class AnalysisBreaker: Sendable {
    /// How one analysis ended, for the breaker.
    enum Verdict: Equatable {
        case succeeded
        case failed(String)
        /// The image's own failure.
        case neither
    }

    /// What a worker does next (`.go`: claim a job).
    typealias Turn = ProbeSchedule.Turn

    /// A change to tell the operator about.
    enum Change: Equatable {
        case paused(failures: Int, reason: String)
        case resumed(pausedSeconds: Double)
    }

    typealias Paused = ProbeSchedule.Outage

    private struct State {
        /// Failures in a row while running.
        var failures = 0
        var schedule: ProbeSchedule
    }

    private let state: Mutex<State>
    /// 0: never pauses.
    let threshold: Int

    init(threshold: Int, probes: RetryPolicy) {
        self.threshold = threshold
        state = Mutex(State(schedule: ProbeSchedule(probes: probes)))
    }

    /// nil while analysis runs.
    var paused: Paused? { state.withLock { $0.schedule.outage } }

    /// Failures in a row so far (while running).
    var consecutiveFailures: Int { state.withLock { $0.failures } }

    func turn(now: Date) -> Turn {
        state.withLock { $0.schedule.turn(now: now) }
    }

    /// A probe that found no job due: the next job due is the probe, at once.
    func probeClaimedNothing() {
        state.withLock { $0.schedule.probeTriedNothing() }
    }

    /// Counts one analysis; returns the change it made, if any.
    func record(_ verdict: Verdict, probe: Bool, now: Date) -> Change? {
        state.withLock { s in
            switch verdict {
            case .succeeded:
                s.failures = 0
                return s.schedule.end().map { .resumed(pausedSeconds: now.timeIntervalSince($0.since)) }
            case .neither:
                if probe { s.schedule.probeTriedNothing() }
                return nil
            case .failed(let reason):
                if s.schedule.outage != nil {
                    s.schedule.failedAgain(reason, probe: probe, now: now)
                    return nil
                }
                s.failures += 1
                guard threshold > 0, s.failures >= threshold else { return nil }
                s.schedule.begin(reason, now: now)
                let failures = s.failures
                s.failures = 0
                return .paused(failures: failures, reason: reason)
            }
        }
    }
}
