import Foundation
import CDCMTK

/// What the writers need to know about the source instance, read from it as opened for analysis.
public struct SourceSummary: Sendable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var transferSyntaxUID: String
    public var photometricInterpretation: String
    /// "R" or "L" from Laterality (0020,0060) or Image Laterality (0020,0062); nil otherwise.
    public var laterality: String?
    public var rows: Int
    public var columns: Int
    public var numberOfFrames: Int
    public var samplesPerPixel: Int
    public var bitsAllocated: Int
    /// Set when the source pixels went through lossy compression (flag or transfer syntax).
    public var lossyCompression: LossyCompression?

    public struct LossyCompression: Sendable, Equatable {
        /// Lossy Image Compression Ratio values (DS text).
        public var ratio: String
        /// Lossy Image Compression Method values (e.g. ISO_10918_1).
        public var method: String
    }

    /// Multi-frame sources are referenced frame by frame.
    public var isMultiFrame: Bool {
        numberOfFrames > 1 || sopClassUID == "1.2.840.10008.5.1.4.1.1.3.1"
    }
    public var isMonochrome: Bool { photometricInterpretation.hasPrefix("MONOCHROME") }

    /// Opens the file first: for callers that have no instance at hand. Any image object may be
    /// summarised, derived ones too, so only its structure is checked before DCMTK parses it.
    public init(contentsOf url: URL) throws {
        let instance: DICOMInstance
        do { instance = try DICOMInstance(contentsOf: url, validator: .structureOnly) } catch {
            throw DerivedObjectError.unusableSource("\(error)")
        }
        try self.init(instance)
    }

    /// Writers take it through `of(_:)`, which keeps it with the instance.
    private init(_ instance: DICOMInstance) throws {
        let url = instance.url
        var info = wc_source_info()
        do {
            try withExtendedLifetime(instance) {
                try callWriter { wc_writer_source_info(instance.handle, &info, $0, $1) }
            }
        } catch DerivedObjectError.toolkit(let m) {
            throw DerivedObjectError.unusableSource(m)
        }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
        }
        sopClassUID = text(info.sop_class_uid)
        sopInstanceUID = text(info.sop_instance_uid)
        studyInstanceUID = text(info.study_instance_uid)
        seriesInstanceUID = text(info.series_instance_uid)
        transferSyntaxUID = text(info.transfer_syntax_uid)
        photometricInterpretation = text(info.photometric)
        let lat = [text(info.laterality), text(info.image_laterality)].first { $0 == "R" || $0 == "L" }
        laterality = lat
        rows = Int(info.rows)
        columns = Int(info.columns)
        numberOfFrames = max(1, Int(info.frames))
        samplesPerPixel = Int(info.samples_per_pixel)
        bitsAllocated = Int(info.bits_allocated)
        for (name, value) in [("SOP Instance UID", sopInstanceUID), ("Study Instance UID", studyInstanceUID),
                              ("Series Instance UID", seriesInstanceUID), ("SOP Class UID", sopClassUID)]
        where value.isEmpty {
            throw DerivedObjectError.unusableSource("\(url.lastPathComponent) has no \(name); it cannot be referenced")
        }
        if rows == 0 || columns == 0 {
            throw DerivedObjectError.unusableSource("\(url.lastPathComponent) has no Rows/Columns; is it an image?")
        }
        lossyCompression = Self.lossy(flag: text(info.lossy_flag), ratio: text(info.lossy_ratio),
                                      method: text(info.lossy_method), transferSyntax: transferSyntaxUID,
                                      uncompressedBytes: Double(rows * columns * numberOfFrames
                                          * max(1, samplesPerPixel) * max(1, bitsAllocated / 8)),
                                      compressedBytes: Double(info.encapsulated_bytes))
    }

    /// The summary of an instance, read from it once and kept with it.
    static func of(_ instance: DICOMInstance) throws -> SourceSummary {
        try instance.writerSummaryCache.withLock { cached in
            if let cached { return cached }
            let summary = try SourceSummary(instance)
            cached = summary
            return summary
        }
    }

    /// Transfer syntaxes that are lossy by definition, with their Lossy Image Compression Method.
    static let lossyTransferSyntaxes: [String: String] = [
        "1.2.840.10008.1.2.4.50": "ISO_10918_1", "1.2.840.10008.1.2.4.51": "ISO_10918_1",
        "1.2.840.10008.1.2.4.100": "ISO_13818_2", "1.2.840.10008.1.2.4.101": "ISO_13818_2",
        "1.2.840.10008.1.2.4.102": "ISO_14496_10", "1.2.840.10008.1.2.4.103": "ISO_14496_10",
        "1.2.840.10008.1.2.4.104": "ISO_14496_10", "1.2.840.10008.1.2.4.105": "ISO_14496_10",
        "1.2.840.10008.1.2.4.106": "ISO_14496_10", "1.2.840.10008.1.2.4.107": "ISO_23008_2",
        "1.2.840.10008.1.2.4.108": "ISO_23008_2",
    ]
    /// Possibly lossy transfer syntaxes (the flag decides).
    static let maybeLossyMethods: [String: String] = [
        "1.2.840.10008.1.2.4.81": "ISO_14495_1", "1.2.840.10008.1.2.4.91": "ISO_15444_1",
        "1.2.840.10008.1.2.4.203": "ISO_15444_15",
    ]

    static func lossy(flag: String, ratio: String, method: String, transferSyntax: String,
                      uncompressedBytes: Double, compressedBytes: Double) -> LossyCompression? {
        let byTransferSyntax = lossyTransferSyntaxes[transferSyntax]
        guard flag == "01" || byTransferSyntax != nil else { return nil }
        let m = !method.isEmpty ? method : (byTransferSyntax ?? maybeLossyMethods[transferSyntax] ?? "")
        var r = ratio
        if r.isEmpty, compressedBytes > 0 {
            r = String(format: "%.2f", uncompressedBytes / compressedBytes)
        }
        // Empty when neither the source nor its bytes tell: then the writers leave them out
        // rather than invent a ratio or method.
        return LossyCompression(ratio: r, method: m)
    }
}
