/// Walks a dataset's elements, items and fragments with an explicit stack, never recursion, so
/// no input can exhaust the stack here; bounds the nesting and the count, and checks every
/// length against the bytes left in the file and in the item or sequence around it.
///
/// It descends where DCMTK's parser descends: sequences (Explicit VR "SQ"; Implicit VR when the
/// data dictionary says SQ; any undefined length in Implicit VR), undefined-length "UN" (read as
/// Implicit VR, CP-246) and encapsulated Pixel Data (fragments). Values of every other element
/// are skipped unread, except the few top-level attributes `ScannedAttributes` keeps.
struct DatasetWalker {
    typealias VRLookup = (_ group: UInt16, _ element: UInt16, _ privateCreator: String?) -> String?

    let source: ByteSource
    let littleEndian: Bool
    let limits: DatasetScanLimits
    let dictionaryVR: VRLookup
    var elementCount: Int
    /// Sequences (and pixel sequences) open now.
    private var depth = 0
    private(set) var maxDepthSeen = 0
    private(set) var attributes = ScannedAttributes()
    private(set) var pixelData: PixelDataLayout?

    private static let itemTag: UInt32 = 0xFFFE_E000
    private static let itemDelimiter: UInt32 = 0xFFFE_E00D
    private static let sequenceDelimiter: UInt32 = 0xFFFE_E0DD
    private static let pixelDataTag: UInt32 = 0x7FE0_0010
    private static let undefinedLength: UInt32 = 0xFFFF_FFFF

    init(source: ByteSource, littleEndian: Bool, limits: DatasetScanLimits, elementCount: Int,
         dictionaryVR: @escaping VRLookup) {
        self.source = source
        self.littleEndian = littleEndian
        self.limits = limits
        self.elementCount = elementCount
        self.dictionaryVR = dictionaryVR
    }

    /// One open dataset, item or sequence.
    private struct Container {
        enum Kind { case dataset, item, sequence, pixelSequence }
        var kind: Kind
        /// Defined end (exclusive); nil for undefined length (ends at its delimiter).
        var end: Int?
        /// The nearest defined end of this container or one around it: nothing inside may pass it.
        var limit: Int
        var explicitVR: Bool
        /// Sequences: their tag; items: their sequence's (for messages).
        var tag: UInt32
        /// Datasets and items: the last element's tag (elements must ascend).
        var lastTag: UInt32?
        /// Datasets and items: private creators by (group << 8 | block), for dictionary look-ups.
        var creators: [UInt32: String] = [:]
        /// Pixel sequences: their items, the Basic Offset Table first.
        var fragments: [ByteRange] = []
    }

    /// Walks from `start` to the end of the source, which must be exactly the dataset's end.
    mutating func walk(from start: Int, explicitVR: Bool) throws(DatasetScanError) {
        let n = source.count
        var stack = [Container(kind: .dataset, end: n, limit: n, explicitVR: explicitVR, tag: 0)]
        var position = start
        while true {
            let top = stack[stack.count - 1]
            if let end = top.end, position == end {
                if top.kind == .dataset { return }
                close(&stack)
                continue
            }
            switch top.kind {
            case .sequence, .pixelSequence:
                try readItem(&stack, &position)
            case .dataset, .item:
                if stack.count == 1 && pixelData != nil {
                    // After the Pixel Data only further elements may follow (padding, signatures):
                    // anything that does not read as one is garbage appended to the dataset.
                    let at = position
                    do { try readElement(&stack, &position) } catch {
                        throw .trailingBytes(offset: at, count: n - at)
                    }
                } else {
                    try readElement(&stack, &position)
                }
            }
        }
    }

    // MARK: - Elements

