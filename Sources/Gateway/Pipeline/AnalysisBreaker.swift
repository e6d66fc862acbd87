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

    /// What a worker does next.
    enum Turn: Equatable {
        case claim
        /// Claim one job: its analysis says whether analysis works again.
        case probe
        case wait(until: Date)
    }

    /// A change to tell the operator about.
    enum Change: Equatable {
        case paused(failures: Int, reason: String)
        case resumed(pausedSeconds: Double)
    }

    struct Paused: Sendable {
        var since: Date
        var reason: String
        var failedProbes = 0
        var nextProbe: Date
        var probing = false
    }

    private struct State {
        /// Failures in a row while running.
        var failures = 0
        var paused: Paused?
    }

    private let state = Mutex(State())
    /// 0: never pauses.
    let threshold: Int
    private let probes: RetryPolicy

    init(threshold: Int, probes: RetryPolicy) {
        self.threshold = threshold
        self.probes = probes
    }

    /// nil while analysis runs.
    var paused: Paused? { state.withLock { $0.paused } }

    /// Failures in a row so far (while running).
    var consecutiveFailures: Int { state.withLock { $0.failures } }

    func turn(now: Date) -> Turn {
        state.withLock { s in
            guard var p = s.paused else { return .claim }
            if p.probing { return .wait(until: now.addingTimeInterval(1)) }
            if now < p.nextProbe { return .wait(until: p.nextProbe) }
            p.probing = true
            s.paused = p
            return .probe
        }
    }

    /// A probe that found no job due: the next job due is the probe, at once.
    func probeClaimedNothing() {
        state.withLock { s in s.paused?.probing = false }
    }

    /// Counts one analysis; returns the change it made, if any.
    func record(_ verdict: Verdict, probe: Bool, now: Date) -> Change? {
        state.withLock { s in
            switch verdict {
            case .succeeded:
                s.failures = 0
                guard let p = s.paused else { return nil }
                s.paused = nil
                return .resumed(pausedSeconds: now.timeIntervalSince(p.since))
            case .neither:
                if probe { s.paused?.probing = false }
                return nil
            case .failed(let reason):
                if var p = s.paused {
                    p.reason = reason
                    if probe {
                        p.failedProbes += 1
                        p.nextProbe = now.addingTimeInterval(probes.delay(afterAttempt: p.failedProbes + 1))
                        p.probing = false
                    }
                    s.paused = p
                    return nil
                }
                s.failures += 1
                guard threshold > 0, s.failures >= threshold else { return nil }
                s.paused = Paused(since: now, reason: reason, nextProbe: now.addingTimeInterval(probes.delay(afterAttempt: 1)))
                let failures = s.failures
                s.failures = 0
                return .paused(failures: failures, reason: reason)
            }
        }
    }
}
