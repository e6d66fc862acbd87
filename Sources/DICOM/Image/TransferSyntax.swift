/// Transfer syntaxes an instance may arrive in, and which of them this build can decode.
public enum TransferSyntax {
    public static let implicitVRLittleEndian = "1.2.840.10008.1.2"
    public static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"
    public static let deflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
    public static let explicitVRBigEndian = "1.2.840.10008.1.2.2"
    public static let jpegBaseline = "1.2.840.10008.1.2.4.50"
    public static let jpegExtended = "1.2.840.10008.1.2.4.51"
    public static let jpegLossless = "1.2.840.10008.1.2.4.57"
    public static let jpegLosslessSV1 = "1.2.840.10008.1.2.4.70"
    public static let jpegLSLossless = "1.2.840.10008.1.2.4.80"
    public static let jpegLSNearLossless = "1.2.840.10008.1.2.4.81"
    public static let rleLossless = "1.2.840.10008.1.2.5"

    /// Decodable with DCMTK's free decoders (JPEG 2000, HTJ2K, MPEG, HEVC are not).
    public static let decodable: Set<String> = [
        implicitVRLittleEndian, explicitVRLittleEndian, deflatedExplicitVRLittleEndian, explicitVRBigEndian,
        jpegBaseline, jpegExtended, jpegLossless, jpegLosslessSV1, jpegLSLossless, jpegLSNearLossless, rleLossless,
    ]

    /// Encodings that discard information (an image in them is lossy whatever the header says).
    public static let lossy: Set<String> = [
        jpegBaseline, jpegExtended, jpegLSNearLossless,
        "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.93", "1.2.840.10008.1.2.4.203",  // J2K, HTJ2K
        "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.102",  // MPEG-2/4
        "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.105",
        "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108",  // HEVC
    ]

    /// A short human name for logs and error messages.
    public static func name(of uid: String) -> String {
        switch uid {
        case implicitVRLittleEndian: return "Implicit VR Little Endian"
        case explicitVRLittleEndian: return "Explicit VR Little Endian"
        case deflatedExplicitVRLittleEndian: return "Deflated Explicit VR Little Endian"
        case explicitVRBigEndian: return "Explicit VR Big Endian"
        case jpegBaseline: return "JPEG Baseline"
        case jpegExtended: return "JPEG Extended"
        case jpegLossless: return "JPEG Lossless"
        case jpegLosslessSV1: return "JPEG Lossless SV1"
        case jpegLSLossless: return "JPEG-LS Lossless"
        case jpegLSNearLossless: return "JPEG-LS Near-Lossless"
        case rleLossless: return "RLE Lossless"
        case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93":
            return "JPEG 2000"
        case "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203":
            return "High-Throughput JPEG 2000"
        case "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.102",
             "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.105",
             "1.2.840.10008.1.2.4.106":
            return "MPEG"
        case "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108": return "HEVC"
        default: return "unknown"
        }
    }
}
