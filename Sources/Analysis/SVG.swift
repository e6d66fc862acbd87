/// SVG rendering of traced lesions: one `<path>` per lesion (outer + holes as subpaths,
/// fill-rule evenodd), `viewBox="0 0 W H"` in source pixels, absolute "M L C Z" data.
public struct SVGRenderer: Sendable {
    /// Decimal places kept (0.01 px by default); trailing zeros are dropped.
    public var fractionDigits: Int
    public init(fractionDigits: Int = 2) { self.fractionDigits = max(0, min(6, fractionDigits)) }

    /// Path data ("d" attribute) for one lesion.
    public func pathData(_ component: TracedComponent) -> String {
        var out = ""
        out.reserveCapacity(component.segmentCount * 24)
        for path in component.paths {
            if !out.isEmpty { out += " " }
            out += "M"; append(path.start, to: &out)
            var last: Character = "M"
            for s in path.segments {
                switch s {
                case let .line(p):
                    if last != "L" { out += "L"; last = "L" } else { out += " " }
                    append(p, to: &out)
                case let .cubic(a, b, p):
                    if last != "C" { out += "C"; last = "C" } else { out += " " }
                    append(a, to: &out); out += " "; append(b, to: &out); out += " "; append(p, to: &out)
                }
            }
            out += "Z"
        }
        return out
    }

    /// A complete SVG document for a `width` x `height` source image. `attributes` is
    /// added to each `<path>` (default: semi-transparent fill, outlined).
    public func document(_ components: [TracedComponent], width: Int, height: Int,
                         attributes: String = ##"fill="#ff0000" fill-opacity="0.25" stroke="#ff0000" stroke-width="1""##) -> String {
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" viewBox="0 0 \#(width) \#(height)">"#
        for (i, c) in components.enumerated() {
            out += "\n" + #"<path id="lesion-\#(i + 1)" fill-rule="evenodd" \#(attributes) d="\#(pathData(c))"/>"#
        }
        return out + "\n</svg>\n"
    }

    func append(_ p: Point2, to out: inout String) {
        out += format(p.x); out += ","; out += format(p.y)
    }

    /// Compact fixed-point: at most `fractionDigits` decimals, no trailing zeros, no "-0".
    public func format(_ v: Double) -> String {
        var scale = 1.0
        for _ in 0..<fractionDigits { scale *= 10 }
        let scaled = (v * scale).rounded()
        guard scaled.isFinite, abs(scaled) < 9e15 else { return "0" }
        var n = Int(scaled)
        if n == 0 { return "0" }
        let negative = n < 0
        n = abs(n)
        let unit = Int(scale)
        var whole = String(n / unit)
        var frac = n % unit
        if frac != 0 {
            var digits = fractionDigits
            while frac % 10 == 0 { frac /= 10; digits -= 1 }
            let f = String(frac)
            whole += "." + String(repeating: "0", count: digits - f.count) + f
        }
        return negative ? "-" + whole : whole
    }
}
