import XCTest
@testable import Analysis

final class AnalysisSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
