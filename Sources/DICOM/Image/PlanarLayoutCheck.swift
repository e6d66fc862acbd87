/// Whether 8-bit three-sample pixel data is laid out as its Planar Configuration (0028,0006)
/// says. A modality that writes interleaved samples (RGBRGB...) but declares planes (or the
/// reverse) makes every pixel's three samples come from three different places of the image:
/// the frame still decodes, into a tiled, stretched picture the model calls "normal".
///
/// Ultrasound stored as RGB is grey nearly everywhere (colour only in Doppler boxes and
/// annotations): read in the right layout a pixel's three samples are (nearly) equal; read in
/// the wrong one they come from three places of the image and differ. So the rule is: the
/// samples disagree under the declared layout and agree almost exactly under the other. A
/// colourful image is never refused, because its samples do not agree under either layout,
/// except smooth ones, where the other layout's samples differ by the step between neighbours;
/// hence "almost exactly" is strict.
public enum PlanarLayoutCheck {
    /// Mean difference (grey levels) between a pixel's samples under the other layout at most.
    static let agreeing = 1.0
    /// ... and under the declared layout at least.
    static let disagreeing = 8.0

    /// True when `stored` (one frame, `pixels` pixels of 3 samples) reads much better in the
    /// other layout than in the declared one.
    public static func declaredLayoutIsWrong(_ stored: [UInt8], pixels: Int, declaredPlanar: Bool) -> Bool {
        guard pixels > 0, stored.count >= 3 * pixels else { return false }
        let step = max(1, pixels / 20_000)
        func disagreement(planar: Bool) -> Double {
            var total = 0, n = 0
            var i = 0
            while i < pixels {
                let (r, g, b): (Int, Int, Int) = planar
                    ? (Int(stored[i]), Int(stored[pixels + i]), Int(stored[2 * pixels + i]))
                    : (Int(stored[3 * i]), Int(stored[3 * i + 1]), Int(stored[3 * i + 2]))
                total += abs(r - g) + abs(g - b)
                n += 1
                i += step
            }
            return Double(total) / Double(max(1, 2 * n))
        }
        let declared = disagreement(planar: declaredPlanar)
        let other = disagreement(planar: !declaredPlanar)
        return declared >= disagreeing && other <= agreeing
    }
}
