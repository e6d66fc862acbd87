import XCTest
@testable import Inference

final class InferenceSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
