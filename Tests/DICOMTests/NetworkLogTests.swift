import DICOM
import XCTest

final class NetworkLogTests: XCTestCase {
    func testUIDsAreReplacedByStableHashes() {
        let uid = "1.2.276.0.7230010.3.1.4.8323328.13418.1795707322.615391"
        let message = "cannot write file /spool/\(uid).dcm for SOP 1.2.840.10008.5.1.4.1.1.6.1 (DCMTK 3.6.7)"
        let redacted = DICOMNetworkLog.redact(message)
        XCTAssertFalse(redacted.contains(uid), redacted)
        XCTAssertFalse(redacted.contains("1.2.840.10008"), redacted)
        XCTAssertTrue(redacted.contains("3.6.7"), "short version numbers stay: \(redacted)")
        XCTAssertTrue(redacted.hasPrefix("cannot write file /spool/uid#"), redacted)
        XCTAssertEqual(redacted, DICOMNetworkLog.redact(message), "same UID, same hash")
        XCTAssertNotEqual(DICOMNetworkLog.redact("1.2.3.4"), DICOMNetworkLog.redact("1.2.3.5"))
    }
}
