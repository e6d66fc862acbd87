import XCTest
@testable import Inference

final class ThreadBudgetTests: XCTestCase {
    func testJobsAtWorkShareTheTotal() {
        let budget = ThreadBudget(total: 4)
        XCTAssertEqual(budget.share(minimum: 1), 4, "no job at work: a caller outside any job gets it all")
        budget.working {
            XCTAssertEqual(budget.share(minimum: 1), 4)
            budget.working {
                XCTAssertEqual(budget.share(minimum: 1), 2)
                budget.working {
                    XCTAssertEqual(budget.share(minimum: 1), 1, "4 / 3 rounds down: never more threads than cores")
                    XCTAssertEqual(budget.share(minimum: 2), 2, "a job's own threads are its floor")
                }
            }
        }
        XCTAssertEqual(budget.share(minimum: 1), 4)
    }

    func testAJobThatThrowsStillEnds() {
        struct Failure: Error {}
        let budget = ThreadBudget(total: 2)
        XCTAssertThrowsError(try budget.working { throw Failure() })
        budget.working { XCTAssertEqual(budget.share(minimum: 1), 2, "the failed job no longer counts") }
        XCTAssertEqual(ThreadBudget(total: 0).total, 1)
    }
}
