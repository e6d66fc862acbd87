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

    public func run(_ map: ProbabilityMap) throws -> LesionMasks {
        let bits = map.values.map { $0 >= threshold ? UInt8(1) : 0 }
        return try run(Mask(width: map.width, height: map.height, bits: bits))
    }

    public func run(_ mask: Mask) throws -> LesionMasks {
        let w = mask.width, h = mask.height
        var bits = mask.bits
        // 1. Drop specks.
        if minimumAreaPixels > 0 {
            let (labels, sizes) = labelComponents(bits, width: w, height: h, value: 1, connectivity: connectivity)
            for i in 0..<bits.count where labels[i] > 0 && sizes[Int(labels[i]) - 1] < minimumAreaPixels { bits[i] = 0 }
        }
        // 2. Fill holes: background components not touching the border.
        if fillHoles {
            let (labels, sizes) = labelComponents(bits, width: w, height: h, value: 0, connectivity: connectivity.complement)
            var touches = [Bool](repeating: false, count: sizes.count)
            for x in 0..<w {
                for y in [0, h - 1] where labels[y * w + x] > 0 { touches[Int(labels[y * w + x]) - 1] = true }
            }
            for y in 0..<h {
                for x in [0, w - 1] where labels[y * w + x] > 0 { touches[Int(labels[y * w + x]) - 1] = true }
            }
            for i in 0..<bits.count where labels[i] > 0 && !touches[Int(labels[i]) - 1] { bits[i] = 1 }
        }
        // 3. Label what is left, largest first (ties: earlier in scan order first).
        let (labels, sizes) = labelComponents(bits, width: w, height: h, value: 1, connectivity: connectivity)
        let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        var rank = [Int32](repeating: 0, count: sizes.count + 1)
        for (r, old) in order.enumerated() { rank[old + 1] = Int32(r + 1) }
        var boxes = [(x0: Int, y0: Int, x1: Int, y1: Int)](repeating: (Int.max, Int.max, -1, -1), count: sizes.count)
        var relabelled = [Int32](repeating: 0, count: labels.count)
        for y in 0..<h {
            for x in 0..<w {
                let l = labels[y * w + x]
                if l == 0 { continue }
                let r = rank[Int(l)]
                relabelled[y * w + x] = r
                let i = Int(r) - 1
                boxes[i] = (min(boxes[i].x0, x), min(boxes[i].y0, y), max(boxes[i].x1, x), max(boxes[i].y1, y))
            }
        }
        let lesions = order.enumerated().map { r, old in
            let b = boxes[r]
            return LesionMasks.Lesion(label: r + 1, areaPixels: sizes[old],
                                      boundingBox: PixelRect(x: b.x0, y: b.y0, width: b.x1 - b.x0 + 1, height: b.y1 - b.y0 + 1))
        }
        return LesionMasks(mask: try Mask(width: w, height: h, bits: bits), labels: relabelled, lesions: lesions)
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
    /// Per-pixel lesion label (0 = background).
    public let labels: [Int32]
    public let lesions: [Lesion]

    /// The mask of one lesion alone, full image size.
    public func mask(of lesion: Lesion) -> Mask {
        let l = Int32(lesion.label)
        return Mask(validated: mask.width, height: mask.height, bits: labels.map { $0 == l ? 1 : 0 })
    }
}