    private mutating func readElement(_ stack: inout [Container], _ position: inout Int) throws(DatasetScanError) {
        let top = stack[stack.count - 1]
        let p = position
        try need(p, 8, within: top, "an element header")
        let head = try source.bytes(at: p, length: 8)
        let group = u16(head, 0), element = u16(head, 2)
        let tag = UInt32(group) << 16 | UInt32(element)
        if group == 0xFFFE {
            guard tag == Self.itemDelimiter, top.kind == .item, top.end == nil else {
                throw .malformed(offset: p, reason: "\(TagText.of(tag)) where an element was expected")
            }
            position = p + 8
            stack.removeLast()
            return
        }
        if let last = top.lastTag, tag <= last {
            throw .malformed(offset: p, reason: tag == last ? "\(TagText.of(tag)) appears twice"
                : "\(TagText.of(tag)) follows \(TagText.of(last)): elements out of order")
        }
        stack[stack.count - 1].lastTag = tag
        try count(p)

        var vr: String?
        var length: UInt32
        var header = 8
        if top.explicitVR {
            guard let name = ValueRepresentation.name(head[head.startIndex + 4], head[head.startIndex + 5]),
                  ValueRepresentation.known.contains(name) else {
                throw .malformed(offset: p, reason: "unknown VR bytes \(hex(head[head.startIndex + 4])) \(hex(head[head.startIndex + 5])) for \(TagText.of(tag))")
            }
            vr = name
            if ValueRepresentation.longLength.contains(name) {
                try need(p, 12, within: top, "the header of \(TagText.of(tag))")
                length = u32(try source.bytes(at: p + 8, length: 4), 0)
                header = 12
            } else {
                length = UInt32(u16(head, 6))
            }
        } else {
            length = u32(head, 4)
        }
        let valueStart = p + header

        if length == Self.undefinedLength {
            if tag == Self.pixelDataTag && (vr == nil || vr == "OB" || vr == "OW") {
                try push(&stack, Container(kind: .pixelSequence, end: nil, limit: top.limit, explicitVR: top.explicitVR,
                                           tag: tag), at: p)
            } else if vr == "SQ" || vr == nil {
                try push(&stack, Container(kind: .sequence, end: nil, limit: top.limit, explicitVR: top.explicitVR, tag: tag), at: p)
            } else if vr == "UN" {
                // CP-246: an undefined-length UN is a sequence whose items are Implicit VR.
                try push(&stack, Container(kind: .sequence, end: nil, limit: top.limit, explicitVR: false, tag: tag), at: p)
            } else {
                throw .malformed(offset: p, reason: "undefined length on \(TagText.of(tag)) with VR \(vr ?? "")")
            }
            position = valueStart
            return
        }

        let end = valueStart + Int(length)
        try fits(p, end, within: top, "the value of \(TagText.of(tag)) (\(length) bytes)")
        let isSequence: Bool
        if let vr {
            isSequence = vr == "SQ"
        } else {
            isSequence = dictionaryVR(group, element, creator(for: group, element, in: top)) == "SQ"
        }
        if isSequence {
            try push(&stack, Container(kind: .sequence, end: end, limit: end, explicitVR: top.explicitVR, tag: tag), at: p)
            position = valueStart
            return
        }
        if stack.count == 1 {
            if tag == Self.pixelDataTag {
                pixelData = .native(offset: valueStart, length: Int(length))
            } else if let attribute = TopLevelAttribute(rawValue: tag) {
                try record(attribute, vr: vr, at: valueStart, length: Int(length))
            }
        }
        if group & 1 == 1, (0x0010...0x00FF).contains(element), length <= 64 {
            stack[stack.count - 1].creators[UInt32(group) << 8 | UInt32(element)] = text(try source.bytes(at: valueStart, length: Int(length)))
        }
        position = end
    }

    /// The private creator of a private element (odd group, element gggg,xxyy with xx >= 0x10) in this item.
    private func creator(for group: UInt16, _ element: UInt16, in container: Container) -> String? {
        guard group & 1 == 1, element >= 0x1000 else { return nil }
        return container.creators[UInt32(group) << 8 | UInt32(element >> 8)]
    }

    // MARK: - Items and fragments

