import Foundation

/// Hand-built DICOM byte streams for the scanner tests: every length is written by the test, so
/// lengths that lie, items that overrun and nesting no toolkit would write can be made exactly.
struct DatasetBytes {
    var bytes: [UInt8] = []
    var explicitVR = true
    var littleEndian = true

    static let explicitLE = "1.2.840.10008.1.2.1"
    static let implicitLE = "1.2.840.10008.1.2"
    static let bigEndian = "1.2.840.10008.1.2.2"
    static let jpegBaseline = "1.2.840.10008.1.2.4.50"
    static let rle = "1.2.840.10008.1.2.5"
    static let usImage = "1.2.840.10008.5.1.4.1.1.6.1"
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let undefined: UInt32 = 0xFFFF_FFFF

    init(explicitVR: Bool = true, littleEndian: Bool = true) {
        self.explicitVR = explicitVR
        self.littleEndian = littleEndian
    }

    /// Preamble, "DICM" and a meta header naming `transferSyntax`, then `dataset`.
    static func part10(_ dataset: DatasetBytes, transferSyntax: String, groupLengthAdjustment: Int = 0) -> [UInt8] {
        var meta = DatasetBytes()
        meta.element(0x0002_0001, "OB", [0, 1])
        meta.string(0x0002_0010, "UI", transferSyntax, pad: 0)
        var head = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        var length = DatasetBytes()
        length.element(0x0002_0000, "UL", le32(UInt32(meta.bytes.count + groupLengthAdjustment)))
        head += length.bytes + meta.bytes
        return head + dataset.bytes
    }

    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }

    private func u16(_ v: UInt16) -> [UInt8] { littleEndian ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)] }
    private func u32(_ v: UInt32) -> [UInt8] {
        littleEndian ? Self.le32(v) : [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    mutating func tag(_ tag: UInt32) { bytes += u16(UInt16(tag >> 16)) + u16(UInt16(tag & 0xFFFF)) }

    /// An element header with `length` (which may lie about the value that follows).
    mutating func header(_ t: UInt32, _ vr: String, length: UInt32) {
        tag(t)
        if explicitVR {
            bytes += Array(vr.utf8)
            if ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"].contains(vr) {
                bytes += [0, 0] + u32(length)
            } else {
                bytes += u16(UInt16(length))
            }
        } else {
            bytes += u32(length)
        }
    }

    mutating func element(_ t: UInt32, _ vr: String, _ value: [UInt8]) {
        header(t, vr, length: UInt32(value.count))
        bytes += value
    }

    mutating func string(_ t: UInt32, _ vr: String, _ text: String, pad: UInt8 = 0x20) {
        var value = Array(text.utf8)
        if value.count % 2 == 1 { value.append(pad) }
        element(t, vr, value)
    }

    mutating func us(_ t: UInt32, _ v: UInt16) { element(t, "US", u16(v)) }

    mutating func item(length: UInt32) { tag(0xFFFE_E000); bytes += u32(length) }
    mutating func itemEnd() { tag(0xFFFE_E00D); bytes += u32(0) }
    mutating func sequenceEnd() { tag(0xFFFE_E0DD); bytes += u32(0) }

    /// The attributes of a `rows` x `columns` 8-bit image up to (not including) Pixel Data.
    mutating func imageAttributes(rows: UInt16 = 4, columns: UInt16 = 6, samples: UInt16 = 1, bits: UInt16 = 8,
                                  photometric: String = "MONOCHROME2", sopClass: String = usImage,
                                  modality: String = "US", frames: Int? = nil, nestedSequence: (inout DatasetBytes) -> Void = { _ in }) {
        string(0x0008_0016, "UI", sopClass, pad: 0)
        string(0x0008_0018, "UI", "1.2.3.4.5", pad: 0)
        string(0x0008_0060, "CS", modality)
        nestedSequence(&self)
        string(0x0020_000D, "UI", "1.2.3.4", pad: 0)
        us(0x0028_0002, samples)
        string(0x0028_0004, "CS", photometric)
        if samples == 3 { us(0x0028_0006, 0) }
        if let frames { string(0x0028_0008, "IS", "\(frames)") }
        us(0x0028_0010, rows)
        us(0x0028_0011, columns)
        us(0x0028_0100, bits)
        us(0x0028_0101, bits)
        us(0x0028_0102, bits - 1)
        us(0x0028_0103, 0)
    }

    /// A complete native image: attributes and Pixel Data of exactly the declared size.
    static func nativeImage(rows: UInt16 = 4, columns: UInt16 = 6, explicitVR: Bool = true) -> DatasetBytes {
        var d = DatasetBytes(explicitVR: explicitVR)
        d.imageAttributes(rows: rows, columns: columns)
        d.element(0x7FE0_0010, "OB", [UInt8](repeating: 7, count: Int(rows) * Int(columns)))
        return d
    }

    /// Encapsulated Pixel Data: an empty Basic Offset Table, then the fragments.
    mutating func encapsulatedPixelData(_ fragments: [[UInt8]]) {
        header(0x7FE0_0010, "OB", length: Self.undefined)
        item(length: 0)
        for f in fragments {
            item(length: UInt32(f.count))
            bytes += f
        }
        sequenceEnd()
    }

    /// A JPEG stream's start: SOI, an APP0 segment, then SOF0 with these dimensions.
    static func jpegStart(width: Int, height: Int, components: Int) -> [UInt8] {
        var b: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF\0".utf8) + [UInt8](repeating: 0, count: 9)
        b += [0xFF, 0xC0, 0x00, UInt8(8 + 3 * components), 8, UInt8(height >> 8), UInt8(height & 0xFF),
              UInt8(width >> 8), UInt8(width & 0xFF), UInt8(components)]
        for c in 0..<components { b += [UInt8(c + 1), 0x11, 0] }
        b += [0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0, 0x12, 0x34, 0xFF, 0xD9]
        return b
    }

    /// An RLE frame: the 64-byte header with these segment offsets, then `body` bytes.
    static func rleFrame(offsets: [UInt32], body: Int) -> [UInt8] {
        var h = le32(UInt32(offsets.count))
        for i in 0..<15 { h += le32(i < offsets.count ? offsets[i] : 0) }
        return h + [UInt8](repeating: 0, count: body)
    }

    func write(to url: URL, transferSyntax: String) throws {
        try Data(Self.part10(self, transferSyntax: transferSyntax)).write(to: url)
    }
}
