import Foundation
import Synchronization

/// Whether a destination can be reached, as its senders find it. Up: every sender sends what
/// is due. Down (a send found it unreachable): its objects wait, untouched, and one probe at a
/// time (the oldest waiting object, after a wait with jitter that doubles up to
/// `probe_max_seconds`) finds out when it is back; then every sender goes at once, oldest
/// first. So an outage costs each object nothing, and a destination that comes back gets its
/// whole backlog within one probe wait, however long it was away.
final class DestinationHealth: Sendable {
    typealias Turn = ProbeSchedule.Turn
    typealias Down = ProbeSchedule.Outage

    private let state: Mutex<ProbeSchedule>

    init(probes: RetryPolicy) {
        state = Mutex(ProbeSchedule(probes: probes))
    }

    /// nil while up.
    var down: Down? { state.withLock { $0.outage } }

    func turn(now: Date) -> Turn {
        state.withLock { $0.turn(now: now) }
    }

    /// The destination answered (took an object or refused it). True when it was down: it is
    /// back, and the caller says so and wakes every sender.
    func answered() -> Bool {
        state.withLock { $0.end() != nil }
    }

    /// A send found the destination unreachable. True when this took it down; a failed probe
    /// schedules the next one further away.
    func unreachable(_ error: String, probe: Bool, now: Date) -> Bool {
        state.withLock { s in
            guard s.outage != nil else { s.begin(error, now: now); return true }
            s.failedAgain(error, probe: probe, now: now)
            return false
        }
    }

    /// A probe that sent nothing (nothing due, or its object's job went back to analysis): the
    /// next object due is the probe, at once.
    func probeSentNothing() {
        state.withLock { $0.probeTriedNothing() }
    }
}
