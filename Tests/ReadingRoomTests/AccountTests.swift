import XCTest
import Hummingbird
@testable import ReadingRoom

/// Passwords, sessions and the login throttle.
final class AccountTests: XCTestCase {
    func testBcryptHashesVerifyAndDiffer() {
        let h1 = Passwords.hash("correct-horse-battery"), h2 = Passwords.hash("correct-horse-battery")
        XCTAssertTrue(h1.hasPrefix("$2"), h1)
        XCTAssertNotEqual(h1, h2, "salted")
        XCTAssertTrue(Passwords.verify("correct-horse-battery", hash: h1))
        XCTAssertFalse(Passwords.verify("correct-horse-batterY", hash: h1))
        XCTAssertFalse(Passwords.verify("anything-at-all", hash: nil), "no account: checked against a decoy, refused")
        XCTAssertNotNil(Passwords.problem(with: "short"))
        XCTAssertNil(Passwords.problem(with: "long enough pass"))
        XCTAssertNil(Passwords.problem(withName: "dr.jones-2"))
        XCTAssertNotNil(Passwords.problem(withName: "Jones^Ann"), "no DICOM PN separators in names")
    }

    func testSessionsExpireAndEnd() {
        let store = SessionStore(lifetime: 60)
        let now = Date()
        let s = store.create(user: "a", role: .radiologist, now: now)
        XCTAssertEqual(s.token.count, 64)
        XCTAssertNotEqual(s.token, s.csrf)
        XCTAssertEqual(store.session(s.token, now: now.addingTimeInterval(59))?.user, "a")
        XCTAssertNil(store.session(s.token, now: now.addingTimeInterval(61)), "expired")
        let t = store.create(user: "b", role: .viewer, now: now)
        store.end(t.token)
        XCTAssertNil(store.session(t.token, now: now))
        XCTAssertNil(store.session("forged", now: now))
    }

    func testThrottlePausesAfterTheLimitAndForgetsOnSuccess() {
        let throttle = LoginThrottle(limit: 3, pause: 60)
        let now = Date()
        for _ in 0..<2 { throttle.failed("a", now: now) }
        XCTAssertNil(throttle.wait("a", now: now))
        throttle.failed("a", now: now)
        XCTAssertEqual(throttle.wait("a", now: now), 60)
        XCTAssertNil(throttle.wait("b", now: now), "per account")
        XCTAssertNil(throttle.wait("a", now: now.addingTimeInterval(61)), "the pause ends")
        throttle.failed("c", now: now)
        throttle.succeeded("c")
        throttle.failed("c", now: now)
        throttle.failed("c", now: now)
        XCTAssertNil(throttle.wait("c", now: now), "a success starts the count again")
    }

    func testCSRFComparison() {
        XCTAssertTrue(SessionGuard<BasicRequestContext>.constantTimeEqual("abc", "abc"))
        XCTAssertFalse(SessionGuard<BasicRequestContext>.constantTimeEqual("abc", "abd"))
        XCTAssertFalse(SessionGuard<BasicRequestContext>.constantTimeEqual("abc", "abcd"))
        XCTAssertTrue(SessionGuard<BasicRequestContext>.isPublic("/self-exam", method: .get))
        XCTAssertTrue(SessionGuard<BasicRequestContext>.isPublic("/static/app.css", method: .get))
        XCTAssertFalse(SessionGuard<BasicRequestContext>.isPublic("/api/v1/review/items", method: .get))
        XCTAssertFalse(SessionGuard<BasicRequestContext>.isPublic("/api/v1/login", method: .get))
    }
}
