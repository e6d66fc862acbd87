import Foundation
import XCTest
@testable import Gateway

/// The breaker's counting on its own: what counts, what neither counts nor breaks a run, one
/// probe at a time with a growing wait, and the resume.
final class AnalysisBreakerTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func testFailuresInARowPauseButTheImagesOwnFailuresNeitherCountNorBreakTheRun() {
        let breaker = AnalysisBreaker(threshold: 3, probes: RetryPolicy(baseSeconds: 1, maxSeconds: 8))
        XCTAssertNil(breaker.record(.failed("model"), probe: false, now: now))
        XCTAssertNil(breaker.record(.neither, probe: false, now: now), "an undecodable image says nothing")
        XCTAssertNil(breaker.record(.failed("model"), probe: false, now: now))
        XCTAssertEqual(breaker.consecutiveFailures, 2)
        XCTAssertEqual(breaker.turn(now: now), .go)
        XCTAssertEqual(breaker.record(.failed("model"), probe: false, now: now), .paused(failures: 3, reason: "model"))
        XCTAssertEqual(breaker.paused?.since, now)

        let other = AnalysisBreaker(threshold: 3, probes: RetryPolicy(baseSeconds: 1, maxSeconds: 8))
        _ = other.record(.failed("x"), probe: false, now: now)
        _ = other.record(.failed("x"), probe: false, now: now)
        XCTAssertNil(other.record(.succeeded, probe: false, now: now))
        XCTAssertNil(other.record(.failed("x"), probe: false, now: now), "a success ends the run")
        XCTAssertNil(other.paused)

        let never = AnalysisBreaker(threshold: 0, probes: RetryPolicy(baseSeconds: 1, maxSeconds: 8))
        for _ in 0..<100 { XCTAssertNil(never.record(.failed("x"), probe: false, now: now)) }
        XCTAssertNil(never.paused, "0 never pauses")
    }

    func testPausedItProbesOneAtATimeWithAGrowingWaitAndResumesOnASuccess() throws {
        let breaker = AnalysisBreaker(threshold: 1, probes: RetryPolicy(baseSeconds: 1, maxSeconds: 8))
        _ = breaker.record(.failed("model"), probe: false, now: now)
        XCTAssertEqual(breaker.turn(now: now), .wait(until: now.addingTimeInterval(1)))
        var t = now.addingTimeInterval(1)
        var waits: [Double] = []
        for _ in 0..<6 {
            XCTAssertEqual(breaker.turn(now: t), .probe)
            guard case .wait = breaker.turn(now: t) else { return XCTFail("a second probe while one runs") }
            XCTAssertNil(breaker.record(.failed("model"), probe: true, now: t))
            let next = try XCTUnwrap(breaker.paused).nextProbe
            waits.append(next.timeIntervalSince(t))
            t = next
        }
        XCTAssertTrue(waits.allSatisfy { $0 >= 1 && $0 <= 8 }, "\(waits)")
        XCTAssertEqual(breaker.turn(now: t), .probe)
        breaker.probeClaimedNothing()
        XCTAssertEqual(breaker.turn(now: t), .probe, "nothing was due: the next job is the probe, at once")
        XCTAssertEqual(breaker.record(.succeeded, probe: true, now: t.addingTimeInterval(2)),
                       .resumed(pausedSeconds: t.addingTimeInterval(2).timeIntervalSince(now)))
        XCTAssertEqual(breaker.turn(now: t), .go)
        XCTAssertEqual(breaker.consecutiveFailures, 0)
    }
}
