import Analysis
import DICOM
import Foundation
import Gateway

/// What a radiologist signs: the contours (edited or the AI's as they were), the class and a comment.
struct Signing: Sendable {
    var contours: [Contour]
    /// normal / benign / malignant.
    var label: String
    var comment: String
    var radiologist: String
    var revision: Int
    var organization: String
    var at: Date
    /// The AI's contours and class, to tell "accepted" from "corrected".
    var accepted: Bool
}

/// One contour measured at source resolution.
struct MeasuredContour {
    var contour: Contour
    var measurement: LesionMeasurement
    var spacing: PixelSpacing?
    var areaPixels: Int
}

/// Makes a signed revision's objects: a revised SEG (its own series, Content Creator = the
/// radiologist, SEMIAUTOMATIC), a TID 1500 SR that is VERIFIED by the radiologist, COMPLETE, and
/// names the AI's SR as its predecessor, a presentation state with the signed outlines, and a
/// revised result.json and SVG. New objects only: the AI's stay as they were. UIDs come from the
/// source, the producer (model) version and the revision number, so a resend replaces.
enum Signer {
    static let segSeriesNumber = 9911, srSeriesNumber = 9912, prSeriesNumber = 9913

    static func prefix(_ revision: Int) -> String { "r\(revision)-" }

    static func uid(_ source: String, _ producer: String, _ role: String, _ revision: Int) -> String {
        DerivedUID.make(sourceSOPInstanceUID: source, producerVersion: producer, role: "\(role).r\(revision)")
    }

    /// The spacing a contour is measured with: that of the view (ultrasound region) holding its
    /// centre in the AI's result, else the image's reported one; nil: pixels only.
    static func spacing(for contour: Contour, in doc: [String: Any]) -> PixelSpacing? {
        let pts = contour.normalised
        let cx = pts.map(\.x).reduce(0, +) / Double(max(1, pts.count)), cy = pts.map(\.y).reduce(0, +) / Double(max(1, pts.count))
        func spacing(_ v: Any?) -> PixelSpacing? {
            guard let a = v as? [Any], a.count == 2, let x = number(a[0]), let y = number(a[1]) else { return nil }
            return PixelSpacing(row: y, column: x)
        }
        for view in doc["views"] as? [[String: Any]] ?? [] {
            guard let fov = view["field_of_view"] as? [String: Any], let x = number(fov["x"]), let y = number(fov["y"]),
                  let w = number(fov["width"]), let h = number(fov["height"]) else { continue }
            if cx >= x && cx <= x + w && cy >= y && cy <= y + h { return spacing(view["mm_per_pixel"]) }
        }
        return spacing(doc["mm_per_pixel"])
    }

    static func measure(_ contours: [Contour], doc: [String: Any], width: Int, height: Int) throws -> [MeasuredContour] {
        try contours.map { c in
            let mask = try ContourGeometry.mask([c], width: width, height: height)
            let s = spacing(for: c, in: doc)
            return MeasuredContour(contour: c, measurement: ContourGeometry.measure(c, spacing: s), spacing: s,
                                   areaPixels: mask.bits.reduce(0) { $0 + Int($1) })
        }
    }

    /// JSON of one measured lesion, as result.json writes lesions.
    static func lesionJSON(_ m: MeasuredContour) -> [String: Any] {
        func r2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
        let pts = m.contour.normalised
        let xs = pts.map(\.x), ys = pts.map(\.y)
        let x0 = Int((xs.min() ?? 0).rounded(.down)), y0 = Int((ys.min() ?? 0).rounded(.down))
        return [
            "area_px": m.areaPixels,
            "area_mm2": m.measurement.areaMM2.map(r2) as Any? ?? NSNull(),
            "long_axis_mm": m.measurement.longAxis.lengthMM.map(r2) as Any? ?? NSNull(),
            "short_axis_mm": m.measurement.shortAxis.lengthMM.map(r2) as Any? ?? NSNull(),
            "long_axis_px": r2(m.measurement.longAxis.lengthPixels),
            "short_axis_px": r2(m.measurement.shortAxis.lengthPixels),
            "bounding_box": ["x": x0, "y": y0, "width": Int((xs.max() ?? 0).rounded(.up)) - x0,
                             "height": Int((ys.max() ?? 0).rounded(.up)) - y0],
            "svg_path": ContourGeometry.svgPath(m.contour),
            "points": m.contour.normalised.map { [$0.x, $0.y] },
            "mm_per_pixel": m.spacing.map { [$0.column, $0.row] } as Any? ?? NSNull(),
        ]
    }

