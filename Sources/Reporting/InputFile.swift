import DICOM
import Foundation

/// What kind of file an input is, from its first bytes (not its name).
public enum InputKind: Sendable, Equatable {
    case dicom, png

    public static func sniff(_ head: Data) -> InputKind? {
        let bytes = [UInt8](head.prefix(132))
        if bytes.count >= 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if bytes.count >= 132, bytes[128..<132] == [0x44, 0x49, 0x43, 0x4D] { return .dicom }  // "DICM"
        return nil
    }
}

/// Everything `wecare analyze` and folder destinations write for one input.
public struct AnalysisOutputs: Sendable {
    public var report: ImageReport
    public var resultJSON: Data
    public var svg: String
    public var derived: DerivedObjects?

    /// The lesion mask as an 8-bit PNG; encoded on demand (the gateway does not deliver it).
    public func maskPNG() throws -> Data { try report.maskPNG() }

    /// File name -> bytes, as written into an output folder.
    public func files() throws -> [(name: String, data: Data)] {
        var out: [(String, Data)] = [("result.json", resultJSON), ("mask.png", try maskPNG()), ("lesion.svg", Data(svg.utf8))]
        if let d = derived {
            if let seg = d.segmentation { out.append(("seg.dcm", seg)) }
            out.append(("sr.dcm", d.report))
            if let pr = d.presentationState { out.append(("pr.dcm", pr)) }
        }
        return out
    }
}

extension Reporter {
    /// The producer version that enters every derived UID.
    public var producerVersion: String { "\(model.card.name) \(model.card.version)" }

    /// Analyses a DICOM or PNG file and builds every output (DICOM objects for DICOM input).
    public func outputs(forFile url: URL) throws -> AnalysisOutputs {
        let (report, derived) = try derivedObjects(forFile: url)
        return try outputs(report, derived: derived)
    }

    /// Analyses a DICOM or PNG file and builds its DICOM objects (for DICOM input), not the
    /// documents (`ImageReport.resultDocument()`, `svg()`).
    public func derivedObjects(forFile url: URL) throws -> (ImageReport, DerivedObjects?) {
        let (report, instance) = try analyzeFile(url)
        return (report, try instance.map { try DerivedObjectsBuilder.build(report, instance: $0, producerVersion: producerVersion) })
    }

    /// Analyses a DICOM or PNG file, told apart by content; the instance comes back for DICOM input.
    public func analyzeFile(_ url: URL) throws -> (ImageReport, DICOMInstance?) {
        let head: Data
        do {
            let h = try FileHandle(forReadingFrom: url)
            defer { try? h.close() }
            head = try h.read(upToCount: 132) ?? Data()
        } catch { throw ReportingError.unreadableInput("\(url.lastPathComponent): \(error.localizedDescription)") }
        switch InputKind.sniff(head) {
        case .png:
            return (try analyzePNG(Data(contentsOf: url), sourceName: url.lastPathComponent), nil)
        case .dicom:
            let instance: DICOMInstance
            do { instance = try DICOMInstance(contentsOf: url, validator: validator) } catch {
                throw ReportingError.unreadableInput("\(url.lastPathComponent): \(error)")
            }
            return (try analyze(instance, sourceName: url.lastPathComponent), instance)
        case nil:
            throw ReportingError.unsupportedInput("\(url.lastPathComponent) is neither a DICOM Part 10 file nor a PNG")
        }
    }

    public func outputs(_ report: ImageReport, derived: DerivedObjects?) throws -> AnalysisOutputs {
        AnalysisOutputs(report: report, resultJSON: try report.resultDocument().encoded(),
                        svg: report.svg(), derived: derived)
    }
}
