import Foundation

/// A structural check of a DICOM file in pure Swift, before any DCMTK parser or decoder touches
/// it: the meta header, then the whole dataset walked iteratively to its last byte, nesting
/// and element count bounded, every length checked against the bytes left. What it returns is
/// what the gateway decides on (`DatasetScan`); a file it refuses never reaches DCMTK.
///
/// Encodings: Explicit VR Little Endian (and every encapsulated syntax, which are Explicit VR
/// LE), Implicit VR Little Endian, Explicit VR Big Endian, and Deflated Explicit VR Little
/// Endian (inflated in memory first, up to `DatasetScanLimits.maxInflatedBytes`).
public struct DatasetScanner: Sendable {
    public var limits: DatasetScanLimits
    /// Refuse files without preamble, "DICM" and meta header (received files always have one;
    /// `wecare analyze` also reads bare datasets, whose encoding is then detected).
    public var requireMetaHeader: Bool
    private let dictionaryVR: @Sendable (UInt16, UInt16, String?) -> String?

    public init(limits: DatasetScanLimits = .default, requireMetaHeader: Bool = false) {
        self.init(limits: limits, requireMetaHeader: requireMetaHeader) { DataDictionary.vr(group: $0, element: $1, privateCreator: $2) }
    }

    /// With another dictionary (tests).
    init(limits: DatasetScanLimits, requireMetaHeader: Bool, dictionaryVR: @escaping @Sendable (UInt16, UInt16, String?) -> String?) {
        self.limits = limits
        self.requireMetaHeader = requireMetaHeader
        self.dictionaryVR = dictionaryVR
    }

    public func scan(file url: URL) throws(DatasetScanError) -> DatasetScan {
        try scanWithBytes(FileBytes(url: url)).scan
    }

    public func scan(bytes: [UInt8]) throws(DatasetScanError) -> DatasetScan {
        try scanWithBytes(MemoryBytes(bytes)).scan
    }

    /// The scan and the bytes its offsets refer to (the inflated dataset for Deflated files),
    /// for checks that read pixel data headers.
    func scanWithBytes(_ file: ByteSource) throws(DatasetScanError) -> (scan: DatasetScan, bytes: ByteSource) {
        guard file.count > 0 else { throw .notDICOM(reason: "the file is empty") }
        let transferSyntax: String
        let datasetOffset: Int
        var elements = 0
        let part10 = try MetaHeader.isPart10(file)
        if part10 {
            let meta = try MetaHeader.read(file, maxElements: limits.maxElements)
            transferSyntax = meta.transferSyntaxUID
            datasetOffset = meta.end
            elements = meta.elementCount
        } else {
            guard !requireMetaHeader else {
                throw .notDICOM(reason: "no \"DICM\" marker after a 128-byte preamble")
            }
            transferSyntax = try Self.detectedEncoding(file)
            datasetOffset = 0
        }

        var bytes = file
        var start = datasetOffset
        let deflated = transferSyntax == TransferSyntax.deflatedExplicitVRLittleEndian
        if deflated {
            bytes = MemoryBytes(try Inflate.raw(try file.bytes(at: datasetOffset, length: file.count - datasetOffset),
                                                limit: limits.maxInflatedBytes))
            start = 0
        }
        var walker = DatasetWalker(source: bytes, littleEndian: transferSyntax != TransferSyntax.explicitVRBigEndian,
                                   limits: limits, elementCount: elements, dictionaryVR: dictionaryVR)
        do throws(DatasetScanError) {
            try walker.walk(from: start, explicitVR: transferSyntax != TransferSyntax.implicitVRLittleEndian)
        } catch {
            // Without the Part 10 marker nothing says these bytes were meant to be DICOM: bytes
            // that do not walk as a dataset are some other file, not a damaged one.
            if !part10 { throw .notDICOM(reason: "no Part 10 header, and the bytes do not read as a dataset (\(error))") }
            throw error
        }
        let scan = DatasetScan(transferSyntaxUID: transferSyntax, hasMetaHeader: part10, datasetOffset: datasetOffset,
                               fileSize: file.count, attributes: walker.attributes, pixelData: walker.pixelData,
                               elementCount: walker.elementCount, maxDepthSeen: walker.maxDepthSeen)
        return (scan, bytes)
    }

    /// A dataset without meta header is Explicit VR when its first element carries a VR,
    /// Implicit VR otherwise (as DCMTK detects it); both little endian.
    private static func detectedEncoding(_ file: ByteSource) throws(DatasetScanError) -> String {
        guard file.count >= 8 else { throw .notDICOM(reason: "\(file.count) bytes are too few for a DICOM element") }
        let head = try file.bytes(at: 0, length: 8)
        if let vr = ValueRepresentation.name(head[head.startIndex + 4], head[head.startIndex + 5]),
           ValueRepresentation.known.contains(vr) {
            return TransferSyntax.explicitVRLittleEndian
        }
        return TransferSyntax.implicitVRLittleEndian
    }
}
