import Foundation
import Analysis

/// Synthetic masks: a pixel is set when its centre satisfies the predicate.
enum Shapes {
    static func mask(_ w: Int, _ h: Int, _ inside: (Double, Double) -> Bool) -> Mask {
        var bits = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w where inside(Double(x) + 0.5, Double(y) + 0.5) { bits[y * w + x] = 1 } }
        return try! Mask(width: w, height: h, bits: bits)
    }

    static func ellipse(cx: Double, cy: Double, rx: Double, ry: Double, angle: Double = 0) -> (Double, Double) -> Bool {
        let c = cos(angle), s = sin(angle)
        return { x, y in
            let dx = x - cx, dy = y - cy
            let u = (c * dx + s * dy) / rx, v = (-s * dx + c * dy) / ry
            return u * u + v * v <= 1
        }
    }

    static func disc(cx: Double, cy: Double, r: Double) -> (Double, Double) -> Bool {
        ellipse(cx: cx, cy: cy, rx: r, ry: r)
    }
}
