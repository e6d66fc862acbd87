#!/usr/bin/env python3
"""Soak benchmark (not a test): many small images through the gateway with retention compressed
from days to seconds, to show that what the gateway keeps stays flat once retention has caught
up: the data folder's bytes (spool, outbox, ledger with its WAL), the gateway's RSS, the
ledger's rows. The peer is the gateway itself after its first retention cycle: the report gives
each sample's value over the value at the end of the first cycle (a ratio near 1 is flat).

  python3 Tests/GatewayTests/Benchmarks/soak_bench.py [--wecare .build/release/wecare] [-n 20000]
      [--batch 200] [--keep-seconds 20]

The modality sends --batch images per association (storescu), the next batch once the gateway
has analysed most of the last (a soak, not a burst); every batch a sample is taken. Retention: keep_images_days and keep_records_days are --keep-seconds and
twice that; the sweeper runs every second. The PACS is a storescp that deletes what it receives
(--ignore), so only the gateway's disk is measured.
Needs: dcmtk (storescu, storescp), pydicom, numpy, pillow; BUSI images at ../shared/data/busi.
"""
import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import numpy as np
import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchsupport import dcmtk, free_port, gateway_toml  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUSI = os.environ.get("WECARE_BUSI_DIR", os.path.join(ROOT, "..", "shared", "data", "busi"))




def small_images(folder, count, size=128):
    """`count` distinct small US images (BUSI crops), each with its own UIDs."""
    from PIL import Image
    pngs = sorted(f for f in os.listdir(os.path.join(BUSI, "images")) if f.endswith(".png"))[:50]
    bases = [np.asarray(Image.open(os.path.join(BUSI, "images", p)).convert("L").resize((size, size)), dtype=np.uint8)
             for p in pngs]
    files = []
    for i in range(count):
        ds = Dataset()
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.Modality = "US"
        ds.PatientName = "Soak^Test"
        ds.PatientID = "SOAK"
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = bases[i % len(bases)].tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = os.path.join(folder, f"img{i:06d}.dcm")
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def folder_bytes(path):
    total = 0
    for root, _, names in os.walk(path):
        for n in names:
            try:
                total += os.path.getsize(os.path.join(root, n))
            except OSError:
                pass
    return total


def rss_kib(pid):
    """The gateway's resident memory plus its worker processes'."""
    total = 0
    for p in [pid] + children(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total


def children(pid):
    """Its worker processes (every process whose parent it is)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def backlog(db):
    """Images received and not yet analysed."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        n = con.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('received', 'analysing')").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def ledger_rows(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        n = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("instances", "jobs", "objects", "deliveries")}
        con.close()
        return n
    except sqlite3.Error:
        return {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wecare", default=os.path.join(ROOT, ".build", "release", "wecare"))
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--keep-seconds", type=float, default=20)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="wecare-soak-")
    images = os.path.join(work, "images")
    os.makedirs(images)
    print(f"making {args.n} images in {work}", file=sys.stderr)
    files = small_images(images, args.n)

    pacs_port, dicom_port = free_port(), free_port()
    pacs = subprocess.Popen([dcmtk("storescp"), "--ignore", "-aet", "PACS", str(pacs_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    days = args.keep_seconds / 86400
    conf = gateway_toml(os.path.join(work, "gateway.toml"), port=dicom_port, modality="SOAK", pacs_port=pacs_port,
                        model=os.path.join(ROOT, "weights", "busi_unet.onnx"),
                        extra=f"[retention]\nkeep_images_days = {days:.9f}\nkeep_records_days = {2 * days:.9f}\n"
                              "sweep_interval_seconds = 1\n")
    log = open(os.path.join(work, "gateway.log"), "w")
    gw = subprocess.Popen([args.wecare, "serve", "--config", conf, "--log-level", "warning"], stdout=log, stderr=log)
    time.sleep(3)
    data = os.path.join(work, "data")
    samples = []
    start = time.time()
    try:
        for b in range(0, len(files), args.batch):
            batch = files[b:b + args.batch]
            r = subprocess.run([dcmtk("storescu"), "-aet", "SOAK", "-aec", "WECARE", "127.0.0.1", str(dicom_port)] + batch,
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr[-2000:], file=sys.stderr)
            # A soak, not a burst: the next batch goes once the gateway has caught up (a backlog
            # would grow the spool for a reason retention is not about).
            while backlog(os.path.join(data, "ledger.sqlite")) > args.batch // 2 and gw.poll() is None:
                time.sleep(0.2)
            s = {"sent": b + len(batch), "t": round(time.time() - start, 1), "data_bytes": folder_bytes(data),
                 "rss_kib": rss_kib(gw.pid), **ledger_rows(os.path.join(data, "ledger.sqlite"))}
            samples.append(s)
            print(json.dumps(s), file=sys.stderr)
            if gw.poll() is not None:
                sys.exit("the gateway stopped")
    finally:
        gw.terminate()
        gw.wait()
        pacs.kill()
    # The first cycle ends when images older than keep_records_days start to go: take the first
    # sample after 3 x keep_seconds as the reference.
    ref = next((s for s in samples if s["t"] >= 3 * args.keep_seconds), samples[len(samples) // 2])
    keys = ["data_bytes", "rss_kib", "instances", "deliveries"]
    tail = samples[-max(1, len(samples) // 5):]
    report = {"images": args.n, "keep_seconds": args.keep_seconds, "seconds": round(time.time() - start, 1),
              "reference_sample": ref,
              "last": samples[-1],
              "max_over_reference_after_reference": {k: round(max(s.get(k, 0) for s in samples if s["t"] >= ref["t"]) /
                                                              max(1, ref.get(k, 1)), 3) for k in keys},
              "last_fifth_mean_over_reference": {k: round(sum(s.get(k, 0) for s in tail) / len(tail) / max(1, ref.get(k, 1)), 3)
                                                 for k in keys}}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
