/// One item of the Sequence of Ultrasound Regions (0018,6011): where on the image a region
/// lies and how its pixels map to physical units.
public struct UltrasoundRegion: Sendable, Equatable {
    /// Region Spatial Format (0018,6012): 1 = 2D (tissue or colour flow), 2 = M-mode, 3 = spectral, ...
    public var spatialFormat: Int
    /// Region Data Type (0018,6014): 1 = tissue, 2 = colour flow, 3 = PW spectral Doppler, ...
    public var dataType: Int
    /// Region Flags (0018,6016).
    public var flags: UInt32
    /// Region Location Min X0 / Min Y0 / Max X1 / Max Y1 (0018,6018/601A/601C/601E), pixels, inclusive.
    public var minX0: Int, minY0: Int, maxX1: Int, maxY1: Int
    /// Physical Units X/Y Direction (0018,6024/6026): 3 = cm, 4 = seconds, ...; 0 = none.
    public var physicalUnitsX: Int, physicalUnitsY: Int
    /// Physical Delta X/Y (0018,602C/602E): physical size of one pixel in those units.
    public var physicalDeltaX: Double, physicalDeltaY: Double
    /// Which item of the sequence this is, 1-based (how a report names the region); 0 when
    /// made by hand.
    public var itemNumber: Int

    public init(spatialFormat: Int, dataType: Int, flags: UInt32, minX0: Int, minY0: Int, maxX1: Int, maxY1: Int,
                physicalUnitsX: Int, physicalUnitsY: Int, physicalDeltaX: Double, physicalDeltaY: Double, itemNumber: Int = 0) {
        self.spatialFormat = spatialFormat
        self.dataType = dataType
        self.flags = flags
        self.minX0 = minX0
        self.minY0 = minY0
        self.maxX1 = maxX1
        self.maxY1 = maxY1
        self.physicalUnitsX = physicalUnitsX
        self.physicalUnitsY = physicalUnitsY
        self.physicalDeltaX = physicalDeltaX
        self.physicalDeltaY = physicalDeltaY
        self.itemNumber = itemNumber
    }

    static let centimetres = 3

    /// A 2D tissue region calibrated in cm on both axes: the only kind lengths may be measured in.
    public var isCalibratedTissue: Bool {
        spatialFormat == 1 && dataType == 1 && physicalUnitsX == Self.centimetres
            && physicalUnitsY == Self.centimetres && physicalDeltaX != 0 && physicalDeltaY != 0
            && physicalDeltaX.isFinite && physicalDeltaY.isFinite
    }

    /// Millimetres per pixel (|Physical Delta| x 10), or nil when the region is not calibrated
    /// tissue or its calibration is implausible (`calibrationProblem`): no mm value may come from it.
    public var millimetresPerPixel: (x: Double, y: Double)? {
        guard isCalibratedTissue, calibrationProblem == nil else { return nil }
        return (abs(physicalDeltaX) * 10, abs(physicalDeltaY) * 10)
    }

    /// Pixel sizes a breast ultrasound image can have, in mm: real scanners give 0.05 (a small
    /// field of view at high frequency) to 0.6 (deep abdominal settings); the notes' samples are
    /// 0.25 to 0.51. Outside 0.01 ... 2 the header is wrong, and sizes computed from it would be
    /// confidently wrong by that factor.
    public static let plausibleMillimetresPerPixel: ClosedRange<Double> = 0.01...2.0

    /// Why this calibrated tissue region's Physical Delta X/Y cannot be right, nil when it is
    /// plausible or the region is not calibrated tissue at all.
    public var calibrationProblem: String? {
        guard isCalibratedTissue else { return nil }
        let x = abs(physicalDeltaX) * 10, y = abs(physicalDeltaY) * 10
        let range = Self.plausibleMillimetresPerPixel
        guard range.contains(x), range.contains(y) else {
            return "Physical Delta X/Y give \(x) x \(y) mm per pixel, outside the plausible "
                + "\(range.lowerBound) to \(range.upperBound) mm; sizes are reported in pixels"
        }
        return nil
    }

    /// Pixel area of the region's bounds (inclusive).
    public var pixelArea: Int { max(0, maxX1 - minX0 + 1) * max(0, maxY1 - minY0 + 1) }

    /// Whether the pixel position lies within the region's bounds (inclusive, pixel centres).
    public func contains(x: Double, y: Double) -> Bool {
        x >= Double(minX0) && x <= Double(maxX1) && y >= Double(minY0) && y <= Double(maxY1)
    }
}

extension Array where Element == UltrasoundRegion {
    /// The calibrated 2D tissue region containing the point (e.g. a lesion's centroid), the
    /// smallest one when regions overlap; nil when none does (report no mm values then).
    public func calibratedTissueRegion(containing point: (x: Double, y: Double)) -> UltrasoundRegion? {
        filter { $0.isCalibratedTissue && $0.contains(x: point.x, y: point.y) }
            .min { $0.pixelArea < $1.pixelArea }
    }

    /// The largest calibrated 2D tissue region (the B-mode image), for when no position is known.
    public var primaryTissueRegion: UltrasoundRegion? {
        filter(\.isCalibratedTissue).max { $0.pixelArea < $1.pixelArea }
    }
}
