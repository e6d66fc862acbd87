import XCTest
@testable import Analysis

final class PostprocessTests: XCTestCase {
    func testSpecksDroppedHolesFilledLesionsOrdered() throws {
        let w = 80, h = 60
        // Small lesion (disc r=8), big lesion (disc r=14) with a 3x3 hole, 2-pixel speck.
        var values = [Float](repeating: 0.1, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                if Shapes.disc(cx: 15, cy: 15, r: 8)(fx, fy) { values[y * w + x] = 0.9 }
                if Shapes.disc(cx: 50, cy: 35, r: 14)(fx, fy) { values[y * w + x] = 0.7 }
            }
        }
        for y in 34...36 { for x in 49...51 { values[y * w + x] = 0.2 } }
        values[55 * w + 5] = 0.95; values[55 * w + 6] = 0.95
        let pp = MaskPostprocessor(threshold: 0.5, minimumAreaPixels: 10)
        let out = try pp.run(ProbabilityMap(width: w, height: h, values: values))
        XCTAssertEqual(out.lesions.count, 2)
        XCTAssertGreaterThan(out.lesions[0].areaPixels, out.lesions[1].areaPixels)
        XCTAssertEqual(out.labels[35 * w + 50], 1, "the hole in the big lesion is filled and belongs to lesion 1")
        XCTAssertEqual(out.labels[15 * w + 15], 2)
        XCTAssertEqual(out.labels[55 * w + 5], 0, "speck dropped")
        XCTAssertTrue(out.lesions[0].boundingBox.fits(width: w, height: h))
        XCTAssertEqual(out.mask(of: out.lesions[1]).foregroundCount, out.lesions[1].areaPixels)
        XCTAssertEqual(out.mask.foregroundCount, out.lesions[0].areaPixels + out.lesions[1].areaPixels)
    }

    func testBackgroundTouchingTheBorderIsNotAHole() throws {
        // A ring with a slot cut through to the right border region stays open.
        let m = Shapes.mask(20, 20) { x, y in
            let r2 = (x - 10) * (x - 10) + (y - 10) * (y - 10)
            return r2 <= 64 && r2 >= 16 && !(x > 10 && abs(y - 10) < 2)
        }
        let out = MaskPostprocessor().run(m)
        XCTAssertFalse(out.mask[10, 10], "the inside is reachable from outside and must stay background")
        XCTAssertEqual(out.lesions.count, 1)
    }

    func testDiagonalNeighboursAreOneLesionWithEightConnectivity() throws {
        let m = try Mask(width: 4, height: 4, bits: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
        XCTAssertEqual(MaskPostprocessor().run(m).lesions.count, 1)
        XCTAssertEqual(MaskPostprocessor(connectivity: .four).run(m).lesions.count, 3)
    }

    func testMinimumAreaScalesWithResolution() {
        XCTAssertEqual(MaskPostprocessor.scaledMinimumArea(100, width: 512, height: 512), 400)
        XCTAssertEqual(MaskPostprocessor.scaledMinimumArea(100, width: 128, height: 256), 50)
    }

    /// The run-based labelling must give exactly what a plain flood fill gives: same labels in
    /// scan order, same sizes, for both connectivities and both values, on noisy masks.
    func testRunLabellingMatchesFloodFill() {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<40 {
            let (w, h, bits) = noisyMask(maxWidth: 37, maxHeight: 29, density: Double(trial % 5 + 1) / 6, &rng)
            for connectivity in [Connectivity.four, .eight] {
                for value in [UInt8(0), 1] {
                    let (runs, sizes) = componentRuns(bits, width: w, height: h, value: value, connectivity: connectivity)
                    var labels = [Int32](repeating: 0, count: bits.count)
                    paint(runs, into: &labels, width: w) { $0.label }
                    let want = floodFillLabels(bits, width: w, height: h, value: value, eight: connectivity == .eight)
                    XCTAssertEqual(labels, want.labels, "\(w)x\(h) \(connectivity) value \(value)")
                    XCTAssertEqual(sizes, want.sizes)
                }
            }
        }
    }

    /// The run-based postprocessor against the same steps done pixel by pixel with a flood
    /// fill: same mask, same lesion labels, areas and boxes, on noisy masks.
    func testRunBasedPostprocessingMatchesPixelReference() {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<60 {
            let (w, h, bits) = noisyMask(maxWidth: 41, maxHeight: 33, density: Double(trial % 6 + 1) / 7, &rng)
            let minArea = Int.random(in: 0...6, using: &rng)
            for connectivity in [Connectivity.four, .eight] {
                let pp = MaskPostprocessor(minimumAreaPixels: minArea, connectivity: connectivity)
                let got = pp.run(Mask(validated: w, height: h, bits: bits))
                // Reference, pixel by pixel.
                var want = bits
                let eight = connectivity == .eight
                let fg = floodFillLabels(want, width: w, height: h, value: 1, eight: eight)
                for i in want.indices where fg.labels[i] > 0 && fg.sizes[Int(fg.labels[i]) - 1] < minArea { want[i] = 0 }
                let bg = floodFillLabels(want, width: w, height: h, value: 0, eight: !eight)
                var open = Set<Int32>()
                for y in 0..<h { for x in 0..<w where (x == 0 || y == 0 || x == w - 1 || y == h - 1) && bg.labels[y * w + x] > 0 { open.insert(bg.labels[y * w + x]) } }
                for i in want.indices where bg.labels[i] > 0 && !open.contains(bg.labels[i]) { want[i] = 1 }
                let lesions = floodFillLabels(want, width: w, height: h, value: 1, eight: eight)
                XCTAssertEqual(got.mask.bits, want, "\(w)x\(h) \(connectivity) min \(minArea)")
                XCTAssertEqual(got.lesions.map(\.areaPixels), lesions.sizes.sorted(by: >))
                for lesion in got.lesions {
                    let own = got.mask(of: lesion)
                    XCTAssertEqual(own.foregroundCount, lesion.areaPixels)
                    let xs = own.bits.indices.filter { own.bits[$0] != 0 }.map { $0 % w }
                    let ys = own.bits.indices.filter { own.bits[$0] != 0 }.map { $0 / w }
                    XCTAssertEqual(lesion.boundingBox, PixelRect(x: xs.min()!, y: ys.min()!, width: xs.max()! - xs.min()! + 1,
                                                                 height: ys.max()! - ys.min()! + 1))
                    // One reference component, whole.
                    let refLabels = Set(own.bits.indices.filter { own.bits[$0] != 0 }.map { lesions.labels[$0] })
                    XCTAssertEqual(refLabels.count, 1)
                    XCTAssertEqual(got.labels.filter { $0 == Int32(lesion.label) }.count, lesion.areaPixels)
                }
            }
        }
    }

    /// Thresholding while upsampling gives exactly the mask of the upsampled float image.
    func testThresholdedUpsamplingMatchesUpsampledThenThresholded() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let mw = Int.random(in: 1...17, using: &rng), mh = Int.random(in: 1...13, using: &rng)
            // Most of a model's rows are background, wholly below the threshold: so are about
            // half the rows here.
            let background = (0..<mh).map { _ in Bool.random(using: &rng) }
            let map = try ProbabilityMap(width: mw, height: mh, values: (0..<(mw * mh)).map { i in
                background[i / mw] ? Float.random(in: 0...0.1, using: &rng) : Float.random(in: 0...1, using: &rng)
            })
            let cw = Int.random(in: 1...60, using: &rng), ch = Int.random(in: 1...50, using: &rng)
            let fw = Int.random(in: 1...cw, using: &rng), fh = Int.random(in: 1...ch, using: &rng)
            let fov = PixelRect(x: Int.random(in: 0...(cw - fw), using: &rng), y: Int.random(in: 0...(ch - fh), using: &rng),
                                width: fw, height: fh)
            let threshold = Float.random(in: 0.2...0.8, using: &rng)
            let placed = try map.placedBilinear(in: fov, canvasWidth: cw, canvasHeight: ch)
            let got = try map.thresholdedBilinear(in: fov, canvasWidth: cw, canvasHeight: ch, threshold: threshold)
            XCTAssertEqual(got.bits, placed.values.map { $0 >= threshold ? 1 : 0 })
        }
        XCTAssertThrowsError(try ProbabilityMap(width: 2, height: 2, values: [0, 0, 0, 0])
            .thresholdedBilinear(in: PixelRect(x: 3, y: 0, width: 2, height: 2), canvasWidth: 4, canvasHeight: 4, threshold: 0.5))
    }

    /// A mask of random size up to `maxWidth` x `maxHeight`, each pixel foreground with
    /// probability `density`.
    private func noisyMask(maxWidth: Int, maxHeight: Int, density: Double,
                           _ rng: inout SystemRandomNumberGenerator) -> (w: Int, h: Int, bits: [UInt8]) {
        let w = Int.random(in: 1...maxWidth, using: &rng), h = Int.random(in: 1...maxHeight, using: &rng)
        return (w, h, (0..<(w * h)).map { _ in Double.random(in: 0..<1, using: &rng) < density ? UInt8(1) : 0 })
    }

    private func floodFillLabels(_ bits: [UInt8], width: Int, height: Int, value: UInt8,
                                 eight: Bool) -> (labels: [Int32], sizes: [Int]) {
        var labels = [Int32](repeating: 0, count: bits.count)
        var sizes: [Int] = []
        for start in bits.indices where bits[start] == value && labels[start] == 0 {
            let label = Int32(sizes.count + 1)
            labels[start] = label
            var stack = [start], count = 0
            while let p = stack.popLast() {
                count += 1
                let x = p % width, y = p / width
                for dy in -1...1 {
                    for dx in -1...1 where (dx != 0 || dy != 0) && (eight || dx == 0 || dy == 0) {
                        let nx = x + dx, ny = y + dy
                        guard nx >= 0, nx < width, ny >= 0, ny < height else { continue }
                        let q = ny * width + nx
                        if bits[q] == value && labels[q] == 0 { labels[q] = label; stack.append(q) }
                    }
                }
            }
            sizes.append(count)
        }
        return (labels, sizes)
    }
}
