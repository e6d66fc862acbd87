#!/usr/bin/env python3
"""Throughput benchmark (not a test): images per second through the whole gateway (C-STORE in,
SEG/SR/PR stored at a DCMTK storescp PACS) over the inference-only rate of the same machine,
measured in the same run by `wecare bench`; and the median time from each image's C-STORE
response to its last result stored at the PACS.

The inference-only rate is the model alone in the gateway's own configuration: as many
sessions as workers, each with the gateway's threads, all running at once on one set of kernels
(`wecare bench --sessions`). That is also the fastest way this engine runs the model on this
machine, so the ratio is the share of the machine's inference throughput the whole gateway
delivers. For comparison the older, weaker peer is reported too: one image at a time on as many
threads (at most one per core), which runs 10-20% fewer images per second on 2 cores.

  python3 Tests/GatewayTests/Benchmarks/pipeline_bench.py [--wecare .build/release/wecare] [-n 48] [--rounds 5]

The gateway's rate counts from storescu's start to the last result at the PACS, so it includes
the start (about 0.1 s to the first result) and the tail: with -n 48 those are a few percent of
the run, with -n 144 or more the ratio comes close to the sustained rate.
Needs: dcmtk (storescu, storescp, echoscu), pydicom, pillow; BUSI images at ../shared/data/busi.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchsupport import dcmtk, free_port, gateway_toml  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MAKER = os.path.join(ROOT, "Tests", "ReportingTests", "Support", "make_us_dicom.py")




def cpu_seconds(pid):
    """CPU time (user + system) of a process, its reaped children and its live children
    (storescp --fork serves each association in a child)."""
    tick = os.sysconf("SC_CLK_TCK")
    def fields(p):
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    f = fields(pid)
    total = sum(int(v) for v in f[11:15])  # utime stime cutime cstime
    for p in os.listdir("/proc"):
        if p.isdigit() and p != str(pid):
            try:
                c = fields(p)
                if c[1] == str(pid):
                    total += int(c[11]) + int(c[12])
            except (OSError, IndexError):
                pass
    return total / tick


def wait_for(pred, timeout, poll=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(poll)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wecare", default=os.path.join(ROOT, ".build", "release", "wecare"))
    ap.add_argument("-n", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1, help="inference threads (per worker in the gateway)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="images the gateway analyses at once")
    ap.add_argument("--pacs-nodelay", action="store_true", help="run the storescp PACS with TCP_NODELAY=1")
    ap.add_argument("--pacs-fork", action="store_true", help="run the storescp PACS with --fork")
    ap.add_argument("--pacs-associations", type=int, default=2, help="[[destination]] max_associations")
    ap.add_argument("--log", help="keep the gateway's info log in this file (the last round's)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat reference + gateway run; also print medians")
    ap.add_argument("--busi", default=os.path.join(ROOT, "..", "shared", "data", "busi", "images"))
    a = ap.parse_args()
    if not os.access(a.wecare, os.X_OK):
        sys.exit("build first: swift build -c release --product wecare")
    work = tempfile.mkdtemp(prefix="wecare-pipeline-")
    procs = []
    try:
        pngs = sorted(p for p in os.listdir(a.busi) if p.startswith(("benign", "malignant")))[: a.n]
        inputs = []
        for i, p in enumerate(pngs):
            out = os.path.join(work, f"in{i:03d}.dcm")
            subprocess.run([sys.executable, MAKER, os.path.join(a.busi, p), out, "--region", "0", "0", "2000", "2000", "0.01"], check=True)
            inputs.append(out)
        study_of = {pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID: f for f in inputs}

        # Inference-only rates of the same machine, model alone, timed before and after each
        # gateway run (the machine is shared and noisy); the ratios use their means.
        # - configuration: the gateway's workers x threads, all sessions at once (the peer);
        # - one_session: one image at a time on workers x threads threads, at most one per core.
        cores = os.cpu_count() or 1
        one_session_threads = min(a.threads * a.workers, cores)
        # `wecare bench` times one run of the network; a card with flip_average runs it twice per image.
        card = json.load(open(os.path.join(ROOT, "weights", "busi_unet.json")))
        runs_per_image = 2 if card.get("flip_average") else 1
        def inference_rates():
            def rate(*args):
                out = subprocess.run([a.wecare, "bench", "--model", os.path.join(ROOT, "weights", "busi_unet.onnx"), "--runs", "20", *args],
                                     capture_output=True, text=True, check=True)
                return json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"] / runs_per_image
            return {"configuration": rate("--sessions", str(a.workers), "--threads", str(a.threads)),
                    "one_session": rate("--threads", str(one_session_threads))}

        # Each round is a fresh gateway (its own data_dir and ledger) and a fresh PACS, with the
        # reference timed just before and after it; the medians over rounds damp this host's
        # slow phases, which moved the inference-only rates by up to a third within an hour.
        def one_round(round_dir):
            os.makedirs(round_dir)
            inference_before = inference_rates()

            pacs_dir = os.path.join(round_dir, "pacs")
            os.makedirs(pacs_dir)
            pacs_port = free_port()
            # DCMTK's tools leave Nagle's algorithm on unless TCP_NODELAY=1 is in their environment; then
            # every C-STORE response of storescp waits out our delayed ACK (about 40 ms per object).
            # --pacs-nodelay runs the PACS the way WeCare runs its own sockets.
            pacs_env = dict(os.environ, TCP_NODELAY="1") if a.pacs_nodelay else None
            # --pacs-fork: one storescp process per association, so WeCare's parallel senders
            # ([[destination]] max_associations) are served at once, as by a PACS.
            fork = ["--fork"] if a.pacs_fork else []
            pacs = subprocess.Popen([dcmtk("storescp"), *fork, "-aet", "PACS", "-od", pacs_dir, str(pacs_port)], env=pacs_env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(pacs)
            conf = gateway_toml(os.path.join(round_dir, "gateway.toml"), port=0, modality="US_ROOM1", pacs_port=pacs_port,
                                model=f"{ROOT}/weights/busi_unet.onnx", analysis=f"workers = {a.workers}\nthreads = {a.threads}",
                                pacs_extra=f"max_associations = {a.pacs_associations}")
            log = open(a.log, "w") if a.log else subprocess.DEVNULL
            gw = subprocess.Popen([a.wecare, "serve", "--config", conf, "--log-level", "info" if a.log else "warning"],
                                  stdout=subprocess.PIPE, stderr=log, text=True)
            procs.append(gw)
            line = gw.stdout.readline()
            # CPU from here on: the images' work, not the start (model compile, dictionary load).
            gateway_cpu0, pacs_cpu0 = cpu_seconds(gw.pid), cpu_seconds(pacs.pid)
            port = int(line.split()[2].split("=")[1])

            # The modality pushes the whole set over one association, as fast as the gateway acknowledges;
            # each image's acknowledgement time is taken from storescu's verbose log as it happens.
            acked = {}
            t0 = time.time()
            scu = subprocess.Popen([dcmtk("storescu"), "-v", "-aet", "US_ROOM1", "-aec", "WECARE", "127.0.0.1", str(port)] + inputs,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            current = None
            for out_line in scu.stdout:
                if "Sending file: " in out_line:
                    current = out_line.split("Sending file: ", 1)[1].strip()
                elif "Received Store Response (Success)" in out_line and current:
                    acked[current] = time.time()
            scu.wait()
            if len(acked) != len(inputs):
                sys.exit(f"only {len(acked)} of {len(inputs)} images acknowledged")
            ingest_s = max(acked.values()) - t0

            # While the gateway works, the poll only lists names (storescp names each file after the
            # SOP class: "SR3." for our Comprehensive 3D SR, "SG." SEG, "PSg." GSPS), so the measuring
            # takes no CPU from what it measures. Files are parsed for their study after the run.
            def sr_count():
                return sum(1 for name in os.listdir(pacs_dir) if name.startswith("SR"))

            if not wait_for(lambda: sr_count() == len(inputs), 1800, poll=0.25):
                sys.exit(f"only {sr_count()} of {len(inputs)} reports reached the PACS")
            time.sleep(1.0)  # let the last SEG/PR of the last job land
            gateway_cpu, pacs_cpu = cpu_seconds(gw.pid) - gateway_cpu0, cpu_seconds(pacs.pid) - pacs_cpu0
            result = {}
            for name in os.listdir(pacs_dir):
                path = os.path.join(pacs_dir, name)
                study = pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID
                result.setdefault(study, []).append((name, os.path.getmtime(path)))
            last = max(m for objs in result.values() for _, m in objs)
            latencies = [max(m for _, m in objs) - acked[study_of[s]] for s, objs in result.items()]
            gateway_rate = len(inputs) / (last - t0)
            for p in procs:
                p.kill()
            procs.clear()
            inference_after = inference_rates()
            def mean_rate(key):
                return (inference_before[key] + inference_after[key]) / 2
            return {
                "images": len(inputs), "pacs_nodelay": a.pacs_nodelay, "pacs_fork": a.pacs_fork, "pacs_associations": a.pacs_associations, "threads": a.threads, "workers": a.workers, "objects_at_pacs": sum(len(o) for o in result.values()),
                "inference_images_per_s_before_after": {"configuration": [inference_before["configuration"], inference_after["configuration"]],
                                                        "one_session": [inference_before["one_session"], inference_after["one_session"]], "one_session_threads": one_session_threads},
                "inference_only_images_per_s": round(mean_rate("configuration"), 3),
                "gateway_images_per_s": round(gateway_rate, 3), "cstore_ingest_images_per_s": round(len(inputs) / ingest_s, 3),
                # The target: the whole gateway over the model alone in the same configuration.
                "ratio_gateway_over_inference": round(gateway_rate / mean_rate("configuration"), 3),
                # Against the faster of the two timings of that peer: the ratio that flatters least.
                "ratio_over_fastest_inference": round(gateway_rate / max(inference_before["configuration"], inference_after["configuration"]), 3),
                # Against the weaker one-image-at-a-time peer (this benchmark's peer before 2026-11-28).
                "ratio_over_one_session_inference": round(gateway_rate / mean_rate("one_session"), 3),
                "median_cstore_response_to_last_result_s": round(statistics.median(latencies), 3),
                # Where the machine's time went, per image: all cores' time over the whole run,
                # what the gateway and the PACS used of it, and what the model alone needs
                # (cores over the peer's rate: its CPU, as it keeps every core busy).
                "core_ms_per_image": {"available": round(1000 * cores / gateway_rate, 1),
                                      "gateway_cpu": round(1000 * gateway_cpu / len(inputs), 1),
                                      "pacs_cpu": round(1000 * pacs_cpu / len(inputs), 1),
                                      "inference_only": round(1000 * cores / mean_rate("configuration"), 1)},
                "timeline_s": {"last_ack": round(max(acked.values()) - t0, 3),
                               "first_result": round(min(m for objs in result.values() for _, m in objs) - t0, 3),
                               "last_result": round(last - t0, 3)},
            }

        rounds = []
        for k in range(a.rounds):
            rounds.append(one_round(os.path.join(work, f"round{k}")))
            print(json.dumps(rounds[-1]), flush=True)
        if a.rounds > 1:
            def med(key):
                return round(statistics.median(r[key] for r in rounds), 3)
            print(json.dumps({"rounds": a.rounds, "median": {key: med(key) for key in (
                "gateway_images_per_s", "inference_only_images_per_s", "ratio_gateway_over_inference",
                "ratio_over_fastest_inference", "ratio_over_one_session_inference",
                "median_cstore_response_to_last_result_s")}}))
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
