import Foundation
import Gateway

/// Logged-in sessions, in memory: a restart logs everyone out, which is safe. The cookie carries
/// only a random token; the CSRF token is a second random value the pages send back in the
/// `X-CSRF-Token` header on every change (a cross-site page can make the browser send the cookie,
/// never read the token).
final class SessionStore: @unchecked Sendable {
    struct Session: Sendable {
        var token: String
        var user: String
        var role: ReviewRole
        var csrf: String
        var expires: Date
    }

    // Guarded by `lock`.
    private let lock = NSLock()
    private var sessions: [String: Session] = [:]
    let lifetime: TimeInterval

    init(lifetime: TimeInterval) { self.lifetime = lifetime }

    func create(user: String, role: ReviewRole, now: Date) -> Session {
        let session = Session(token: Self.randomToken(), user: user, role: role, csrf: Self.randomToken(),
                              expires: now.addingTimeInterval(lifetime))
        lock.lock()
        defer { lock.unlock() }
        sessions = sessions.filter { $0.value.expires > now }  // expired ones go whenever someone logs in
        sessions[session.token] = session
        return session
    }

    /// The session of `token`, nil when unknown or expired (an expired one is removed).
    func session(_ token: String, now: Date) -> Session? {
        lock.lock()
        defer { lock.unlock() }
        guard let s = sessions[token] else { return nil }
        guard s.expires > now else {
            sessions[token] = nil
            return nil
        }
        return s
    }

    func end(_ token: String) {
        lock.lock()
        sessions[token] = nil
        lock.unlock()
    }

    /// 32 bytes from the system's CSPRNG (getrandom on Linux), hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }
}

/// Failed logins per account name: after `limit` in a row, that account's logins are refused for
/// `pause` (even with the right password), so a guesser gets a handful of tries an hour.
final class LoginThrottle: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var failures: [String: (count: Int, until: Date?)] = [:]
    let limit: Int
    let pause: TimeInterval

    init(limit: Int, pause: TimeInterval) {
        self.limit = limit
        self.pause = pause
    }

    /// Seconds to wait before `name` may try again; nil when it may try now.
    func wait(_ name: String, now: Date) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard let until = failures[name]?.until else { return nil }
        if until <= now {
            failures[name] = nil
            return nil
        }
        return Int(until.timeIntervalSince(now).rounded(.up))
    }

    func failed(_ name: String, now: Date) {
        lock.lock()
        defer { lock.unlock() }
        var entry = failures[name] ?? (0, nil)
        entry.count += 1
        if entry.count >= limit { entry = (0, now.addingTimeInterval(pause)) }
        failures[name] = entry
    }

    func succeeded(_ name: String) {
        lock.lock()
        failures[name] = nil
        lock.unlock()
    }
}
