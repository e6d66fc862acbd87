import DICOM
import Foundation
import XCTest

/// Files that cannot be analysed fail with the specific error and a message that says what to do.
final class ImageErrorTests: XCTestCase {
    var fx: ImageFixtures!
    override func setUpWithError() throws { fx = try ImageFixtures() }
    override func tearDown() { fx = nil }

    private func openError(_ url: URL, file: StaticString = #filePath, line: UInt = #line) -> DICOMInstanceError? {
        do {
            _ = try DICOMInstance(contentsOf: url)
            XCTFail("\(url.lastPathComponent) opened but should not", file: file, line: line)
            return nil
        } catch let e as DICOMInstanceError {
            XCTAssertTrue(e.description.hasPrefix(url.lastPathComponent), e.description, file: file, line: line)
            return e
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testMissingFileIsUnreadable() {
        guard case .unreadable? = openError(fx.file("absent")) else { return XCTFail("expected unreadable") }
    }

    func testGarbageAndTextAreNotDICOM() throws {
        var generator = SystemRandomNumberGenerator()
        let garbage = fx.file("garbage")
        try Data((0..<65536).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: garbage)
        guard case .notDICOM? = openError(garbage) else { return XCTFail("expected notDICOM for random bytes") }
        let text = fx.file("text")
        try Data(String(repeating: "Patient report, not an image.\n", count: 50).utf8).write(to: text)
        guard case .notDICOM? = openError(text) else { return XCTFail("expected notDICOM for text") }
        let empty = fx.file("empty")
        try Data().write(to: empty)
        guard case .notDICOM? = openError(empty) else { return XCTFail("expected notDICOM for an empty file") }
    }

    func testTruncatedFilesAreTruncated() throws {
        let src = try fx.makeUS("full", ["--rows", "64", "--cols", "64"])
        for url in [src.url, try fx.encode(src.url, "dcmcjpeg", ["+eb"]), try fx.encode(src.url, "dcmcrle", [])] {
            let data = try Data(contentsOf: url)
            let cut = fx.file("cut")
            try data.prefix(data.count * 3 / 4).write(to: cut)
            let err = openError(cut)
            guard case .truncated? = err else { return XCTFail("expected truncated, got \(String(describing: err))") }
        }
    }

    func testNoPixelData() throws {
        let src = try fx.makeUS("nopix", [])
        try ImageFixtures.run("dcmodify", ["-nb", "-ea", "(7fe0,0010)", src.url.path])
        guard case .noPixelData? = openError(src.url) else { return XCTFail("expected noPixelData") }
    }

    func testJPEG2000IsAnUnsupportedTransferSyntax() throws {
        let url = fx.file("j2k")
        try ImageFixtures.run("python3", [ImageFixtures.script.path, "j2k", "--out", url.path])
        guard case .unsupportedTransferSyntax(_, let uid)? = openError(url) else {
            return XCTFail("expected unsupportedTransferSyntax")
        }
        XCTAssertEqual(uid, "1.2.840.10008.1.2.4.90")
    }

    func testUnsupportedPhotometric() throws {
        let src = try fx.makeUS("hsv", ["--photometric", "RGB"])
        try ImageFixtures.run("dcmodify", ["-nb", "-m", "(0028,0004)=HSV", src.url.path])
        guard case .unsupportedPhotometric(_, let value)? = openError(src.url) else {
            return XCTFail("expected unsupportedPhotometric")
        }
        XCTAssertEqual(value, "HSV")
    }

    /// Rows x Columns larger than the native pixels stored: refused when the file is opened, by
    /// the same checks as on receive, before any decoder reads past the data (issue 23).
    func testPixelDataShorterThanTheAttributesIsRefusedAtOpen() throws {
        for options in [["--photometric", "MONOCHROME2"], ["--photometric", "RGB"]] {
            let src = try fx.makeUS("short", options + ["--rows", "48", "--cols", "64"])
            for url in [src.url, try fx.encode(src.url, "dcmconv", ["+ti"])] {
                try ImageFixtures.run("dcmodify", ["-nb", "-m", "(0028,0010)=96", url.path])
                guard case .implausibleImage(_, let reason)? = openError(url) else {
                    return XCTFail("expected implausibleImage for \(options)")
                }
                XCTAssertTrue(reason.contains("Pixel Data holds"), reason)
            }
        }
    }

    /// Structure the scanner refuses never reaches DCMTK: a dataset nested deeper than the
    /// limit, and bytes appended after the pixel data.
    func testMalformedStructureIsRefusedAtOpen() throws {
        let src = try fx.makeUS("tail", ["--rows", "16", "--cols", "16"])
        var bytes = try Data(contentsOf: src.url)
        bytes.append(contentsOf: Array("trailing garbage".utf8))
        let tail = fx.file("tail-garbage")
        try bytes.write(to: tail)
        guard case .malformed(_, let reason)? = openError(tail) else { return XCTFail("expected malformed") }
        XCTAssertTrue(reason.contains("after the end of the dataset"), reason)
    }

    /// The dataset that overflowed DCMTK's stack (50,000 nested sequences) is refused by the
    /// scanner before DCMTK parses it: over HTTP and `wecare analyze` as on receive.
    func testDeepNestingIsRefusedBeforeDCMTKParsesIt() throws {
        var d = DatasetBytes()
        d.imageAttributes(nestedSequence: { d in
            for _ in 0..<50_000 {
                d.header(0x0008_1140, "SQ", length: DatasetBytes.undefined)
                d.item(length: DatasetBytes.undefined)
            }
            for _ in 0..<50_000 {
                d.itemEnd()
                d.sequenceEnd()
            }
        })
        d.element(0x7FE0_0010, "OB", [UInt8](repeating: 0, count: 24))
        let url = fx.file("nested")
        try d.write(to: url, transferSyntax: DatasetBytes.explicitLE)
        guard case .malformed(_, let reason)? = openError(url) else { return XCTFail("expected malformed") }
        XCTAssertTrue(reason.contains("nested more than 16 deep"), reason)
    }

    func testFrameOutOfRange() throws {
        let inst = try DICOMInstance(contentsOf: try fx.makeUS("two", ["--frames", "2"]).url)
        XCTAssertThrowsError(try inst.grayscaleFrame(2)) { error in
            XCTAssertEqual(error as? DICOMInstanceError,
                           .frameOutOfRange(file: inst.url.lastPathComponent, index: 2, count: 2))
        }
        XCTAssertThrowsError(try inst.rgbFrame(-1))
    }
}
