import XCTest
@testable import Reporting

final class ReportingSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
