#!/usr/bin/env python3
"""Vectorizer benchmark: our Potrace-from-the-paper tracer vs Debian's potracelib.

Same masks for both (synthetic 500x500 lesions + BUSI masks), same settings
(turdsize 0, turn policy black, alphamax 1, opttolerance 0.2). potracelib is called
in-process through ctypes, so its time excludes process start and file I/O; ours is
timed inside an optimized binary built from Sources/Analysis. Both tracings are scored
by the same Swift code (TracingQuality): IoU of the re-rasterized paths vs the mask,
mean/max boundary error, components, holes, segments (a potrace corner counts as two
straight segments, as in its SVG output).

Usage (from the package root):
  python3 Tests/AnalysisTests/Benchmarks/vectorizer_bench.py [--busi DIR] [--limit N]
        [--synthetic N] [--reps N] [--out results.json]
Needs: potrace (libpotrace0), python3 numpy + pillow, swiftc.
"""
import argparse, ctypes, ctypes.util, glob, json, math, os, shutil, statistics, subprocess, sys, tempfile, time
import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


# ---- potracelib through ctypes (potracelib.h, API 1.16) -------------------------------
class DPoint(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]

class Curve(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int), ("tag", ctypes.POINTER(ctypes.c_int)), ("c", ctypes.POINTER(DPoint * 3))]

class Path(ctypes.Structure):
    pass

Path._fields_ = [("area", ctypes.c_int), ("sign", ctypes.c_int), ("curve", Curve),
                 ("next", ctypes.POINTER(Path)), ("childlist", ctypes.POINTER(Path)),
                 ("sibling", ctypes.POINTER(Path)), ("priv", ctypes.c_void_p)]

class State(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("plist", ctypes.POINTER(Path)), ("priv", ctypes.c_void_p)]

class Progress(ctypes.Structure):
    _fields_ = [("callback", ctypes.c_void_p), ("data", ctypes.c_void_p),
                ("min", ctypes.c_double), ("max", ctypes.c_double), ("epsilon", ctypes.c_double)]

class Param(ctypes.Structure):
    _fields_ = [("turdsize", ctypes.c_int), ("turnpolicy", ctypes.c_int), ("alphamax", ctypes.c_double),
                ("opticurve", ctypes.c_int), ("opttolerance", ctypes.c_double), ("progress", Progress)]

class Bitmap(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("dy", ctypes.c_int), ("map", ctypes.POINTER(ctypes.c_ulong))]


def load_potrace():
    name = ctypes.util.find_library("potrace") or "libpotrace.so.0"
    lib = ctypes.CDLL(name)
    lib.potrace_param_default.restype = ctypes.POINTER(Param)
    lib.potrace_trace.restype = ctypes.POINTER(State)
    lib.potrace_trace.argtypes = [ctypes.POINTER(Param), ctypes.POINTER(Bitmap)]
    lib.potrace_state_free.argtypes = [ctypes.POINTER(State)]
    lib.potrace_param_free.argtypes = [ctypes.POINTER(Param)]
    return lib


def potrace_bitmap(mask):
    """potrace rows run bottom-up; words are 64-bit, leftmost pixel in the top bit."""
    h, w = mask.shape
    dy = (w + 63) // 64
    flipped = mask[::-1].astype(np.uint8)
    padded = np.zeros((h, dy * 64), np.uint8)
    padded[:, :w] = flipped
    packed = np.packbits(padded, axis=1).reshape(h, dy, 8)  # big-endian bytes per word
    words = packed.view(">u8").reshape(h, dy).astype(np.uint64)
    buf = np.ascontiguousarray(words)
    bm = Bitmap(w, h, dy, buf.ctypes.data_as(ctypes.POINTER(ctypes.c_ulong)))
    return bm, buf


