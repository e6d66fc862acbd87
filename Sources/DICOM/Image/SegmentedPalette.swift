import CDCMTK

/// The colour tables of a PALETTE COLOR image whose palette is segmented (Segmented Red/Green/
/// Blue Palette Color Lookup Table Data, PS3.3 C.7.9.2), expanded, and the lookup of a frame's
/// indices through them. DCMTK renders every other palette; this one it refuses.
struct SegmentedPalette: Sendable {
    /// One channel: the expanded entries and how its descriptor (0028,1101..1103) places them.
    struct Table: Sendable, Equatable {
        var entries: [UInt16]
        /// First stored pixel value mapped (descriptor value 2); lower values take entry 0.
        var firstMapped: Int
        /// Bits per entry (descriptor value 3): 8 or 16.
        var bitsPerEntry: Int
    }

    var red: Table, green: Table, blue: Table

    static let descriptorTags: [UInt32] = [0x0028_1101, 0x0028_1102, 0x0028_1103]
    static let segmentedDataTags: [UInt32] = [0x0028_1221, 0x0028_1222, 0x0028_1223]

    /// Whether the instance carries segmented palette data at all.
    static func isPresent(_ reader: AttributeReader) -> Bool {
        wc_image_words(reader.handle, segmentedDataTags[0], nil, 0) >= 0
    }

    /// Reads and expands the three tables; the reason when the data cannot be used.
    static func read(_ reader: AttributeReader) -> Result<SegmentedPalette, SegmentedPaletteError> {
        var tables: [Table] = []
        for (channel, (descriptorTag, dataTag)) in zip(["red", "green", "blue"], zip(descriptorTags, segmentedDataTags)) {
            guard let count = reader.number(descriptorTag, index: 0), let first = reader.number(descriptorTag, index: 1),
                  let bits = reader.number(descriptorTag, index: 2) else {
                return .failure(.init("the \(channel) Palette Color Lookup Table Descriptor is missing or incomplete"))
            }
            guard bits == 8 || bits == 16 else {
                return .failure(.init("the \(channel) palette has \(Int(bits)) bits per entry; PS3.3 allows 8 or 16"))
            }
            let n = wc_image_words(reader.handle, dataTag, nil, 0)
            guard n > 0 else { return .failure(.init("the Segmented \(channel) Palette Color Lookup Table Data is missing or empty")) }
            var words = [UInt16](repeating: 0, count: n)
            _ = words.withUnsafeMutableBufferPointer { wc_image_words(reader.handle, dataTag, $0.baseAddress, $0.count) }
            // Number of entries 0 means 65536 (it does not fit the 16-bit descriptor value).
            let expected = count == 0 ? 65536 : Int(count)
            let entries: [UInt16]
            do { entries = try SegmentedPaletteLUT.expand(words: words, bitsPerEntry: Int(bits)) } catch {
                return .failure(.init("the segmented \(channel) palette cannot be expanded: \(error)"))
            }
            guard entries.count == expected else {
                return .failure(.init("the segmented \(channel) palette expands to \(entries.count) entries but its descriptor says \(expected)"))
            }
            tables.append(Table(entries: entries, firstMapped: Int(first), bitsPerEntry: Int(bits)))
        }
        return .success(SegmentedPalette(red: tables[0], green: tables[1], blue: tables[2]))
    }

    /// Interleaved 8-bit RGB of one frame's stored indices (`samples`: Bits Allocated 8 or 16,
    /// this machine's byte order). Indices below the first mapped value take the first entry,
    /// above the table the last (PS3.3 C.7.6.3.1.5); 16-bit entries are scaled to 8 bits by
    /// 255 / 65535, rounded.
    func rgb(samples: [UInt8], pixels: Int, bitsAllocated: Int, bitsStored: Int) -> [UInt8] {
        let mask = bitsStored >= 16 ? 0xFFFF : (1 << bitsStored) - 1
        let lookups = [red, green, blue].map(Self.eightBitLookup)
        var out = [UInt8](repeating: 0, count: pixels * 3)
        samples.withUnsafeBytes { raw in
            for i in 0..<pixels {
                let value = bitsAllocated == 16 ? Int(raw.load(fromByteOffset: 2 * i, as: UInt16.self)) : Int(raw[i])
                for c in 0..<3 {
                    let table = lookups[c]
                    let index = min(max((value & mask) - table.first, 0), table.values.count - 1)
                    out[3 * i + c] = table.values[index]
                }
            }
        }
        return out
    }

    /// A channel as 8-bit values, so a frame costs one lookup per sample.
    private static func eightBitLookup(_ t: Table) -> (first: Int, values: [UInt8]) {
        let values = t.entries.map { e -> UInt8 in
            t.bitsPerEntry == 16 ? UInt8((UInt32(e) * 255 + 32767) / 65535) : UInt8(truncatingIfNeeded: e)
        }
        return (t.firstMapped, values)
    }
}

/// Why a segmented palette cannot be used; becomes the frame's decoding failure.
struct SegmentedPaletteError: Error, Sendable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
