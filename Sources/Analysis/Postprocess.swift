/// From probabilities to lesion masks: threshold, drop specks, fill holes, label lesions.
///
/// Lesions are 8-connected foreground components (pixels touching at a corner belong to
/// the same lesion); holes are therefore 4-connected background components that do not
/// touch the image border. `PotraceTracer`'s default turn policy (`.black`) traces the
/// same topology, so one lesion gives exactly one outer path.
public struct MaskPostprocessor: Sendable {
    /// Probability at or above which a pixel is lesion (from the model card).
    public var threshold: Float
    /// Components smaller than this (in pixels of the mask being processed) are dropped;
    /// use `scaledMinimumArea` to carry a model-resolution figure to source resolution.
    public var minimumAreaPixels: Int
    public var connectivity: Connectivity
    public var fillHoles: Bool

    public init(threshold: Float = 0.5, minimumAreaPixels: Int = 0,
                connectivity: Connectivity = .eight, fillHoles: Bool = true) {
        self.threshold = threshold; self.minimumAreaPixels = minimumAreaPixels
        self.connectivity = connectivity; self.fillHoles = fillHoles
    }

    /// An area of `pixels` at `modelWidth` x `modelHeight`, expressed at `width` x `height`.
    public static func scaledMinimumArea(_ pixels: Int, modelWidth: Int = 256, modelHeight: Int = 256,
                                         width: Int, height: Int) -> Int {
        let ratio = Double(width * height) / Double(max(1, modelWidth * modelHeight))
        return Int((Double(pixels) * ratio).rounded())
    }

    public func run(_ map: ProbabilityMap) -> LesionMasks {
        let bits = map.values.map { $0 >= threshold ? UInt8(1) : 0 }
        return run(Mask(validated: map.width, height: map.height, bits: bits))
    }

    /// The same as `run(map.placedBilinear(in: fov, ...))`, without the source-sized float
    /// canvas: the upsampled probabilities are thresholded as they are computed.
    public func run(_ map: ProbabilityMap, placedIn fov: PixelRect, canvasWidth: Int, canvasHeight: Int) throws -> LesionMasks {
        try run(map.thresholdedBilinear(in: fov, canvasWidth: canvasWidth, canvasHeight: canvasHeight, threshold: threshold))
    }

    /// Works on runs of equal pixels (`componentRuns`), so each step costs the number of
    /// runs, not of pixels.
    public func run(_ mask: Mask) -> LesionMasks {
        let w = mask.width, h = mask.height
        var bits = mask.bits
        // 1. Drop specks.
        if minimumAreaPixels > 0 {
            let (runs, sizes) = componentRuns(bits, width: w, height: h, value: 1, connectivity: connectivity)
            paint(runs, into: &bits, width: w) { sizes[Int($0.label) - 1] < minimumAreaPixels ? 0 : nil }
        }
        // 2. Fill holes: background components not touching the border.
        if fillHoles {
            let (runs, sizes) = componentRuns(bits, width: w, height: h, value: 0, connectivity: connectivity.complement)
            var touches = [Bool](repeating: false, count: sizes.count)
            for run in runs where run.row == 0 || Int(run.row) == h - 1 || run.start == 0 || Int(run.end) == w - 1 {
                touches[Int(run.label) - 1] = true
            }
            paint(runs, into: &bits, width: w) { touches[Int($0.label) - 1] ? nil : 1 }
        }
        // 3. Label what is left, largest first (ties: earlier in scan order first).
        var (runs, sizes) = componentRuns(bits, width: w, height: h, value: 1, connectivity: connectivity)
        let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        var rank = [Int32](repeating: 0, count: sizes.count + 1)
        for (r, old) in order.enumerated() { rank[old + 1] = Int32(r + 1) }
        var boxes = [(x0: Int32, y0: Int32, x1: Int32, y1: Int32)](repeating: (.max, .max, -1, -1), count: sizes.count)
        for i in runs.indices {
            let r = rank[Int(runs[i].label)]
            runs[i].label = r
            let run = runs[i], k = Int(r) - 1
            boxes[k] = (min(boxes[k].x0, run.start), min(boxes[k].y0, run.row), max(boxes[k].x1, run.end), max(boxes[k].y1, run.row))
        }
        let lesions = order.enumerated().map { r, old in
            let b = boxes[r]
            return LesionMasks.Lesion(label: r + 1, areaPixels: sizes[old],
                                      boundingBox: PixelRect(x: Int(b.x0), y: Int(b.y0), width: Int(b.x1 - b.x0) + 1,
                                                             height: Int(b.y1 - b.y0) + 1))
        }
        return LesionMasks(mask: Mask(validated: w, height: h, bits: bits), runs: runs, lesions: lesions)
    }
}

/// The postprocessed mask and its lesions, largest first.
public struct LesionMasks: Sendable {
    public struct Lesion: Sendable, Equatable {
        /// 1-based, 1 = largest.
        public let label: Int
        public let areaPixels: Int
        /// Tight box around the lesion's pixels.
        public let boundingBox: PixelRect
    }

    /// Union of all lesions.
    public let mask: Mask
    /// The lesions' runs, labelled with their lesion's label.
    let runs: [PixelRun]
    public let lesions: [Lesion]

    /// Per-pixel lesion label (0 = background).
    public var labels: [Int32] {
        var out = [Int32](repeating: 0, count: mask.bits.count)
        paint(runs, into: &out, width: mask.width) { $0.label }
        return out
    }

    /// The mask of one lesion alone, full image size.
    public func mask(of lesion: Lesion) -> Mask {
        let l = Int32(lesion.label)
        var bits = [UInt8](repeating: 0, count: mask.bits.count)
        paint(runs, into: &bits, width: mask.width) { $0.label == l ? 1 : nil }
        return Mask(validated: mask.width, height: mask.height, bits: bits)
    }
}