def potrace_trace(lib, mask, reps):
    bm, buf = potrace_bitmap(mask)
    param = lib.potrace_param_default()
    p = param.contents
    p.turdsize, p.turnpolicy, p.alphamax, p.opticurve, p.opttolerance = 0, 0, 1.0, 1, 0.2  # 0 = BLACK
    times, state = [], None
    for _ in range(reps):
        if state:
            lib.potrace_state_free(state)
        t0 = time.perf_counter()
        state = lib.potrace_trace(param, ctypes.byref(bm))
        times.append((time.perf_counter() - t0) * 1e3)
    if state.contents.status != 0:
        raise RuntimeError("potrace_trace failed")
    h = mask.shape[0]

    def path_of(pp):
        c = pp.contents.curve
        n = c.n
        pt = lambda d: [d.x, h - d.y]  # back to y-down image pixels
        start = pt(c.c[n - 1][2])
        segs = []
        for i in range(n):
            if c.tag[i] == 2:  # POTRACE_CORNER
                segs.append(pt(c.c[i][1])); segs.append(pt(c.c[i][2]))
            else:
                segs.append(pt(c.c[i][0]) + pt(c.c[i][1]) + pt(c.c[i][2]))
        return {"start": start, "segs": segs}

    comps = []
    pp = state.contents.plist
    while pp:
        if pp.contents.sign == ord("+"):
            holes, ch = [], pp.contents.childlist
            while ch:
                holes.append(path_of(ch)); ch = ch.contents.sibling
            comps.append({"outer": path_of(pp), "holes": holes})
        pp = pp.contents.next
    lib.potrace_state_free(state)
    lib.potrace_param_free(param)
    del buf
    return {"time_ms": statistics.median(times), "components": comps}