    static func sizeText(_ m: LesionMeasurement) -> String {
        if let a = m.longAxis.lengthMM, let b = m.shortAxis.lengthMM { return String(format: "%.1f x %.1f mm", a, b) }
        return String(format: "%.0f x %.0f px", m.longAxis.lengthPixels, m.shortAxis.lengthPixels)
    }

    /// Every object of the revision, ready for the outbox (file names start with "r<revision>-").
    static func objects(_ s: Signing, item: ReviewItem, instance: DICOMInstance) throws -> [ProducedObject] {
        let doc = (try? JSONSerialization.jsonObject(with: item.result)) as? [String: Any] ?? [:]
        let source = instance.sopInstanceUID
        let producer = item.producerVersion
        let n = s.revision
        let width = instance.columns, height = instance.rows
        let frame = number(doc["frame"]).map { Int($0) } ?? 1
        let multiFrame = instance.numberOfFrames > 1
        let model = doc["model"] as? [String: Any]
        let algorithm = AlgorithmIdentification(name: model?["name"] as? String ?? "WeCare AI",
                                                version: model?["version"] as? String ?? producer)
        let equipment = DerivedEquipment(softwareVersions: producer)
        let measured = try measure(s.contours, doc: doc, width: width, height: height)
        let p = prefix(n)
        var out: [ProducedObject] = []

        // SEG: the union of the signed contours at source resolution.
        var segReference: StructuredReportWriter.SegmentationReference?
        if !measured.isEmpty {
            let mask = try ContourGeometry.mask(s.contours, width: width, height: height)
            let identity = DerivedIdentity(seriesInstanceUID: uid(source, producer, DerivedUID.Role.segmentationSeries, n),
                                           sopInstanceUID: uid(source, producer, DerivedUID.Role.segmentationInstance, n),
                                           seriesNumber: segSeriesNumber,
                                           seriesDescription: "WeCare lesion segmentation, signed (revision \(n))",
                                           contentDateTime: s.at)
            var request = SegmentationWriter.Request(source: instance, identity: identity, equipment: equipment, algorithm: algorithm,
                                                     frames: [.init(mask: mask.bits, sourceFrameNumber: multiFrame ? frame : nil)])
            request.contentCreator = s.radiologist
            request.algorithmType = "SEMIAUTOMATIC"
            request.contentLabel = "WECARE_SIGNED"
            request.contentDescription = "Breast lesion segmentation reviewed and signed"
            out.append(ProducedObject(kind: .seg, fileName: p + "seg.dcm", data: try SegmentationWriter.write(request),
                                      sopInstanceUID: identity.sopInstanceUID))
            segReference = .init(seriesInstanceUID: identity.seriesInstanceUID, sopInstanceUID: identity.sopInstanceUID)
        }

        // SR: the signed class with the AI's probabilities, the re-measured lesions, verified.
        var probabilities: [StructuredReportWriter.ImageClass: Double] = [:]
        for (k, v) in doc["probabilities"] as? [String: Any] ?? [:] {
            if let c = StructuredReportWriter.ImageClass(rawValue: k), let p = number(v) { probabilities[c] = p }
        }
        let classification = StructuredReportWriter.Classification(
            predicted: StructuredReportWriter.ImageClass(rawValue: s.label) ?? .normal, probabilities: probabilities)
        let lesions = measured.enumerated().map { i, m -> StructuredReportWriter.Lesion in
            let size: StructuredReportWriter.LesionSize
            if let a = m.measurement.areaMM2, let l = m.measurement.longAxis.lengthMM, let sh = m.measurement.shortAxis.lengthMM {
                size = .millimetres(area: a, longAxis: l, shortAxis: sh)
            } else {
                size = .pixels(area: Double(m.areaPixels), longAxis: m.measurement.longAxis.lengthPixels,
                               shortAxis: m.measurement.shortAxis.lengthPixels)
            }
            return .init(trackingIdentifier: "Lesion \(i + 1)", size: size,
                         contour: m.contour.normalised.map { PixelPoint(x: $0.x, y: $0.y) },
                         segmentationFrameNumber: segReference == nil ? nil : 1)
        }
        let srIdentity = DerivedIdentity(seriesInstanceUID: uid(source, producer, DerivedUID.Role.reportSeries, n),
                                         sopInstanceUID: uid(source, producer, DerivedUID.Role.reportInstance, n),
                                         seriesNumber: srSeriesNumber,
                                         seriesDescription: "WeCare measurement report, verified (revision \(n))",
                                         contentDateTime: s.at)
        var sr = StructuredReportWriter.Request(source: instance, sourceFrameNumber: multiFrame ? frame : nil, identity: srIdentity,
                                                equipment: equipment, algorithm: algorithm, classification: classification,
                                                lesions: lesions, segmentation: segReference)
        sr.verification = .init(observerName: s.radiologist, organization: s.organization, dateTime: s.at)
        // The AI's SR, and the signed revision this one replaces (its UIDs follow from its number).
        if let ai = item.aiReportUID, let series = item.aiReportSeriesUID {
            sr.predecessors = [.init(seriesInstanceUID: series, sopInstanceUID: ai)]
        }
        if n > 1 {
            sr.predecessors.append(.init(seriesInstanceUID: uid(source, producer, DerivedUID.Role.reportSeries, n - 1),
                                         sopInstanceUID: uid(source, producer, DerivedUID.Role.reportInstance, n - 1)))
        }
        out.append(ProducedObject(kind: .sr, fileName: p + "sr.dcm", data: try StructuredReportWriter.write(sr),
                                  sopInstanceUID: srIdentity.sopInstanceUID))

        // PR: the signed outlines with the signed class and size.
        if !measured.isEmpty {
            let identity = DerivedIdentity(seriesInstanceUID: uid(source, producer, DerivedUID.Role.presentationStateSeries, n),
                                           sopInstanceUID: uid(source, producer, DerivedUID.Role.presentationStateInstance, n),
                                           seriesNumber: prSeriesNumber,
                                           seriesDescription: "WeCare lesion outline, signed (revision \(n))",
                                           contentDateTime: s.at)
            let annotations = measured.map { m in
                PresentationStateWriter.Annotation(contour: m.contour.normalised.map { PixelPoint(x: $0.x, y: $0.y) },
                                                   text: "Signed \(s.radiologist): \(s.label), \(sizeText(m.measurement))")
            }
            var request = PresentationStateWriter.Request(source: instance, sourceFrameNumber: multiFrame ? frame : nil,
                                                          identity: identity, equipment: equipment, annotations: annotations)
            request.contentCreator = s.radiologist
            request.contentLabel = "WECARE_SIGNED"
            request.contentDescription = "Signed lesion outline"
            request.layerName = "WECARE_SIGNED"
            out.append(ProducedObject(kind: .pr, fileName: p + "pr.dcm", data: try PresentationStateWriter.write(request),
                                      sopInstanceUID: identity.sopInstanceUID))
        }

        // result.json and SVG: the AI's document with the signed class and lesions, and who signed.
        var revised = doc
        revised["label"] = s.label
        revised["lesions"] = measured.map(lesionJSON)
        revised["review"] = [
            "revision": n, "signed_by": s.radiologist, "signed_at": ISO8601DateFormatter().string(from: s.at),
            "outcome": s.accepted ? "accepted" : "corrected", "comment": s.comment, "ai_label": doc["label"] ?? NSNull(),
            "predecessor_sr_uid": item.aiReportUID ?? NSNull(), "sr_uid": srIdentity.sopInstanceUID,
        ] as [String: Any]
        out.append(ProducedObject(kind: .json, fileName: p + "result.json",
                                  data: try JSONSerialization.data(withJSONObject: revised, options: [.prettyPrinted, .sortedKeys])))
        out.append(ProducedObject(kind: .svg, fileName: p + "lesion.svg",
                                  data: Data(ContourGeometry.svgDocument(s.contours, width: width, height: height).utf8)))
        return out
    }
}

/// A JSON number as JSONSerialization hands it over (NSNumber, Int or Double).
func number(_ v: Any?) -> Double? {
    switch v {
    case let d as Double: return d
    case let i as Int: return Double(i)
    case let n as NSNumber: return n.doubleValue
    default: return nil
    }
}
