/// Deterministic UIDs for the objects WeCare derives from a source image.
///
/// `2.25.<decimal of the first 128 bits of SHA-256(source SOP Instance UID, producer version, role)>`
/// (the UUID-derived root of PS3.5 B.2). The same source analysed by the same producer version
/// gets the same UIDs, so a resend replaces the earlier object instead of duplicating it; a new
/// producer version gets new ones. Each object kind has distinct roles for its series and instance.
public enum DerivedUID {
    /// Roles used by the writers; any other string is allowed (e.g. per-lesion tracking UIDs).
    public enum Role {
        public static let segmentationSeries = "seg.series"
        public static let segmentationInstance = "seg.instance"
        public static let segmentationDimensionOrganization = "seg.dimension-organization"
        public static let reportSeries = "sr.series"
        public static let reportInstance = "sr.instance"
        public static let presentationStateSeries = "pr.series"
        public static let presentationStateInstance = "pr.instance"
        public static let unavailableReportSeries = "sr-unavailable.series"
        public static let unavailableReportInstance = "sr-unavailable.instance"
        /// Tracking Unique Identifier of lesion `index` (1-based) in the SR.
        public static func lesionTracking(_ index: Int) -> String { "sr.lesion.\(index)" }
        /// Tracking Unique Identifier of the contour group of lesion `index` in the SR.
        public static func lesionContourTracking(_ index: Int) -> String { "sr.lesion.\(index).contour" }
    }

    public static func make(sourceSOPInstanceUID: String, producerVersion: String, role: String) -> String {
        // Fields joined with a separator that cannot occur in a UID, so ("1.2","3") != ("1.23","").
        let digest = SHA256.hash(Array("\(sourceSOPInstanceUID)\u{1F}\(producerVersion)\u{1F}\(role)".utf8))
        return "2.25." + decimal(digest.prefix(16))
    }

    /// Base-10 text of a big-endian unsigned integer (no leading zeros, "0" for zero).
    static func decimal<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var number = Array(bytes)
        var digits: [UInt8] = []
        while number.contains(where: { $0 != 0 }) {
            var remainder: UInt32 = 0
            for i in number.indices {
                let value = remainder << 8 | UInt32(number[i])
                number[i] = UInt8(value / 10)
                remainder = value % 10
            }
            digits.append(UInt8(remainder))
        }
        if digits.isEmpty { return "0" }
        return String(digits.reversed().map { Character(String($0)) })
    }
}
