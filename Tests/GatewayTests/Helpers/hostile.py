#!/usr/bin/env python3
"""Hostile DICOM inputs for the gateway, made from BUSI ultrasound PNGs (pydicom 3, DCMTK encoders).

  hostile.py make OUTDIR --busi DIR [--fuzz N] [--seed S] [--probes K]

Writes into OUTDIR:
  base/        valid US Image Storage files, each with a Sequence of Ultrasound Regions calibration:
               native MONOCHROME2, grey stored as interleaved RGB, JPEG baseline (dcmcjpeg +eb),
               RLE (dcmcrle); all Explicit VR Little Endian based
  cases/       the named hostile cases and N seeded fuzz cases
  probes/      K good images (fresh SOP Instance UIDs), sent after each case to prove the gateway works
  manifest.json  ordered list of {name, file, uid, expect, why[, check]}; file is relative to OUTDIR,
                 uid is the SOP Instance UID the C-STORE command carries (from the meta header)
  probes.json    list of {file, uid} for the probes

expect:
  accepted   status 0000, and SEG/SR/PR made from it reach the PACS
  refused    a non-0000 status, and nothing for that SOP Instance UID reaches the PACS
  no-result  any status; the PACS may get only an "AI analysis unavailable" SR for it
  survive    only that the gateway survives (fuzz); `check` may add a check on what reaches the PACS

Every case has its own SOP Instance UID (in the meta header and the dataset), so none is a
duplicate of another, except the deliberate same-UID pair. The same seed gives the same files.
Images are scaled down to at most 320 pixels wide to keep the corpus small.
"""
import argparse
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
ALL_VRS = [b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB", b"OD",
           b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI",
           b"UL", b"UN", b"UR", b"US", b"UT", b"UV", b"zz"]


def new_uid(rng):
    """41 characters: every UID made here has that length, so one can replace another in place."""
    return "2.25." + str(rng.randrange(10 ** 35, 10 ** 36))


# ---------------------------------------------------------------- writing Part 10 files

def part10(meta, ds):
    """Preamble, meta header and dataset (Explicit VR LE), written as given: no consistency
    between meta and dataset is enforced, so they may disagree on purpose."""
    out = io.BytesIO()
    out.write(b"\0" * 128 + b"DICM")
    fp = DicomBytesIO()
    write_file_meta_info(fp, meta, enforce_standard=True)
    out.write(fp.getvalue())
    out.write(dataset_bytes(ds))
    return out.getvalue()


def dataset_bytes(ds):
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_dataset(fp, ds)
    return fp.getvalue()


