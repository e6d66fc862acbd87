import Analysis
import DICOM

/// One part of a frame analysed on its own: a calibrated 2D tissue region of the Sequence of
/// Ultrasound Regions (its field of view, its mm per pixel), or the whole frame when there is
/// none. A dual-view image (two B-mode images side by side) has two, each with its own
/// calibration, and each lesion is measured in the one it was found in.
public struct AnalysisView: Sendable, Equatable {
    /// The region's item number in the Sequence of Ultrasound Regions (1-based); nil for the whole frame.
    public var regionNumber: Int?
    /// nil: the whole frame.
    public var fieldOfView: PixelRect?
    public var spacing: PixelSpacing?
    /// Where the view lies among several, as a reader sees it ("left", "right", "top",
    /// "bottom", or "view 3"); nil when the frame has one view.
    public var position: String?

    public init(regionNumber: Int?, fieldOfView: PixelRect?, spacing: PixelSpacing?, position: String? = nil) {
        self.regionNumber = regionNumber
        self.fieldOfView = fieldOfView
        self.spacing = spacing
        self.position = position
    }

    public static let wholeFrame = AnalysisView(regionNumber: nil, fieldOfView: nil, spacing: nil)

    /// How a report names the view, e.g. "left view, ultrasound region 1"; nil for a frame of one view.
    public var name: String? {
        guard let position else { return nil }
        let place = position.hasPrefix("view") ? position : "\(position) view"
        return regionNumber.map { "\(place), ultrasound region \($0)" } ?? place
    }

    /// Smallest side (pixels) a region needs to be analysed; a smaller one is a header error.
    static let minimumSide = 32
    /// A region lying this much (fraction of its own area) inside a larger one that is analysed
    /// is left to it (a zoom box or a repeated item), so no lesion is reported twice.
    static let maximumOverlap = 0.5

    /// The views of a `width` x `height` frame with these regions: every calibrated 2D tissue
    /// region (clipped to the frame, at least 32 x 32 pixels, not mostly inside a larger one),
    /// in the sequence's order; the whole frame without calibration when there is none.
    public static func views(regions: [UltrasoundRegion], width: Int, height: Int) -> [AnalysisView] {
        var candidates: [(number: Int, rect: PixelRect, spacing: PixelSpacing?)] = []
        for (i, r) in regions.enumerated() where r.isCalibratedTissue {
            let x0 = max(0, r.minX0), y0 = max(0, r.minY0)
            let x1 = min(width - 1, r.maxX1), y1 = min(height - 1, r.maxY1)
            guard x1 - x0 + 1 >= minimumSide, y1 - y0 + 1 >= minimumSide else { continue }
            let rect = PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
            candidates.append((r.itemNumber > 0 ? r.itemNumber : i + 1, rect,
                               r.millimetresPerPixel.map { PixelSpacing(row: $0.y, column: $0.x) }))
        }
        var kept: [(number: Int, rect: PixelRect, spacing: PixelSpacing?)] = []
        for c in candidates.sorted(by: { $0.rect.area != $1.rect.area ? $0.rect.area > $1.rect.area : $0.number < $1.number }) {
            let inside = kept.map { Double(intersection($0.rect, c.rect)) / Double(c.rect.area) }.max() ?? 0
            if inside < maximumOverlap { kept.append(c) }
        }
        kept.sort { $0.number < $1.number }
        guard !kept.isEmpty else { return [.wholeFrame] }
        let positions = Self.positions(kept.map(\.rect))
        return kept.enumerated().map { k, c in
            AnalysisView(regionNumber: c.number, fieldOfView: c.rect, spacing: c.spacing, position: positions[k])
        }
    }

    /// Names for views as a reader sees them: two side by side are "left" and "right", two one
    /// above the other "top" and "bottom"; otherwise "view 1", "view 2"... in sequence order.
    static func positions(_ rects: [PixelRect]) -> [String?] {
        guard rects.count > 1 else { return [nil] }
        if rects.count == 2 {
            let (a, b) = (rects[0], rects[1])
            if a.maxX <= b.x + b.width / 4 || b.maxX <= a.x + a.width / 4 {  // little or no overlap in x
                if abs(a.y - b.y) < max(a.height, b.height) / 2 { return a.x < b.x ? ["left", "right"] : ["right", "left"] }
            }
            if a.maxY <= b.y + b.height / 4 || b.maxY <= a.y + a.height / 4 {
                return a.y < b.y ? ["top", "bottom"] : ["bottom", "top"]
            }
        }
        return rects.indices.map { "view \($0 + 1)" }
    }

    static func intersection(_ a: PixelRect, _ b: PixelRect) -> Int {
        max(0, min(a.maxX, b.maxX) - max(a.x, b.x)) * max(0, min(a.maxY, b.maxY) - max(a.y, b.y))
    }
}
