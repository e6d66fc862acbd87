#!/usr/bin/env python3
"""Makes ultrasound source instances for the writer tests from a BUSI image, with real tools.

usage: make_sources.py BUSI_ID OUTDIR

Writes into OUTDIR, each with <name>.mask (rows*columns bytes 0/1, row-major, per frame):
  mono.dcm   US Image, MONOCHROME2, odd rows x columns, Laterality R, calibrated US region
  rgb.dcm    US Image, RGB (img2dcm from a BMP), Laterality L, UTF-8 patient name
  lossy.dcm  US Image, JPEG Baseline (img2dcm from a JPEG): lossy
  ybr.dcm    US Image, colour JPEG Baseline (YBR_FULL_422), Laterality L
  palette.dcm US Image, PALETTE COLOR, Laterality L
  multi.dcm  US Multi-frame, 3 frames, MONOCHROME2, odd size; mask only on frames 1 and 3
  cine.dcm   US Multi-frame, 8 frames, odd size; a differently placed mask on every frame
and sources.json describing them (size, frames, mask frames, mm per pixel).
"""
import json, os, subprocess, sys
import numpy as np
from PIL import Image
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid, ExplicitVRLittleEndian

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTI = "1.2.840.10008.5.1.4.1.1.3.1"
MM_PER_PX = 0.26


def region(rows, cols):
    r = Dataset()
    r.RegionSpatialFormat = 1
    r.RegionDataType = 1
    r.RegionFlags = 0
    r.RegionLocationMinX0 = 0
    r.RegionLocationMinY0 = 0
    r.RegionLocationMaxX1 = cols - 1
    r.RegionLocationMaxY1 = rows - 1
    r.PhysicalUnitsXDirection = 3
    r.PhysicalUnitsYDirection = 3
    r.PhysicalDeltaX = MM_PER_PX / 10
    r.PhysicalDeltaY = MM_PER_PX / 10
    return Sequence([r])


def make_us(ds, rows, cols, laterality, study_uid, sop_class=US_IMAGE):
    ds.SOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.Modality = "US"
    ds.PatientName = "Test^Writer"
    ds.PatientID = "WC-TEST-1"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20260101"
    ds.StudyTime = "101010"
    ds.AccessionNumber = "A1"
    ds.StudyID = "1"
    ds.ReferringPhysicianName = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Laterality = laterality
    ds.Manufacturer = "TestModality"
    ds.PatientOrientation = ""
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SequenceOfUltrasoundRegions = region(rows, cols)
    for kw in ("ConversionType",):
        if kw in ds:
            delattr(ds, kw)


