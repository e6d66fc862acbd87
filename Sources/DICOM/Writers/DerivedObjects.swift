import Foundation

/// What every derived instance says about who made it (General / Enhanced General Equipment).
public struct DerivedEquipment: Sendable {
    public var manufacturer: String
    public var modelName: String
    public var deviceSerialNumber: String
    public var softwareVersions: String
    public init(manufacturer: String = "WeCare", modelName: String = "WeCare AI gateway",
                deviceSerialNumber: String = "1", softwareVersions: String) {
        self.manufacturer = manufacturer
        self.modelName = modelName
        self.deviceSerialNumber = deviceSerialNumber
        self.softwareVersions = softwareVersions
    }
}

/// The algorithm that produced the result (Algorithm Name / Version).
public struct AlgorithmIdentification: Sendable {
    public var name: String
    public var version: String
    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// Series and instance identification of one derived instance (new series in the source study).
public struct DerivedIdentity: Sendable {
    public var seriesInstanceUID: String
    public var sopInstanceUID: String
    public var seriesNumber: Int
    public var instanceNumber: Int
    public var seriesDescription: String
    /// Content Date/Time, written in the local time zone of this process.
    public var contentDateTime: Date

    public init(seriesInstanceUID: String, sopInstanceUID: String, seriesNumber: Int, instanceNumber: Int = 1,
                seriesDescription: String, contentDateTime: Date = Date()) {
        self.seriesInstanceUID = seriesInstanceUID
        self.sopInstanceUID = sopInstanceUID
        self.seriesNumber = seriesNumber
        self.instanceNumber = instanceNumber
        self.seriesDescription = seriesDescription
        self.contentDateTime = contentDateTime
    }

    /// Deterministic UIDs for `kind` derived from the source instance (see `DerivedUID`).
    public init(derivedFrom sourceSOPInstanceUID: String, producerVersion: String, kind: DerivedKind,
                seriesNumber: Int, instanceNumber: Int = 1, seriesDescription: String? = nil,
                contentDateTime: Date = Date()) {
        self.init(seriesInstanceUID: DerivedUID.make(sourceSOPInstanceUID: sourceSOPInstanceUID,
                                                     producerVersion: producerVersion, role: kind.seriesRole),
                  sopInstanceUID: DerivedUID.make(sourceSOPInstanceUID: sourceSOPInstanceUID,
                                                  producerVersion: producerVersion, role: kind.instanceRole),
                  seriesNumber: seriesNumber, instanceNumber: instanceNumber,
                  seriesDescription: seriesDescription ?? kind.defaultSeriesDescription,
                  contentDateTime: contentDateTime)
    }

    /// A DT value (YYYYMMDDHHMMSS) in the local time zone, as Content Date/Time are written.
    func dicomDateTime(_ date: Date) -> String {
        let c = Self.components(date)
        return c.date + c.time
    }

    var dicomDate: String { Self.components(contentDateTime).date }
    var dicomTime: String { Self.components(contentDateTime).time }

    private static func components(_ date: Date) -> (date: String, time: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ v: Int?, _ width: Int) -> String {
            let s = String(v ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return (pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2), pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2))
    }
}

/// The kinds of objects WeCare derives.
public enum DerivedKind: Sendable {
    case segmentation, structuredReport, presentationState
    /// The report that says the AI analysis of the source is unavailable, and why.
    case unavailableReport

    var seriesRole: String {
        switch self {
        case .segmentation: return DerivedUID.Role.segmentationSeries
        case .structuredReport: return DerivedUID.Role.reportSeries
        case .presentationState: return DerivedUID.Role.presentationStateSeries
        case .unavailableReport: return DerivedUID.Role.unavailableReportSeries
        }
    }
    var instanceRole: String {
        switch self {
        case .segmentation: return DerivedUID.Role.segmentationInstance
        case .structuredReport: return DerivedUID.Role.reportInstance
        case .presentationState: return DerivedUID.Role.presentationStateInstance
        case .unavailableReport: return DerivedUID.Role.unavailableReportInstance
        }
    }
    /// Series descriptions say plainly that the content is machine output.
    public var defaultSeriesDescription: String {
        switch self {
        case .segmentation: return "WeCare AI lesion segmentation (not for diagnosis alone)"
        case .structuredReport: return "WeCare AI measurement report (not for diagnosis alone)"
        case .presentationState: return "WeCare AI lesion outline (not for diagnosis alone)"
        case .unavailableReport: return "WeCare AI analysis unavailable"
        }
    }
}

/// A point in image pixel coordinates: x = column, y = row, (0,0) = top-left corner of the
/// first pixel, so the first pixel's centre is (0.5, 0.5) as in DICOM SCOORD and PIXEL units.
public struct PixelPoint: Hashable, Sendable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// Errors of the writers: what is wrong and what to do.
public enum DerivedObjectError: Error, CustomStringConvertible, Sendable {
    /// The request cannot be written as given.
    case invalidRequest(String)
    /// The source instance cannot be used (missing, unreadable, lacking attributes).
    case unusableSource(String)
    /// DCMTK refused to build or write the object.
    case toolkit(String)
    /// No sRGB ICC profile found for a Color Softcopy Presentation State.
    case missingICCProfile(String)

    public var description: String {
        switch self {
        case .invalidRequest(let m): return "derived object request invalid: \(m)"
        case .unusableSource(let m): return "source instance unusable: \(m)"
        case .toolkit(let m): return "DICOM writer failed: \(m)"
        case .missingICCProfile(let m): return "no sRGB ICC profile: \(m)"
        }
    }
}
