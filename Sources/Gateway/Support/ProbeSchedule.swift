import Foundation

/// The gateway's two circuit breakers (a destination that cannot be reached, analysis that fails
/// for every image) share one shape: while out, nothing goes except one probe at a time, after a
/// wait with jitter that doubles up to `probe_max_seconds`; the probe's outcome says whether it is
/// back. This is that shape, as a value its owner mutates under its own lock.
struct ProbeSchedule: Sendable {
    /// What a caller does next.
    enum Turn: Equatable {
        case go
        /// Go with one item: its outcome says whether the thing is back.
        case probe
        /// Out, and the next probe is not due (or another caller probes).
        case wait(until: Date)
    }

    struct Outage: Sendable {
        var since: Date
        /// The latest failure's reason.
        var reason: String
        /// Probes that found it still out.
        var failedProbes = 0
        var nextProbe: Date
        var probing = false
    }

    let probes: RetryPolicy
    /// nil while working.
    private(set) var outage: Outage?

    init(probes: RetryPolicy) { self.probes = probes }

    mutating func turn(now: Date) -> Turn {
        guard var o = outage else { return .go }
        if o.probing { return .wait(until: now.addingTimeInterval(1)) }
        if now < o.nextProbe { return .wait(until: o.nextProbe) }
        o.probing = true
        outage = o
        return .probe
    }

    /// Out from now: the first probe after the first wait.
    mutating func begin(_ reason: String, now: Date) {
        outage = Outage(since: now, reason: reason, nextProbe: now.addingTimeInterval(probes.delay(afterAttempt: 1)))
    }

    /// Another failure while out; a failed probe puts the next one further away.
    mutating func failedAgain(_ reason: String, probe: Bool, now: Date) {
        guard var o = outage else { return }
        o.reason = reason
        if probe {
            o.failedProbes += 1
            o.nextProbe = now.addingTimeInterval(probes.delay(afterAttempt: o.failedProbes + 1))
            o.probing = false
        }
        outage = o
    }

    /// A probe that tried nothing (nothing was due): the next caller probes, at once.
    mutating func probeTriedNothing() {
        outage?.probing = false
    }

    /// Working again; the outage that ended, if there was one.
    mutating func end() -> Outage? {
        defer { outage = nil }
        return outage
    }
}
