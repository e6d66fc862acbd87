/// The value representations of PS3.5 6.2, as the scanner needs them: which exist, and which
/// have the 4-byte length field in Explicit VR (PS3.5 7.1.2).
enum ValueRepresentation {
    static let known: Set<String> = [
        "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
        "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
    ]

    static let longLength: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

    /// The two VR bytes as text when both are upper-case ASCII letters.
    static func name(_ a: UInt8, _ b: UInt8) -> String? {
        guard (0x41...0x5A).contains(a), (0x41...0x5A).contains(b) else { return nil }
        return String(decoding: [a, b], as: UTF8.self)
    }
}

/// Tags as the scanner prints them: "(gggg,eeee)".
enum TagText {
    static func of(_ tag: UInt32) -> String {
        "(\(hex4(UInt16(tag >> 16))),\(hex4(UInt16(tag & 0xFFFF))))"
    }

    static func hex4(_ v: UInt16) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [12, 8, 4, 0].map { digits[Int(v >> UInt16($0) & 0xF)] }, as: UTF8.self)
    }
}