# ---- masks -----------------------------------------------------------------------------
def synthetic_masks(count, seed=7):
    """500x500 lesion-like shapes: ellipses, lobulated and spiculated blobs, a few with holes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:500, 0:500] + 0.5
    out = []
    for k in range(count):
        cx, cy = rng.uniform(150, 350, 2)
        theta = np.arctan2(yy - cy, xx - cx)
        r = np.hypot(xx - cx, yy - cy)
        base = rng.uniform(50, 140)
        radius = base * np.ones_like(theta)
        kind = k % 4
        if kind == 0:  # ellipse
            a, b, ang = base, base * rng.uniform(0.4, 0.9), rng.uniform(0, math.pi)
            u = (np.cos(ang) * (xx - cx) + np.sin(ang) * (yy - cy)) / a
            v = (-np.sin(ang) * (xx - cx) + np.cos(ang) * (yy - cy)) / b
            m = u * u + v * v <= 1
        else:
            harmonics = range(2, 7) if kind == 1 else range(2, 24)
            for h in harmonics:
                amp = rng.uniform(0, 0.12 if kind == 1 else 0.05)
                radius = radius * (1 + amp * np.cos(h * theta + rng.uniform(0, 2 * math.pi)))
            m = r <= radius
            if kind == 3:  # a hole
                m &= np.hypot(xx - cx - base * 0.2, yy - cy) > base * 0.25
        out.append((f"synthetic_{k:03d}", m))
    return out


def busi_masks(folder, limit):
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    out = []
    for f in files:
        m = np.array(Image.open(f).convert("L")) > 0
        if m.any():
            out.append((os.path.splitext(os.path.basename(f))[0], m))
        if limit and len(out) >= limit:
            break
    return out


def write_pbm(path, mask):
    h, w = mask.shape
    with open(path, "wb") as f:
        f.write(b"P4\n%d %d\n" % (w, h))
        f.write(np.packbits(mask.astype(np.uint8), axis=1).tobytes())


def build_bench(work):
    src = sorted(glob.glob(os.path.join(ROOT, "Sources", "Analysis", "**", "*.swift"), recursive=True))
    main = os.path.join(work, "main.swift")
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VectorizerBench.swift"), main)
    exe = os.path.join(work, "vbench")
    subprocess.run(["swiftc", "-Ounchecked", "-wmo", "-module-name", "Analysis", "-o", exe] + src + [main], check=True)
    return exe


def summarize(rows, who, key, agg=statistics.mean):
    return agg([r[who][key] for r in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--busi", default=os.path.join(ROOT, "..", "shared", "data", "busi", "masks"))
    ap.add_argument("--limit", type=int, default=0, help="max BUSI masks (0 = all)")
    ap.add_argument("--synthetic", type=int, default=24)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--out", default="")
    ap.add_argument("--keep", default="", help="work folder to keep (default: temporary)")
    a = ap.parse_args()
    if not os.path.isdir(a.busi):
        a.busi = "/work/shared/data/busi/masks"
    work = a.keep or tempfile.mkdtemp(prefix="vbench-")
    os.makedirs(work, exist_ok=True)
    lib = load_potrace()
    masks = synthetic_masks(a.synthetic) + (busi_masks(a.busi, a.limit) if os.path.isdir(a.busi) else [])
    for name, m in masks:
        write_pbm(os.path.join(work, name + ".pbm"), m)
        with open(os.path.join(work, name + ".potrace.json"), "w") as f:
            json.dump(potrace_trace(lib, m, a.reps), f)
    with open(os.path.join(work, "list.txt"), "w") as f:
        f.write("\n".join(n for n, _ in masks) + "\n")
    exe = build_bench(work)
    res = subprocess.run([exe, work, str(a.reps)], check=True, capture_output=True, text=True)
    rows = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]

    def report(label, rs):
        if not rs:
            return {}
        s = {"masks": len(rs)}
        for who in ("ours", "potrace"):
            s[who] = {
                "iou_mean": summarize(rs, who, "iou"), "iou_min": summarize(rs, who, "iou", min),
                "mean_be_mean": summarize(rs, who, "mean_be"), "mean_be_max": summarize(rs, who, "mean_be", max),
                "max_be_max": summarize(rs, who, "max_be", max),
                "segments_total": sum(r[who]["segments"] for r in rs),
                "time_ms_mean": summarize(rs, who, "time_ms"),
                "time_ms_per_250k_px": statistics.mean(r[who]["time_ms"] * 250000 / (r["width"] * r["height"]) for r in rs),
            }
        s["same_topology"] = sum(r["ours"]["outers"] == r["potrace"]["outers"] and r["ours"]["holes"] == r["potrace"]["holes"] for r in rs)
        s["ours_not_more_segments"] = sum(r["ours"]["segments"] <= r["potrace"]["segments"] for r in rs)
        s["time_ratio_ours_over_potrace"] = s["ours"]["time_ms_mean"] / s["potrace"]["time_ms_mean"]
        print(f"\n== {label}: {len(rs)} masks")
        for who in ("ours", "potrace"):
            o = s[who]
            print(f"  {who:8s} IoU mean {o['iou_mean']:.5f} min {o['iou_min']:.5f} | boundary err mean {o['mean_be_mean']:.3f} "
                  f"(worst mask {o['mean_be_max']:.3f}, max {o['max_be_max']:.2f}) px | segments {o['segments_total']} | "
                  f"time {o['time_ms_mean']:.3f} ms/mask, {o['time_ms_per_250k_px']:.3f} ms per 500x500")
        print(f"  same components+holes: {s['same_topology']}/{len(rs)}; ours <= potrace segments: "
              f"{s['ours_not_more_segments']}/{len(rs)}; time ratio ours/potrace {s['time_ratio_ours_over_potrace']:.2f}")
        return s

    summary = {"synthetic": report("synthetic 500x500", [r for r in rows if r["name"].startswith("synthetic")]),
               "busi": report("BUSI masks", [r for r in rows if not r["name"].startswith("synthetic")])}
    bad = [r["name"] for r in rows if r["ours"]["iou"] < 0.995 or r["ours"]["mean_be"] > 0.25
           or (r["ours"]["outers"], r["ours"]["holes"]) != (r["potrace"]["outers"], r["potrace"]["holes"])]
    print(f"\nmasks missing a quality target (IoU >= 0.995, mean boundary error <= 0.25, same topology): {len(bad)} {bad[:10]}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=1)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
