// Vectorizer benchmark entry point (not part of the test target). vectorizer_bench.py
// compiles it together with Sources/Analysis/*.swift into one optimized binary:
//   swiftc -Ounchecked -wmo -module-name Analysis Sources/Analysis/**/*.swift <this file>
// Usage: vbench DIR REPS. DIR holds list.txt (one name a line), NAME.pbm (P4 masks)
// and NAME.potrace.json (potracelib's paths, and its time as measured by the script);
// prints one JSON object a mask. Both tracers are timed here, in turn, when
// libpotrace.so.0 loads (the script's timing is the fallback).
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
/// potracelib (libpotrace0) through dlopen, so both tracers are timed in this process,
/// rep by rep in turn, under the same machine load. Layouts from potracelib.h (API 1.16):
/// potrace_param_s { int turdsize, turnpolicy; double alphamax; int opticurve; double
/// opttolerance; ... } and potrace_bitmap_s { int w, h, dy; potrace_word *map; }.
struct PotraceLib {
    typealias ParamDefault = @convention(c) () -> UnsafeMutableRawPointer?
    typealias Trace = @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> UnsafeMutableRawPointer?
    typealias Free = @convention(c) (UnsafeMutableRawPointer) -> Void
    let trace: Trace, stateFree: Free, param: UnsafeMutableRawPointer

    init?() {
        guard let h = dlopen("libpotrace.so.0", RTLD_NOW),
              let d = dlsym(h, "potrace_param_default"), let t = dlsym(h, "potrace_trace"),
              let f = dlsym(h, "potrace_state_free"),
              let param = unsafeBitCast(d, to: ParamDefault.self)() else { return nil }
        // Same settings as vectorizer_bench.py: turdsize 0, BLACK, alphamax 1, opticurve, 0.2.
        param.storeBytes(of: Int32(0), toByteOffset: 0, as: Int32.self)
        param.storeBytes(of: Int32(0), toByteOffset: 4, as: Int32.self)
        param.storeBytes(of: 1.0, toByteOffset: 8, as: Double.self)
        param.storeBytes(of: Int32(1), toByteOffset: 16, as: Int32.self)
        param.storeBytes(of: 0.2, toByteOffset: 24, as: Double.self)
        trace = unsafeBitCast(t, to: Trace.self); stateFree = unsafeBitCast(f, to: Free.self); self.param = param
    }

    /// potrace's bitmap: rows bottom-up, 64-bit words, leftmost pixel in the top bit.
    static func words(_ m: Mask) -> (dy: Int, map: [UInt64]) {
        let dy = (m.width + 63) / 64
        var map = [UInt64](repeating: 0, count: dy * m.height)
        for y in 0..<m.height {
            let row = (m.height - 1 - y) * dy
            for x in 0..<m.width where m.bits[y * m.width + x] != 0 { map[row + x / 64] |= 1 << UInt64(63 - x % 64) }
        }
        return (dy, map)
    }

    /// Milliseconds for one potrace_trace of the bitmap.
    func time(_ m: Mask, _ words: inout (dy: Int, map: [UInt64]), clock: ContinuousClock) -> Double {
        words.map.withUnsafeMutableBufferPointer { map in
            let bitmap = UnsafeMutableRawPointer.allocate(byteCount: 24, alignment: 8)
            defer { bitmap.deallocate() }
            bitmap.storeBytes(of: Int32(m.width), toByteOffset: 0, as: Int32.self)
            bitmap.storeBytes(of: Int32(m.height), toByteOffset: 4, as: Int32.self)
            bitmap.storeBytes(of: Int32(words.dy), toByteOffset: 8, as: Int32.self)
            bitmap.storeBytes(of: UnsafeMutableRawPointer(map.baseAddress!), toByteOffset: 16, as: UnsafeMutableRawPointer.self)
            var state: UnsafeMutableRawPointer?
            let d = clock.measure { state = trace(param, bitmap) }
            if let state { stateFree(state) }
            return milliseconds(d)
        }
    }
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1e3
}

let tracer = PotraceTracer()
let clock = ContinuousClock()
let potrace = PotraceLib()
if potrace == nil { FileHandle.standardError.write("libpotrace.so.0 not loadable: potrace timed by the script only\n".data(using: .utf8)!) }
for name in names {
    let mask = try readPBM(dir.appendingPathComponent(name + ".pbm"))
    var times: [Double] = [], theirTimes: [Double] = []
    var words = PotraceLib.words(mask)
    var traced: [TracedComponent] = []
    for _ in 0..<reps {
        // In turn, so a slow spell of this shared machine hits both.
        let d = try clock.measure { traced = try tracer.trace(mask) }
        times.append(milliseconds(d))
        if let potrace { theirTimes.append(potrace.time(mask, &words, clock: clock)) }
    }
    times.sort(); theirTimes.sort()
    let ours = try TracingQuality.evaluate(traced, against: mask)
    let pf = try JSONDecoder().decode(PotraceFile.self, from: Data(contentsOf: dir.appendingPathComponent(name + ".potrace.json")))
    let theirs = try TracingQuality.evaluate(pf.components.map(component), against: mask)
    let row: [String: Any] = ["name": name, "width": mask.width, "height": mask.height,
                              "ours": quality(ours, timeMS: times[times.count / 2]),
                              "potrace": quality(theirs, timeMS: theirTimes.isEmpty ? pf.time_ms : theirTimes[theirTimes.count / 2])]
    let json = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}
