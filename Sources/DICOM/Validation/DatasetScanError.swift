/// Why a file's structure was refused by `DatasetScanner`, before any DCMTK parser saw it.
/// Offsets are byte positions in the file (in the inflated stream for Deflated datasets); tags
/// are printed as (gggg,eeee). Messages carry no attribute values, so they may be logged.
public enum DatasetScanError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file cannot be opened or read.
    case unreadable(reason: String)
    /// No Part 10 preamble and "DICM" marker where one is required, or bytes that are no DICOM at all.
    case notDICOM(reason: String)
    /// The File Meta Information (group 0002) is unusable: no transfer syntax, a wrong group length.
    case metaHeader(reason: String)
    /// A length or a missing delimiter reaches past the end of the file: the transfer was cut short.
    case endsEarly(offset: Int, what: String)
    /// An element or item is longer than the item or sequence that holds it.
    case overrunsContainer(offset: Int, what: String)
    /// Sequences nested deeper than `DatasetScanLimits.maxDepth`.
    case tooDeep(offset: Int, limit: Int)
    /// More elements, items and fragments than `DatasetScanLimits.maxElements`.
    case tooManyElements(offset: Int, limit: Int)
    /// Bytes after the dataset's last element (after Pixel Data) that are no further element.
    case trailingBytes(offset: Int, count: Int)
    /// The inflated dataset of a Deflated file would exceed `DatasetScanLimits.maxInflatedBytes`.
    case inflatesTooLarge(limit: Int)
    /// Anything else that is not a well-formed dataset: unknown VR, a stray delimiter, tags out
    /// of order or twice, an undefined length where none is allowed.
    case malformed(offset: Int, reason: String)

    /// A short stable label for metrics (`reason="..."`).
    public var label: String {
        switch self {
        case .unreadable: return "unreadable"
        case .notDICOM: return "not_dicom"
        case .metaHeader: return "meta_header"
        case .endsEarly: return "truncated"
        case .overrunsContainer: return "length_overrun"
        case .tooDeep: return "nesting_depth"
        case .tooManyElements: return "element_count"
        case .trailingBytes: return "trailing_bytes"
        case .inflatesTooLarge: return "inflated_size"
        case .malformed: return "malformed"
        }
    }

    /// True when the file looks cut short rather than wrongly built (resend the whole instance).
    public var isTruncation: Bool {
        if case .endsEarly = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .unreadable(reason):
            return "cannot read the file (\(reason)); check that it exists and is readable"
        case let .notDICOM(reason):
            return "not a DICOM file (\(reason)); send a DICOM Part 10 file"
        case let .metaHeader(reason):
            return "the file meta information is unusable (\(reason)); have the sender write a valid Part 10 header"
        case let .endsEarly(offset, what):
            return "the dataset ends early at byte \(offset): \(what); resend the complete instance"
        case let .overrunsContainer(offset, what):
            return "at byte \(offset) \(what); the dataset is damaged or was built wrongly, fix the sender"
        case let .tooDeep(offset, limit):
            return "sequences nested more than \(limit) deep at byte \(offset); an image never needs that, the dataset is refused"
        case let .tooManyElements(offset, limit):
            return "more than \(limit) elements, items and fragments (at byte \(offset)); the dataset is refused"
        case let .trailingBytes(offset, count):
            return "\(count) bytes after the end of the dataset at byte \(offset) are no DICOM element; the file is damaged, resend it"
        case let .inflatesTooLarge(limit):
            return "the Deflated dataset inflates to more than \(limit) bytes; send it uncompressed"
        case let .malformed(offset, reason):
            return "malformed dataset at byte \(offset): \(reason); the sender wrote an invalid dataset"
        }
    }
}
