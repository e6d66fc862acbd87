import Foundation
import XCTest
@testable import DICOM

final class WriterUIDTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testSHA256MatchesFIPSVectors() {
        XCTAssertEqual(hex(SHA256.hash(Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(SHA256.hash([UInt8]())),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // two-block message (padding crosses a block boundary)
        XCTAssertEqual(hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testSHA256AgreesWithSystemToolOnLongInput() throws {
        let message = (0..<1000).map { "line \($0) of a longer message\n" }.joined()
        let file = WriterFixture.outputURL("sha-input.txt")
        try Data(message.utf8).write(to: file)
        let r = try WriterFixture.run("sha256sum", [file.path])
        XCTAssertEqual(r.output.split(separator: " ").first.map(String.init), hex(SHA256.hash(Array(message.utf8))))
    }

    func testDecimalOfLargestAndSmallValues() {
        XCTAssertEqual(DerivedUID.decimal([UInt8](repeating: 0xFF, count: 16)), "340282366920938463463374607431768211455")
        XCTAssertEqual(DerivedUID.decimal([0, 0, 1, 0]), "256")
        XCTAssertEqual(DerivedUID.decimal([0, 0]), "0")
    }

    func testDerivedUIDsAreDeterministicAndDistinct() {
        let src = "1.2.840.113619.2.1.1.1"
        let a = DerivedUID.make(sourceSOPInstanceUID: src, producerVersion: "1.0.0", role: DerivedUID.Role.segmentationInstance)
        XCTAssertEqual(a, DerivedUID.make(sourceSOPInstanceUID: src, producerVersion: "1.0.0", role: DerivedUID.Role.segmentationInstance))
        XCTAssertNotEqual(a, DerivedUID.make(sourceSOPInstanceUID: src, producerVersion: "1.0.1", role: DerivedUID.Role.segmentationInstance))
        XCTAssertNotEqual(a, DerivedUID.make(sourceSOPInstanceUID: src + "1", producerVersion: "1.0.0", role: DerivedUID.Role.segmentationInstance))
        let roles = [DerivedUID.Role.segmentationSeries, DerivedUID.Role.segmentationInstance, DerivedUID.Role.reportSeries,
                     DerivedUID.Role.reportInstance, DerivedUID.Role.presentationStateSeries, DerivedUID.Role.presentationStateInstance]
        let uids = roles.map { DerivedUID.make(sourceSOPInstanceUID: src, producerVersion: "1.0.0", role: $0) }
        XCTAssertEqual(Set(uids).count, roles.count)
        for uid in uids {
            XCTAssertTrue(uid.hasPrefix("2.25."))
            XCTAssertLessThanOrEqual(uid.count, 64)
            let number = uid.dropFirst(5)
            XCTAssertTrue(number.allSatisfy(\.isNumber), uid)
            XCTAssertFalse(number.hasPrefix("0"), uid)
        }
        // field boundaries matter: ("1.2","3") and ("1.23","") must differ
        XCTAssertNotEqual(DerivedUID.make(sourceSOPInstanceUID: "1.2", producerVersion: "3", role: "r"),
                          DerivedUID.make(sourceSOPInstanceUID: "1.23", producerVersion: "", role: "r"))
    }
}
