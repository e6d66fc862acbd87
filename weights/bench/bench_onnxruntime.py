#!/usr/bin/env python3
"""WeCare engine vs onnxruntime on the same model, input shape and thread count.

Alternates rounds (ORT, then `wecare bench`) so both see the same machine load, and prints
both medians and the ratio WeCare/ORT per thread count. Needs a release build:
    swift build -c release --product wecare
Usage: weights/bench/bench_onnxruntime.py [--model M.onnx] [--threads 1 2] [--rounds 5] [--runs 20]
(default model: weights/busi_unet.onnx if present, else a random-weight UNet of the same shape).
The engine runs the best kernel set of the CPU; WECARE_ISA=avx2 in the environment measures the
AVX2 set on an AVX-512 host, WECARE_CONVOLUTIONS=own the engine's own convolutions where oneDNN
would run them (the JSON lines say which set, convolutions and OpenBLAS kernels ran)."""
import argparse, json, os, statistics, subprocess, sys, time
import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ort_median(path, shape, threads, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for _ in range(3):
        sess.run(None, {name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def declared_shape(model):
    """The model's declared input shape ([1, 1, 224, 224] for the Lite0 UNet), or None if dynamic."""
    import onnx
    dims = onnx.load(model, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    shape = [d.dim_value for d in dims]
    return shape if shape and all(v > 0 for v in shape) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--wecare", default=os.path.join(ROOT, ".build", "release", "wecare"))
    args = ap.parse_args()
    model = args.model or os.path.join(ROOT, "weights", "busi_unet.onnx")
    if not os.path.exists(model):
        model = "/tmp/wecare_bench_unet.onnx"
        if not os.path.exists(model):
            subprocess.run([sys.executable, os.path.join(ROOT, "weights", "bench", "make_bench_unet.py"), model], check=True)
    if not os.path.exists(args.wecare):
        sys.exit(f"{args.wecare} missing: run `swift build -c release --product wecare` first")
    shape = declared_shape(model) or [1, 1, 256, 256]
    for threads in args.threads:
        o, w, gflop = [], [], None
        for _ in range(args.rounds):
            o.append(ort_median(model, shape, threads, args.runs))
            out = subprocess.run([args.wecare, "bench", "--model", model, "--threads", str(threads), "--runs", str(args.runs),
                                  "--shape", ",".join(map(str, shape))], check=True, capture_output=True, text=True).stdout
            line = json.loads(out.strip().splitlines()[-1])
            w.append(line["median_ms"]); gflop = line["gflop"]
            isa = {k: line.get(k) for k in ("isa", "convolutions", "blas_core")}
            print(f"  {threads} thread(s), round {len(w)}: ORT {o[-1]:.2f} ms, WeCare {w[-1]:.2f} ms", file=sys.stderr)
        om, wm = statistics.median(o), statistics.median(w)
        print(json.dumps({"model": os.path.basename(model), "threads": threads, "ort_median_ms": round(om, 2),
                          "wecare_median_ms": round(wm, 2), "ratio_wecare_over_ort": round(wm / om, 3), "gflop": gflop,
                          "wecare_gflops_per_s": round(gflop / (wm / 1000), 1), "ort_gflops_per_s": round(gflop / (om / 1000), 1), **isa}))


if __name__ == "__main__":
    main()
