/// What `DatasetScanner` found in a structurally sound file: where the dataset lies, its
/// encoding, the top-level attributes the gateway decides on, and where the pixel data is.
public struct DatasetScan: Sendable, Equatable {
    /// From the meta header; for a dataset without one, the encoding detected (Implicit or Explicit VR LE).
    public var transferSyntaxUID: String
    /// Whether the file has a Part 10 preamble, "DICM" and meta header.
    public var hasMetaHeader: Bool
    /// File offset of the dataset's first byte (after the meta header): the bytes whose hash
    /// tells two copies of an instance apart (the meta header differs by sender and receiver).
    public var datasetOffset: Int
    /// File size in bytes.
    public var fileSize: Int
    public var attributes: ScannedAttributes
    /// The top-level Pixel Data (7FE0,0010); nil when there is none.
    public var pixelData: PixelDataLayout?
    /// Elements, items and fragments counted.
    public var elementCount: Int
    /// Deepest sequence nesting met.
    public var maxDepthSeen: Int
}

/// Top-level attribute values, as read from the bytes (strings trimmed of padding). nil when
/// absent; attributes present but unreadable (wrong length, not a number) are in `unreadable`.
public struct ScannedAttributes: Sendable, Equatable {
    public var sopClassUID: String?
    public var sopInstanceUID: String?
    public var studyInstanceUID: String?
    public var modality: String?
    public var samplesPerPixel: Int?
    public var photometricInterpretation: String?
    public var planarConfiguration: Int?
    public var numberOfFrames: Int?
    public var rows: Int?
    public var columns: Int?
    public var bitsAllocated: Int?
    public var bitsStored: Int?
    public var highBit: Int?
    public var pixelRepresentation: Int?
    /// Names of attributes present with a value that could not be read, e.g. "Rows (0028,0010)".
    public var unreadable: [String] = []

    public init() {}
}

/// Where the pixel data lies in the scanned bytes.
public enum PixelDataLayout: Sendable, Equatable {
    /// Native: one value of `length` bytes at `offset`.
    case native(offset: Int, length: Int)
    /// Encapsulated: the items of the pixel sequence in order, the Basic Offset Table first.
    case encapsulated(basicOffsetTable: ByteRange, fragments: [ByteRange])
}

/// `length` bytes at `offset` of the scanned bytes.
public struct ByteRange: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
}
