import XCTest
@testable import Gateway

final class GatewaySmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