    private mutating func readItem(_ stack: inout [Container], _ position: inout Int) throws(DatasetScanError) {
        let top = stack[stack.count - 1]
        let p = position
        try need(p, 8, within: top, top.end == nil
                 ? "sequence \(TagText.of(top.tag)), whose length is undefined, has no delimitation item: the next item header"
                 : "an item header of sequence \(TagText.of(top.tag))")
        let head = try source.bytes(at: p, length: 8)
        let tag = UInt32(u16(head, 0)) << 16 | UInt32(u16(head, 2))
        let length = u32(head, 4)
        switch tag {
        case Self.itemTag:
            try count(p)
            if top.kind == .pixelSequence {
                guard length != Self.undefinedLength else {
                    throw .malformed(offset: p, reason: "a pixel data fragment of undefined length")
                }
                let end = p + 8 + Int(length)
                try fits(p, end, within: top, "pixel data fragment \(top.fragments.count) (\(length) bytes)")
                stack[stack.count - 1].fragments.append(ByteRange(offset: p + 8, length: Int(length)))
                position = end
            } else if length == Self.undefinedLength {
                stack.append(Container(kind: .item, end: nil, limit: top.limit, explicitVR: top.explicitVR, tag: top.tag))
                position = p + 8
            } else {
                let end = p + 8 + Int(length)
                try fits(p, end, within: top, "an item of sequence \(TagText.of(top.tag)) (\(length) bytes)")
                stack.append(Container(kind: .item, end: end, limit: end, explicitVR: top.explicitVR, tag: top.tag))
                position = p + 8
            }
        case Self.sequenceDelimiter:
            guard top.end == nil else {
                throw .malformed(offset: p, reason: "a sequence delimitation item inside \(TagText.of(top.tag)), which has a defined length")
            }
            position = p + 8
            close(&stack)
        default:
            throw .malformed(offset: p, reason: "\(TagText.of(tag)) where an item of \(TagText.of(top.tag)) was expected")
        }
    }

    private mutating func push(_ stack: inout [Container], _ container: Container, at offset: Int) throws(DatasetScanError) {
        guard depth + 1 <= limits.maxDepth else { throw .tooDeep(offset: offset, limit: limits.maxDepth) }
        depth += 1
        maxDepthSeen = max(maxDepthSeen, depth)
        stack.append(container)
    }

    /// Pops the top container; the top-level pixel sequence becomes `pixelData`.
    private mutating func close(_ stack: inout [Container]) {
        let closed = stack.removeLast()
        if closed.kind == .sequence || closed.kind == .pixelSequence { depth -= 1 }
        if closed.kind == .pixelSequence, stack.count == 1 {
            let table = closed.fragments.first ?? ByteRange(offset: 0, length: 0)
            pixelData = .encapsulated(basicOffsetTable: table, fragments: Array(closed.fragments.dropFirst()))
        }
    }

    private mutating func count(_ offset: Int) throws(DatasetScanError) {
        elementCount += 1
        guard elementCount <= limits.maxElements else { throw .tooManyElements(offset: offset, limit: limits.maxElements) }
    }

    // MARK: - Bounds

    /// `size` bytes at `offset` lie within the file and the container.
    private func need(_ offset: Int, _ size: Int, within container: Container, _ what: String) throws(DatasetScanError) {
        try fits(offset, offset + size, within: container, what)
    }

    /// A thing starting at `offset` ends at `end`, within the file and the container.
    private func fits(_ offset: Int, _ end: Int, within container: Container, _ what: String) throws(DatasetScanError) {
        if end > source.count {
            throw .endsEarly(offset: offset, what: "\(what) runs past the end of the file (\(source.count) bytes)")
        }
        if end > container.limit {
            throw .overrunsContainer(offset: offset, what: "\(what) runs past the end of the item or sequence that holds it (byte \(container.limit))")
        }
    }

    // MARK: - Values

    /// The top-level attributes the gateway decides on, and the VR each has in Implicit VR.
    private enum TopLevelAttribute: UInt32 {
        case sopClassUID = 0x0008_0016, sopInstanceUID = 0x0008_0018, modality = 0x0008_0060
        case studyInstanceUID = 0x0020_000D
        case samplesPerPixel = 0x0028_0002, photometric = 0x0028_0004, planarConfiguration = 0x0028_0006
        case numberOfFrames = 0x0028_0008, rows = 0x0028_0010, columns = 0x0028_0011
        case bitsAllocated = 0x0028_0100, bitsStored = 0x0028_0101, highBit = 0x0028_0102
        case pixelRepresentation = 0x0028_0103

        var implicitVR: String {
            switch self {
            case .sopClassUID, .sopInstanceUID, .studyInstanceUID: return "UI"
            case .modality, .photometric: return "CS"
            case .numberOfFrames: return "IS"
            default: return "US"
            }
        }

