import DICOM
import XCTest

/// Status codes as the gateway names, labels and judges them.
final class DIMSEStatusTests: XCTestCase {
    func testHexIsFourUpperCaseDigitsAsDICOMWritesThem() {
        let expected: [(UInt16, String)] = [(0x0000, "0000"), (0x0001, "0001"), (0x0122, "0122"), (0xA700, "A700"),
                                            (0xA900, "A900"), (0xB006, "B006"), (0xC000, "C000"), (0xFFFF, "FFFF")]
        for (code, hex) in expected {
            XCTAssertEqual(DIMSEStatus(code: code).hex, hex)
            XCTAssertEqual(DIMSEStatus(code: code).hex, String(format: "%04X", code))
        }
    }

    func testNamedCodesAndSuccessOrWarning() {
        XCTAssertEqual(DIMSEStatus(code: 0xA700), .outOfResources)
        XCTAssertEqual(DIMSEStatus(code: 0xC000), .cannotUnderstand)
        XCTAssertEqual(DIMSEStatus.other(0x0122).code, 0x0122)
        XCTAssertEqual([0x0000, 0x0001, 0xB000, 0xB006, 0xA700, 0xC000, 0x0122].map { DIMSEStatus(code: $0).isSuccessOrWarning },
                       [true, true, true, true, false, false, false])
    }
}
