import XCTest
@testable import DICOM

final class DICOMSmokeTests: XCTestCase {
    func testToolkitVersion() { XCTAssertEqual(Toolkit.version, "3.6.7") }
}