        var name: String {
            switch self {
            case .sopClassUID: return "SOP Class UID (0008,0016)"
            case .sopInstanceUID: return "SOP Instance UID (0008,0018)"
            case .modality: return "Modality (0008,0060)"
            case .studyInstanceUID: return "Study Instance UID (0020,000D)"
            case .samplesPerPixel: return "Samples per Pixel (0028,0002)"
            case .photometric: return "Photometric Interpretation (0028,0004)"
            case .planarConfiguration: return "Planar Configuration (0028,0006)"
            case .numberOfFrames: return "Number of Frames (0028,0008)"
            case .rows: return "Rows (0028,0010)"
            case .columns: return "Columns (0028,0011)"
            case .bitsAllocated: return "Bits Allocated (0028,0100)"
            case .bitsStored: return "Bits Stored (0028,0101)"
            case .highBit: return "High Bit (0028,0102)"
            case .pixelRepresentation: return "Pixel Representation (0028,0103)"
            }
        }
    }

    /// Longest value read for a kept attribute (a UID is at most 64 bytes).
    private static let maxKeptValue = 256

    private mutating func record(_ attribute: TopLevelAttribute, vr streamVR: String?, at offset: Int, length: Int) throws(DatasetScanError) {
        guard length <= Self.maxKeptValue else {
            attributes.unreadable.append(attribute.name)
            return
        }
        let bytes = try source.bytes(at: offset, length: length)
        let vr = streamVR ?? attribute.implicitVR
        switch attribute {
        case .sopClassUID, .sopInstanceUID, .studyInstanceUID, .modality, .photometric:
            let value = text(bytes)
            guard !value.isEmpty || length == 0 else { return attributes.unreadable.append(attribute.name) }
            switch attribute {
            case .sopClassUID: attributes.sopClassUID = value
            case .sopInstanceUID: attributes.sopInstanceUID = value
            case .studyInstanceUID: attributes.studyInstanceUID = value
            case .modality: attributes.modality = value
            default: attributes.photometricInterpretation = value
            }
        default:
            guard length > 0 else { return }  // present but empty: as absent
            guard let number = integer(bytes, vr: vr) else { return attributes.unreadable.append(attribute.name) }
            switch attribute {
            case .samplesPerPixel: attributes.samplesPerPixel = number
            case .planarConfiguration: attributes.planarConfiguration = number
            case .numberOfFrames: attributes.numberOfFrames = number
            case .rows: attributes.rows = number
            case .columns: attributes.columns = number
            case .bitsAllocated: attributes.bitsAllocated = number
            case .bitsStored: attributes.bitsStored = number
            case .highBit: attributes.highBit = number
            default: attributes.pixelRepresentation = number
            }
        }
    }

    /// A single integer value of a US, SS, UL, SL or IS element; nil for anything else.
    private func integer(_ bytes: ArraySlice<UInt8>, vr: String) -> Int? {
        switch vr {
        case "US": return bytes.count == 2 ? Int(u16(bytes, 0)) : nil
        case "SS": return bytes.count == 2 ? Int(Int16(bitPattern: u16(bytes, 0))) : nil
        case "UL": return bytes.count == 4 ? Int(u32(bytes, 0)) : nil
        case "SL": return bytes.count == 4 ? Int(Int32(bitPattern: u32(bytes, 0))) : nil
        case "IS":
            let value = text(bytes)
            return value.contains("\\") ? nil : Int(value.hasPrefix("+") ? String(value.dropFirst()) : value)
        default: return nil
        }
    }

    /// ASCII text without the padding (spaces, NULs) around it; "" when not ASCII.
    private func text(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return "" }
        var slice = bytes[...]
        while let f = slice.first, f == 0x20 || f == 0 { slice = slice.dropFirst() }
        while let l = slice.last, l == 0x20 || l == 0 { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    private func u16(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt16 {
        let x = UInt16(b[b.startIndex + i]), y = UInt16(b[b.startIndex + i + 1])
        return littleEndian ? x | y << 8 : x << 8 | y
    }

    private func u32(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
        let lo = UInt32(u16(b, i)), hi = UInt32(u16(b, i + 2))
        return littleEndian ? lo | hi << 16 : lo << 16 | hi
    }

    private func hex(_ byte: UInt8) -> String { String(TagText.hex4(UInt16(byte)).suffix(2)) }
}
