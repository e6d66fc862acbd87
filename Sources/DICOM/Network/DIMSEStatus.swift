/// DIMSE response status of a C-STORE (PS3.4 B.2.3, PS3.7 C).
public enum DIMSEStatus: Sendable, Equatable {
    /// 0000: only once the object is safely on disk.
    case success
    /// A700: disk below floor, write failed.
    case outOfResources
    /// A900: dataset SOP Class/Instance UID differs from the command.
    case dataSetDoesNotMatchSOPClass
    /// C000: unparsable, UIDs missing.
    case cannotUnderstand
    case other(UInt16)

    public var code: UInt16 {
        switch self {
        case .success: return 0x0000
        case .outOfResources: return 0xA700
        case .dataSetDoesNotMatchSOPClass: return 0xA900
        case .cannotUnderstand: return 0xC000
        case .other(let code): return code
        }
    }

    /// The named case for a known code, `.other` otherwise.
    public init(code: UInt16) {
        switch code {
        case 0x0000: self = .success
        case 0xA700: self = .outOfResources
        case 0xA900: self = .dataSetDoesNotMatchSOPClass
        case 0xC000: self = .cannotUnderstand
        default: self = .other(code)
        }
    }

    /// The code as DICOM writes it, four upper-case hex digits ("A700"). Without
    /// String(format:): the gateway labels every C-STORE answer with it.
    public var hex: String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [12, 8, 4, 0].map { digits[Int(code >> $0 & 0xF)] }, as: UTF8.self)
    }

    /// Success or warning (0000, 0001, Bxxx): the peer kept the object.
    public var isSuccessOrWarning: Bool { code == 0 || code == 0x0001 || (code & 0xF000) == 0xB000 }
}

/// A C-STORE response as the SCP sends it: the status and, with a failure or warning, the
/// Error Comment (0000,0902) that tells the modality's operator why, in words. The comment is
/// an LO value: printable ASCII without backslash, at most 64 characters; it names no patient
/// and no UID.
public struct StoreAnswer: Sendable, Equatable {
    public var status: DIMSEStatus
    public var comment: String?

    public init(_ status: DIMSEStatus, comment: String? = nil) {
        self.status = status
        self.comment = comment
    }

    public static let success = StoreAnswer(.success)

    /// The comment as it goes on the wire: nil for success or when there is none; otherwise
    /// printable ASCII only (anything else becomes "?", a backslash "/"), cut to 64 characters.
    public var errorComment: String? {
        guard status != .success, let comment, !comment.isEmpty else { return nil }
        let cleaned = comment.unicodeScalars.map { s -> Character in
            if s == "\\" { return "/" }
            return s.value >= 0x20 && s.value < 0x7F ? Character(s) : "?"
        }
        return String(cleaned.prefix(64))
    }
}