def meta_for(sop_class, sop_instance, ts=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def load_png(path, width=320):
    im = Image.open(path).convert("L")
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


def us_dataset(img, rng, rgb=False, patient=("Test^Hostile", "HOSTILE-1"), delta_x=0.01, delta_y=0.01, uid=None):
    """A valid US Image Storage dataset: native pixels, calibrated region over the whole image."""
    rows, cols = img.shape
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = US_IMAGE
    ds.SOPInstanceUID = uid or new_uid(rng)
    ds.StudyDate = "20261126"
    ds.StudyTime = "101010"
    ds.AccessionNumber = ""
    ds.Modality = "US"
    ds.Manufacturer = "WeCare hostile-input suite"
    ds.ReferringPhysicianName = ""
    ds.PatientName = patient[0]
    ds.PatientID = patient[1]
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    ds.StudyInstanceUID = new_uid(rng)
    ds.SeriesInstanceUID = new_uid(rng)
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.Laterality = "L"
    r = Dataset()
    r.RegionSpatialFormat = 1
    r.RegionDataType = 1
    r.RegionFlags = 0
    r.RegionLocationMinX0, r.RegionLocationMinY0 = 0, 0
    r.RegionLocationMaxX1, r.RegionLocationMaxY1 = cols - 1, rows - 1
    r.PhysicalUnitsXDirection = 3
    r.PhysicalUnitsYDirection = 3
    r.PhysicalDeltaX = delta_x
    r.PhysicalDeltaY = delta_y
    ds.SequenceOfUltrasoundRegions = [r]
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if rgb:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.PixelData = np.stack([img, img, img], -1).tobytes()
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = img.tobytes()
    return ds


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def encode(tool, args, native_bytes, work):
    """Runs a DCMTK encoder on a native file; returns the encoded dataset (pydicom)."""
    src = os.path.join(work, "in.dcm")
    dst = os.path.join(work, "out.dcm")
    write(src, native_bytes)
    r = subprocess.run([tool] + args + [src, dst], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{tool} failed: {r.stdout}{r.stderr}")
    return dcmread(dst)


def encoded_file(ds, uid):
    """An encoded (or native) dataset from dcmread, rewritten with `uid` in meta and dataset."""
    ds.SOPInstanceUID = uid
    return part10(meta_for(ds.SOPClassUID, uid, ds.file_meta.TransferSyntaxUID), ds)


# ---------------------------------------------------------------- walking Explicit VR LE bytes

class Element:
    def __init__(self, tag, vr, header, value, length, long):
        self.tag, self.vr, self.header, self.value, self.length, self.long = tag, vr, header, value, length, long

    @property
    def length_at(self):
        return self.header + (8 if self.long else 6)


def walk(data, start, end, out, depth=0):
    """Every element in data[start:end] (Explicit VR LE), nested ones included; returns the
    offset where parsing stopped (at a delimiter or `end`)."""
    p = start
    while p + 8 <= end:
        group, elem = struct.unpack_from("<HH", data, p)
        tag = (group << 16) | elem
        if group == 0xFFFE:
            return p
        vr = bytes(data[p + 4:p + 6])
        if vr in LONG_VRS:
            length = struct.unpack_from("<I", data, p + 8)[0]
            value = p + 12
            long = True
        else:
            length = struct.unpack_from("<H", data, p + 6)[0]
            value = p + 8
            long = False
        out.append(Element(tag, vr, p, value, length, long))
        if length == 0xFFFFFFFF:
            p = skip_items(data, value, end, out, depth + 1, encapsulated=(vr != b"SQ"))
        else:
            if vr == b"SQ":
                skip_items(data, value, value + length, out, depth + 1, encapsulated=False)
            p = value + length
    return p


def skip_items(data, p, end, out, depth, encapsulated):
    """Items of a sequence or encapsulated pixel data; returns the offset after them."""
    while p + 8 <= end:
        group, elem, length = struct.unpack_from("<HHI", data, p)
        p += 8
        if (group, elem) == (0xFFFE, 0xE0DD):
            return p
        if (group, elem) != (0xFFFE, 0xE000):
            raise ValueError(f"unexpected tag {group:04x},{elem:04x} at {p - 8}")
        if encapsulated:
            p += length
        elif length == 0xFFFFFFFF:
            q = walk(data, p, end, out, depth)
            g, e = struct.unpack_from("<HH", data, q)
            assert (g, e) == (0xFFFE, 0xE00D)
            p = q + 8
        else:
            walk(data, p, p + length, out, depth)
            p += length
    return p


def meta_end(data):
    """Offset of the first dataset byte (after preamble, DICM and the meta group)."""
    assert data[128:132] == b"DICM"
    group_length = struct.unpack_from("<I", data, 132 + 8)[0]
    return 132 + 12 + group_length


def command_uid(data):
    """The Media Storage SOP Instance UID of the meta header: what the C-STORE command carries."""
    meta = []
    walk(data, 132, meta_end(data), meta)
    e = next(e for e in meta if e.tag == 0x00020003)
    return data[e.value:e.value + e.length].rstrip(b"\0 ").decode()


def elements(data):
    out = []
    walk(data, meta_end(data), len(data), out)
    return out


def find(data, tag):
    return next(e for e in elements(data) if e.tag == tag)


# ---------------------------------------------------------------- the named cases

def jpeg_marker(pixels, marker):
    """Offset of a JPEG marker segment in encapsulated Pixel Data, walking the markers from SOI."""
    p = pixels.find(b"\xff\xd8")
    p += 2
    while p < len(pixels):
        assert pixels[p] == 0xFF, f"no marker at {p}"
        if pixels[p + 1] == marker:
            return p
        p += 2 + struct.unpack_from(">H", pixels, p + 2)[0]
    raise ValueError(f"marker {marker:02X} not found")

def nested_sequences(levels):
    """`levels` sequences each in the only item of the one above, undefined lengths throughout."""
    opening = struct.pack("<HH", 0x0008, 0x1115) + b"SQ\0\0" + b"\xff\xff\xff\xff" \
        + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    closing = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return opening * levels + closing * levels


def build(out, busi, fuzz, seed, probes):
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="hostile-")
    try:
        return _build(out, busi, fuzz, seed, probes, rng, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build(out, busi, fuzz, seed, probes, rng, work):
    for sub in ("base", "cases", "probes"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        os.makedirs(os.path.join(out, sub))
    png = lambda name: load_png(os.path.join(busi, name))
    benign_a, benign_b, malignant_a, malignant_b, probe_img = (
        png("benign_001.png"), png("benign_002.png"), png("malignant_001.png"), png("malignant_002.png"), png("benign_003.png"))

    # Base files: valid, calibrated; every one is also sent as an "accepted" case.
    bases = {}
    ds = us_dataset(benign_a, rng)
    bases["native"] = part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds)
    ds = us_dataset(malignant_a, rng, rgb=True)
    bases["rgb"] = part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds)
    ds = us_dataset(benign_b, rng)
    bases["jpeg"] = encoded_file(encode("dcmcjpeg", ["+eb"], part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), work), new_uid(rng))
    ds = us_dataset(malignant_b, rng)
    bases["rle"] = encoded_file(encode("dcmcrle", [], part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), work), new_uid(rng))
    for name, data in bases.items():
        write(os.path.join(out, "base", f"{name}.dcm"), data)
        elements(data)  # each base must walk cleanly: the fuzzer relies on it

    cases = []

    def case(name, data, expect, why, **extra):
        rel = f"cases/{name}.dcm"
        write(os.path.join(out, rel), data)
        cases.append(dict(name=name, file=rel, expect=expect, why=why, uid=command_uid(data), **extra))

    def fresh(data):
        """`data` with a fresh SOP Instance UID of the same length (meta and dataset)."""
        old = dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID.encode()
        uid = new_uid(rng).encode()
        assert len(uid) == len(old)
        return data.replace(old, uid)

    for name in ("native", "rgb", "jpeg", "rle"):
        case(f"valid-{name}", fresh(bases[name]), "accepted", f"a valid calibrated US image ({name}): the reference")

    # 1. RLE whose first segment offset is 0xFFFFFF00.
    ds = dcmread(io.BytesIO(fresh(bases["rle"])))
    pixels = bytearray(ds.PixelData)
    bot = struct.unpack_from("<I", pixels, 4)[0]
    header = 8 + bot + 8  # Basic Offset Table item, then the first fragment's item header
    struct.pack_into("<I", pixels, header + 4, 0xFFFFFF00)
    ds.PixelData = bytes(pixels)
    case("rle-segment-offset", encoded_file(ds, ds.SOPInstanceUID), "no-result",
         "RLE header: first segment offset 0xFFFFFF00 (crashed DCMTK's RLE decoder)")

    # 2. JPEG whose SOF and Rows/Columns declare 65535 x 65535.
    ds = dcmread(io.BytesIO(fresh(bases["jpeg"])))
    pixels = bytearray(ds.PixelData)
    sof = jpeg_marker(pixels, 0xC0)
    struct.pack_into(">HH", pixels, sof + 5, 0xFFFF, 0xFFFF)
    ds.PixelData = bytes(pixels)
    ds.Rows = ds.Columns = 65535
    case("jpeg-65535x65535", encoded_file(ds, ds.SOPInstanceUID), "refused",
         f"{len(pixels) // 1024} kB JPEG baseline whose SOF and Rows/Columns say 65535 x 65535 (a 12.9 GB decode)")

    # 3. Native pixel data declaring 65535 x 65535.
    ds = us_dataset(benign_a, rng)
    ds.Rows = ds.Columns = 65535
    case("native-65535x65535", part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), "refused",
         "native 8-bit MONOCHROME2 declaring 65535 x 65535 (4 GB) with 100 kB of pixels")

    # 4. A dataset nesting 50,000 sequences (written by hand: pydicom would recurse).
    ds = us_dataset(benign_a, rng)
    before = Dataset()
    after = Dataset()
    for elem in ds:
        (before if elem.tag < 0x00081115 else after).add(elem)
    data = part10(meta_for(US_IMAGE, ds.SOPInstanceUID), before)
    data += nested_sequences(50_000) + dataset_bytes(after)
    case("nested-50000-sequences", data, "refused",
         f"Referenced Series Sequence nested 50,000 deep ({len(data) / 1e6:.1f} MB), undefined lengths; "
         "a recursive parser overflows its stack")

    # 5. Columns 7 too small.
    ds = us_dataset(benign_a, rng)
    ds.Columns = ds.Columns - 7
    case("columns-7-too-small", part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), "refused",
         "Columns 7 less than the pixel rows hold: Pixel Data longer than Rows x Columns")

    # 6. BitsAllocated 1.
    ds = us_dataset(benign_a, rng)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
    case("bits-allocated-1", part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), "refused",
         "BitsAllocated/BitsStored 1 on 8-bit pixels: 8 x more bytes than declared")

    # 7. JPEG with a corrupt scan (entropy-coded bytes damaged).
    ds = dcmread(io.BytesIO(fresh(bases["jpeg"])))
    pixels = bytearray(ds.PixelData)
    sos = jpeg_marker(pixels, 0xDA)
    scan = sos + 2 + struct.unpack_from(">H", pixels, sos + 2)[0]
    eoi = pixels.rfind(b"\xff\xd9")
    for at in (0.2, 0.4, 0.6, 0.8):
        p = scan + int((eoi - scan) * at)
        pixels[p:p + 48] = bytes(rng.randrange(0, 255) for _ in range(48))  # never 0xFF: no new markers
    ds.PixelData = bytes(pixels)
    case("jpeg-corrupt-scan", encoded_file(ds, ds.SOPInstanceUID), "no-result",
         "JPEG baseline with 4 x 48 entropy-coded bytes overwritten (libjpeg: 'Corrupt JPEG data')")

    # 8. Planar Configuration 1 on interleaved grey RGB.
    ds = us_dataset(malignant_a, rng, rgb=True)
    ds.PlanarConfiguration = 1
    case("planar-configuration-1", part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), "no-result",
         "grey stored as interleaved RGB, but Planar Configuration says colour-by-plane")

    # 9. CT Image Storage dataset under a US command.
    ds = us_dataset(benign_a, rng)
    ds.SOPClassUID = CT_IMAGE
    ds.Modality = "CT"
    case("ct-under-us-command", part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), "refused",
         "meta header (so the C-STORE command) says US Image Storage, the dataset says CT Image Storage")

    # 10. Pixel Data cut short.
    ds = us_dataset(benign_a, rng)
    data = part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds)
    pix = find(data, 0x7FE00010)
    case("pixel-data-truncated", data[:pix.value + pix.length // 2], "refused",
         "Pixel Data declares its full length, half of it is sent")

    # 11. Garbage after the dataset.
    ds = us_dataset(benign_a, rng)
    data = part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds) + bytes(rng.randrange(256) for _ in range(4096))
    case("garbage-after-dataset", data, "refused", "4096 random bytes after Pixel Data")

    # 12. An element length running past the end.
    ds = us_dataset(benign_a, rng)
    data = bytearray(part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds))
    region = find(data, 0x00186011)
    struct.pack_into("<I", data, region.length_at, 0x7FFFFFF0)
    case("element-length-past-end", bytes(data), "refused",
         "Sequence of Ultrasound Regions with a defined length of 0x7FFFFFF0 (2 GB) in a 90 kB dataset")

    # 13. The same SOP Instance UID sent twice with different pixels (and another patient).
    uid = new_uid(rng)
    ds = us_dataset(benign_a, rng, uid=uid)
    case("same-uid-first", part10(meta_for(US_IMAGE, uid), ds), "accepted", "a valid image: first of two with one UID")
    ds = us_dataset(malignant_b, rng, uid=uid, patient=("Other^Patient", "HOSTILE-2"))
    case("same-uid-other-pixels", part10(meta_for(US_IMAGE, uid), ds), "refused",
         "same SOP Instance UID as same-uid-first, other pixels and another patient")

    # 14. An implausible calibration.
    ds = us_dataset(benign_a, rng, delta_x=1000.0)
    case("implausible-calibration", part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds), "survive",
         "Physical Delta X 1000 cm per pixel: may be analysed, must not give millimetres",
         check="no-mm-measurement")

    # Seeded fuzz cases over the base files.
    names = sorted(bases)
    for i in range(fuzz):
        base = rng.choice(names)
        data = bytearray(fresh(bases[base]))
        start = meta_end(data)  # the meta header is kept: the C-STORE command is made from it
        pixels = find(data, 0x7FE00010).value
        kind = rng.choice(["truncate", "flip", "length", "vr"])
        if kind == "truncate":
            at = rng.randrange(start, len(data))
            why = f"{base} truncated at byte {at} of {len(data)}"
            data = data[:at]
        elif kind == "flip":
            spots = []
            for _ in range(rng.randint(1, 12)):
                p = rng.randrange(start, pixels) if rng.random() < 0.85 else rng.randrange(start, len(data))
                data[p] ^= rng.randrange(1, 256)
                spots.append(p)
            why = f"{base}: bytes flipped at {sorted(spots)}"
        else:
            els = [e for e in elements(data)]
            e = rng.choice(els)
            if kind == "length":
                width = 4 if e.long else 2
                top = 0xFFFFFFFF if e.long else 0xFFFF
                choices = [0, 1, e.length + 1, max(e.length - 2, 0), e.length * 2, e.length + 0x1000, top, top - 1,
                           rng.randrange(top + 1)]
                value = rng.choice(choices) & top
                data[e.length_at:e.length_at + width] = value.to_bytes(width, "little")
                why = f"{base}: length of ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X}) {e.length} -> {value}"
            else:
                vr = rng.choice([v for v in ALL_VRS if v != e.vr])
                data[e.header + 4:e.header + 6] = vr
                why = f"{base}: VR of ({e.tag >> 16:04X},{e.tag & 0xFFFF:04X}) {e.vr.decode()} -> {vr.decode(errors='replace')}"
        case(f"fuzz-{i + 1:04d}-{kind}", bytes(data), "survive", why)

    # Good images for the checks after each case.
    probe_files = []
    for i in range(probes):
        ds = us_dataset(probe_img, rng)
        rel = f"probes/probe-{i + 1:03d}.dcm"
        write(os.path.join(out, rel), part10(meta_for(US_IMAGE, ds.SOPInstanceUID), ds))
        probe_files.append(dict(file=rel, uid=ds.SOPInstanceUID))

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(cases, f, indent=1)
    with open(os.path.join(out, "probes.json"), "w") as f:
        json.dump(probe_files, f, indent=1)
    print(json.dumps({"cases": len(cases), "fuzz": fuzz, "probes": probes, "seed": seed}))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("outdir")
    m.add_argument("--busi", required=True, help="folder of BUSI PNGs (benign_001.png, ...)")
    m.add_argument("--fuzz", type=int, default=500)
    m.add_argument("--seed", type=int, default=23)
    m.add_argument("--probes", type=int, default=40)
    a = p.parse_args()
    build(a.outdir, a.busi, a.fuzz, a.seed, a.probes)