def main():
    busi_id, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    root = "/work/shared/data/busi" if len(sys.argv) < 4 else sys.argv[3]
    img = np.array(Image.open(f"{root}/images/{busi_id}.png").convert("L"))
    mask = (np.array(Image.open(f"{root}/masks/{busi_id}.png").convert("L")) > 0).astype(np.uint8)
    # odd rows x columns (exercises 1-bit packing across byte boundaries)
    rows = img.shape[0] - (1 - img.shape[0] % 2)
    cols = img.shape[1] - (1 - img.shape[1] % 2)
    img, mask = img[:rows, :cols], mask[:rows, :cols]
    study = generate_uid()
    info = {}

    # mono: img2dcm from BMP, then made a US Image with pydicom
    Image.fromarray(img).save(f"{out}/mono.bmp")
    subprocess.run(["img2dcm", "-q", "-i", "BMP", f"{out}/mono.bmp", f"{out}/mono.dcm"], check=True)
    ds = pydicom.dcmread(f"{out}/mono.dcm")
    make_us(ds, rows, cols, "R", study)
    ds.save_as(f"{out}/mono.dcm")
    mask.tofile(f"{out}/mono.mask")
    info["mono"] = dict(rows=rows, columns=cols, frames=1, mask_frames=[1], laterality="R")

    # rgb: a tinted colour version (US machines send RGB)
    rgb = np.stack([img, (img * 0.9).astype(np.uint8), (img * 0.8).astype(np.uint8)], axis=-1)
    Image.fromarray(rgb, "RGB").save(f"{out}/rgb.bmp")
    subprocess.run(["img2dcm", "-q", "-i", "BMP", f"{out}/rgb.bmp", f"{out}/rgb.dcm"], check=True)
    ds = pydicom.dcmread(f"{out}/rgb.dcm")
    make_us(ds, rows, cols, "L", study)
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8 name: derived objects must copy the charset
    ds.PatientName = "Müller^Anna"
    ds.save_as(f"{out}/rgb.dcm")
    mask.tofile(f"{out}/rgb.mask")
    info["rgb"] = dict(rows=rows, columns=cols, frames=1, mask_frames=[1], laterality="L")

    # lossy: JPEG baseline kept encapsulated by img2dcm
    Image.fromarray(img).save(f"{out}/lossy.jpg", quality=80)
    subprocess.run(["img2dcm", "-q", f"{out}/lossy.jpg", f"{out}/lossy.dcm"], check=True)
    ds = pydicom.dcmread(f"{out}/lossy.dcm")
    make_us(ds, rows, cols, "R", study)
    for kw in ("LossyImageCompressionRatio", "LossyImageCompressionMethod"):
        if kw in ds:
            delattr(ds, kw)  # the writer must then work it out from the bytes
    ds.save_as(f"{out}/lossy.dcm")
    mask.tofile(f"{out}/lossy.mask")
    info["lossy"] = dict(rows=rows, columns=cols, frames=1, mask_frames=[1], laterality="R")

    # ybr: colour JPEG Baseline (img2dcm keeps it as YBR_FULL_422): lossy and colour
    Image.fromarray(rgb, "RGB").save(f"{out}/ybr.jpg", quality=85)
    subprocess.run(["img2dcm", "-q", f"{out}/ybr.jpg", f"{out}/ybr.dcm"], check=True)
    ds = pydicom.dcmread(f"{out}/ybr.dcm")
    make_us(ds, rows, cols, "L", study)
    ds.save_as(f"{out}/ybr.dcm")
    mask.tofile(f"{out}/ybr.mask")
    info["ybr"] = dict(rows=rows, columns=cols, frames=1, mask_frames=[1], laterality="L")

    # palette: PALETTE COLOR 8-bit with 16-bit LUT entries (a tinted ramp), as some US machines send
    ds = pydicom.dcmread(f"{out}/mono.dcm")
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    make_us(ds, rows, cols, "L", study)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ramp = np.arange(256, dtype=np.uint16) * 257
    for colour, scale in (("Red", 1.0), ("Green", 0.85), ("Blue", 0.7)):
        group = {"Red": 0x1101, "Green": 0x1102, "Blue": 0x1103}[colour]
        ds.add_new((0x0028, group), "US", [256, 0, 16])
        ds.add_new((0x0028, group + 0x100), "OW", (ramp * scale).astype("<u2").tobytes())
    ds.save_as(f"{out}/palette.dcm")
    mask.tofile(f"{out}/palette.mask")
    info["palette"] = dict(rows=rows, columns=cols, frames=1, mask_frames=[1], laterality="L")

    # multi: 3 frames, lesion on frames 1 and 3 (frame 3 shifted), none on frame 2
    frames = np.stack([img, np.roll(img, 5, axis=1), np.roll(img, 9, axis=0)])
    masks = np.stack([mask, np.zeros_like(mask), np.roll(mask, 9, axis=0)])
    ds = pydicom.dcmread(f"{out}/mono.dcm")
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = generate_uid()
    make_us(ds, rows, cols, "R", study, US_MULTI)
    ds.NumberOfFrames = 3
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    ds.FrameTime = 33.3
    ds.PixelData = frames.tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(f"{out}/multi.dcm")
    masks[[0, 2]].tofile(f"{out}/multi.mask")
    info["multi"] = dict(rows=rows, columns=cols, frames=3, mask_frames=[1, 3], laterality="R")

    # cine: 8 frames, a lesion on every one, each moved differently. With odd rows x columns the
    # frames start at every bit offset within a byte; DCMTK 3.6.7 put some of them a byte early.
    shifts = [(3 * k, 7 * k) for k in range(8)]
    frames = np.stack([np.roll(img, s, axis=(0, 1)) for s in shifts])
    masks = np.stack([np.roll(mask, s, axis=(0, 1)) for s in shifts])
    ds = pydicom.dcmread(f"{out}/multi.dcm")
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.NumberOfFrames = len(frames)
    ds.PixelData = frames.tobytes()
    ds.save_as(f"{out}/cine.dcm")
    masks.tofile(f"{out}/cine.mask")
    info["cine"] = dict(rows=rows, columns=cols, frames=len(frames), mask_frames=list(range(1, len(frames) + 1)),
                        laterality="R")

    for name in info:
        info[name]["mm_per_pixel"] = MM_PER_PX
        info[name]["lesion_pixels"] = int(mask.sum())
    json.dump(info, open(f"{out}/sources.json", "w"), indent=1)
    for f in ("mono.bmp", "rgb.bmp", "lossy.jpg", "ybr.jpg"):
        os.remove(f"{out}/{f}")


if __name__ == "__main__":
    main()
