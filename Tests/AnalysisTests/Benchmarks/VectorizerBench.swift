// Vectorizer benchmark entry point (not part of the test target). vectorizer_bench.py
// compiles it together with Sources/Analysis/*.swift into one optimized binary:
//   swiftc -Ounchecked -wmo -module-name Analysis Sources/Analysis/**/*.swift <this file>
// Usage: vbench DIR REPS. DIR holds list.txt (one name a line), NAME.pbm (P4 masks)
// and NAME.potrace.json (potracelib's paths and timing); prints one JSON object a mask.
import Foundation

struct PotraceFile: Decodable {
    struct Path: Decodable { let start: [Double]; let segs: [[Double]] }
    struct Component: Decodable { let outer: Path; let holes: [Path] }
    let time_ms: Double
    let components: [Component]
}

func readPBM(_ url: URL) throws -> Mask {
    let data = try Data(contentsOf: url)
    var tokens: [Int] = [], i = 2
    while tokens.count < 2 {
        while i < data.count, data[i] == 0x23 || data[i] <= 0x20 {
            if data[i] == 0x23 { while i < data.count, data[i] != 0x0A { i += 1 } }
            i += 1
        }
        var v = 0
        while i < data.count, data[i] >= 0x30, data[i] <= 0x39 { v = v * 10 + Int(data[i] - 0x30); i += 1 }
        tokens.append(v)
    }
    i += 1  // single whitespace before the raster
    let w = tokens[0], h = tokens[1], rowBytes = (w + 7) / 8
    var bits = [UInt8](repeating: 0, count: w * h)
    for y in 0..<h {
        for x in 0..<w where data[i + y * rowBytes + x / 8] & (0x80 >> UInt8(x % 8)) != 0 { bits[y * w + x] = 1 }
    }
    return try Mask(width: w, height: h, bits: bits)
}

func component(_ c: PotraceFile.Component) -> TracedComponent {
    func path(_ p: PotraceFile.Path, hole: Bool) -> ClosedPath {
        ClosedPath(start: Point2(p.start[0], p.start[1]), segments: p.segs.map { s in
            s.count == 2 ? .line(to: Point2(s[0], s[1]))
                         : .cubic(c1: Point2(s[0], s[1]), c2: Point2(s[2], s[3]), to: Point2(s[4], s[5]))
        }, isHole: hole)
    }
    return TracedComponent(outer: path(c.outer, hole: false), holes: c.holes.map { path($0, hole: true) })
}

func quality(_ q: TracingQuality, timeMS: Double) -> [String: Any] {
    ["time_ms": timeMS, "iou": q.iou, "mean_be": q.meanBoundaryError, "max_be": q.maxBoundaryError,
     "outers": q.outerCount, "holes": q.holeCount, "segments": q.segmentCount]
}

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write("usage: vbench DIR [REPS]\n".data(using: .utf8)!)
    exit(2)
}
let dir = URL(fileURLWithPath: args[1])
let reps = args.count > 2 ? Int(args[2]) ?? 20 : 20
let names = try String(contentsOf: dir.appendingPathComponent("list.txt"), encoding: .utf8)
    .split(separator: "\n").map(String.init)
let tracer = PotraceTracer()
let clock = ContinuousClock()
for name in names {
    let mask = try readPBM(dir.appendingPathComponent(name + ".pbm"))
    var times: [Double] = []
    var traced: [TracedComponent] = []
    for _ in 0..<reps {
        let d = try clock.measure { traced = try tracer.trace(mask) }
        times.append(Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1e3)
    }
    times.sort()
    let ours = try TracingQuality.evaluate(traced, against: mask)
    let pf = try JSONDecoder().decode(PotraceFile.self, from: Data(contentsOf: dir.appendingPathComponent(name + ".potrace.json")))
    let theirs = try TracingQuality.evaluate(pf.components.map(component), against: mask)
    let row: [String: Any] = ["name": name, "width": mask.width, "height": mask.height,
                              "ours": quality(ours, timeMS: times[times.count / 2]),
                              "potrace": quality(theirs, timeMS: pf.time_ms)]
    let json = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}
