import XCTest
@testable import Gateway

final class ContentFingerprintTests: XCTestCase {
    /// What a lost write leaves behind (a shorter file, zeros, one changed byte) never matches
    /// what analysis wrote; the same bytes always do.
    func testLostWritesDoNotMatch() {
        var bytes = Data(count: 50_001)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7) }
        let written = ContentFingerprint(of: bytes)
        XCTAssertEqual(ContentFingerprint(of: Data(bytes)), written)
        XCTAssertEqual(written.size, 50_001)
        XCTAssertNotEqual(ContentFingerprint(of: bytes.prefix(49_152)), written)
        XCTAssertNotEqual(ContentFingerprint(of: Data()), written)
        XCTAssertNotEqual(ContentFingerprint(of: Data(count: bytes.count)).hash, written.hash, "zeros of the same length")
        for position in [0, 31, 32, 25_000, 49_999, 50_000] {
            var changed = bytes
            changed[position] ^= 0x10
            XCTAssertNotEqual(ContentFingerprint(of: changed).hash, written.hash, "byte \(position) changed")
        }
        var swapped = bytes
        swapped.swapAt(0, 8)
        XCTAssertNotEqual(ContentFingerprint(of: swapped).hash, written.hash, "two words' bytes exchanged")
    }
}
