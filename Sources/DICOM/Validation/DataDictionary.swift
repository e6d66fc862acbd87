import CDCMTK

/// DCMTK's data dictionary, for the one question the scanner cannot answer from the bytes: in
/// Implicit VR, is a defined-length element a sequence? DCMTK's parser decides it from this
/// dictionary (private tags by their private creator) and descends into every such sequence,
/// so the scanner descends into exactly the same ones and bounds their nesting. Treating them
/// as opaque would not be safe: 50,000 nested defined-length sequences would pass the scanner
/// and overflow DCMTK's stack when analysis opens the file.
enum DataDictionary {
    /// The dictionary's VR for the tag ("SQ", "US", ...), nil when it has no entry.
    static func vr(group: UInt16, element: UInt16, privateCreator: String?) -> String? {
        var out: (CChar, CChar, CChar) = (0, 0, 0)
        let found = withUnsafeMutablePointer(to: &out) { tuple in
            tuple.withMemoryRebound(to: CChar.self, capacity: 3) { vr in
                wc_dictionary_vr(group, element, privateCreator, vr)
            }
        }
        guard found == 1 else { return nil }
        return String(decoding: [UInt8(bitPattern: out.0), UInt8(bitPattern: out.1)], as: UTF8.self)
    }
}
