import Foundation
import Synchronization

/// Whether a destination can be reached, as its senders find it. Up: every sender sends what
/// is due. Down (a send found it unreachable): its objects wait, untouched, and one probe at a
/// time (the oldest waiting object, after a wait with jitter that doubles up to
/// `probe_max_seconds`) finds out when it is back; then every sender goes at once, oldest
/// first. So an outage costs each object nothing, and a destination that comes back gets its
/// whole backlog within one probe wait, however long it was away.
final class DestinationHealth: Sendable {
    /// What a sender does next.
    enum Turn: Equatable {
        case send
        /// Send one object: its outcome says whether the destination is back.
        case probe
        /// Down, and the next probe is not due (or another sender probes).
        case wait(until: Date)
    }

    struct Down: Sendable {
        var since: Date
        var lastError: String
        /// Probes that found it still down.
        var failedProbes = 0
        var nextProbe: Date
        var probing = false
    }

    private let state = Mutex<Down?>(nil)
    private let probes: RetryPolicy

    init(probes: RetryPolicy) {
        self.probes = probes
    }

    /// nil while up.
    var down: Down? { state.withLock { $0 } }

    func turn(now: Date) -> Turn {
        state.withLock { d in
            guard var down = d else { return .send }
            if down.probing { return .wait(until: now.addingTimeInterval(1)) }
            if now < down.nextProbe { return .wait(until: down.nextProbe) }
            down.probing = true
            d = down
            return .probe
        }
    }

    /// The destination answered (took an object or refused it). True when it was down: it is
    /// back, and the caller says so and wakes every sender.
    func answered() -> Bool {
        state.withLock { d in
            defer { d = nil }
            return d != nil
        }
    }

    /// A send found the destination unreachable. True when this took it down; a failed probe
    /// schedules the next one further away.
    func unreachable(_ error: String, probe: Bool, now: Date) -> Bool {
        state.withLock { d in
            guard var down = d else {
                d = Down(since: now, lastError: error, nextProbe: now.addingTimeInterval(probes.delay(afterAttempt: 1)))
                return true
            }
            down.lastError = error
            if probe {
                down.failedProbes += 1
                down.nextProbe = now.addingTimeInterval(probes.delay(afterAttempt: down.failedProbes + 1))
                down.probing = false
            }
            d = down
            return false
        }
    }

    /// A probe that sent nothing (nothing due, or its object's job went back to analysis): the
    /// next object due is the probe, at once.
    func probeSentNothing() {
        state.withLock { d in
            guard var down = d else { return }
            down.probing = false
            d = down
        }
    }
}
