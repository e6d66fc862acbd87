#!/usr/bin/env python3
"""Makes ultrasound test instances for the DICOMInstance tests, with pydicom.

Writes an uncompressed (Explicit VR Little Endian) US Image / US Multi-frame instance with the
pixel layout asked for, plus the expected 8-bit grayscale of every frame (raw bytes, frames
concatenated) computed here independently of DCMTK: colour -> round(0.299 R + 0.587 G + 0.114 B),
palette -> LUT lookup, 16-bit monochrome -> DICOM linear window (PS3.3 C.11.2.1.2) or min-max.
Compressed variants are made from these files by the tests with dcmcjpeg / dcmcrle / dcmcjpls.

Modes:
  make_us.py image --out F --expected F [options]   synthetic or BUSI-derived instance
  make_us.py bmp|jpg --png P --out F --expected F  BUSI PNG -> BMP / JPEG (for img2dcm)
  make_us.py j2k --out F                            instance declaring JPEG 2000 (junk codestream)
"""
import argparse
import json
import sys

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"


def base_gray(args):
    """8-bit grayscale rows x cols: a BUSI image (cropped/tiled) or a smooth synthetic pattern."""
    if args.png:
        img = np.asarray(Image.open(args.png).convert("L"), dtype=np.uint8)
        reps = (args.rows // img.shape[0] + 1, args.cols // img.shape[1] + 1)
        return np.tile(img, reps)[: args.rows, : args.cols].copy()
    y, x = np.mgrid[0: args.rows, 0: args.cols]
    v = 128 + 60 * np.sin(x / 9.0) + 50 * np.cos(y / 13.0) + (x + y) % 17
    return np.clip(v, 0, 255).astype(np.uint8)


def frame_gray(base, f):
    """Frame f differs from frame 0: rolled and brightened, so frames are distinguishable."""
    return np.clip(np.roll(base, 5 * f, axis=1).astype(np.int32) + 3 * f, 0, 255).astype(np.uint8)


def rgb_of(gray, cols):
    x = np.arange(gray.shape[1])[None, :].repeat(gray.shape[0], 0)
    r = gray.astype(np.int32)
    g = (gray.astype(np.int32) // 2 + (x * 120) // max(cols, 1)).clip(0, 255)
    b = 255 - gray.astype(np.int32)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def gray_of_rgb(rgb):
    """round(0.299 R + 0.587 G + 0.114 B), in integers so halves round up exactly."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((299 * r + 587 * g + 114 * b + 500) // 1000).astype(np.uint8)


def ybr_full_of(rgb):
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return np.stack([y, cb, cr], axis=-1).round().clip(0, 255).astype(np.uint8)


def linear_window(x, c, w, bits_out=8):
    """DICOM LINEAR VOI function to 0..255 (PS3.3 C.11.2.1.2.1)."""
    x = x.astype(np.float64)
    ymax = 2 ** bits_out - 1
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * ymax
    y = np.where(x <= c - 0.5 - (w - 1) / 2, 0, y)
    y = np.where(x > c - 0.5 + (w - 1) / 2, ymax, y)
    return np.floor(y + 0.5).clip(0, ymax).astype(np.uint8)


def common_dataset(args, frames):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = US_MULTIFRAME if frames > 1 else US_IMAGE
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "US"
    ds.PatientName = "Test^Phantom"
    ds.PatientID = "PHANTOM1"
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = "WeCare tests"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PatientOrientation = ""
    if args.laterality:
        ds.Laterality = args.laterality
    if args.image_laterality:
        ds.ImageLaterality = args.image_laterality
    if args.burned_in:
        ds.BurnedInAnnotation = args.burned_in
    if args.lossy:
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionRatio = [10.0]
        ds.LossyImageCompressionMethod = ["ISO_10918_1"]
    if args.regions:
        items = []
        for r in json.loads(args.regions):
            it = Dataset()
            it.RegionSpatialFormat = r["format"]
            it.RegionDataType = r["type"]
            it.RegionFlags = r.get("flags", 0)
            it.RegionLocationMinX0, it.RegionLocationMinY0 = r["x0"], r["y0"]
            it.RegionLocationMaxX1, it.RegionLocationMaxY1 = r["x1"], r["y1"]
            it.PhysicalUnitsXDirection, it.PhysicalUnitsYDirection = r["ux"], r["uy"]
            it.PhysicalDeltaX, it.PhysicalDeltaY = r["dx"], r["dy"]
            items.append(it)
        ds.SequenceOfUltrasoundRegions = Sequence(items)
    if frames > 1:
        ds.NumberOfFrames = frames
        ds.FrameTime = 33.3
        ds.FrameIncrementPointer = 0x00181063
    ds.Rows, ds.Columns = args.rows, args.cols
    return ds


def make_image(args):
    frames = args.frames
    base = base_gray(args)
    grays = [frame_gray(base, f) for f in range(frames)]
    ds = common_dataset(args, frames)
    expected = []
    pi = args.photometric
    if pi in ("MONOCHROME1", "MONOCHROME2"):
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = pi
        ds.PixelRepresentation = 0
        if args.bits == 8:
            ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
            data = np.stack(grays)
            out = list(grays)
            if args.window:
                c, w = args.window
                ds.WindowCenter, ds.WindowWidth = c, w
                out = [linear_window(d, c, w) for d in data]
            if pi == "MONOCHROME1":
                out = [255 - o for o in out]
        else:
            ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
            data = np.stack([g.astype(np.uint16) * 200 + 1000 for g in grays])
            if args.voi_lut:
                # 12-bit-ish values 100 + 4 g through a VOI LUT (8-bit entries) that undoes it.
                data = np.stack([g.astype(np.uint16) * 4 + 100 for g in grays])
                item = Dataset()
                item.LUTDescriptor = [1024, 100, 8]
                item.LUTExplanation = "test"
                item.add_new(0x00283006, "US", [min(255, i // 4) for i in range(1024)])  # LUT Data
                ds.VOILUTSequence = Sequence([item])
                out = list(grays)
            elif args.window:
                c, w = args.window
                ds.WindowCenter, ds.WindowWidth = c, w
                out = [linear_window(d, c, w) for d in data]
            else:  # per-frame min-max
                out = []
                for d in data:
                    lo, hi = float(d.min()), float(d.max())
                    out.append(np.floor((d - lo) * 255.0 / (hi - lo) + 0.5).astype(np.uint8))
            if pi == "MONOCHROME1":
                out = [255 - o for o in out]
            out = [np.asarray(o, dtype=np.uint8) for o in out]
        expected = out
        ds.PixelData = data.tobytes()
    elif pi in ("RGB", "YBR_FULL"):
        rgbs = [rgb_of(g, args.cols) for g in grays]
        expected = [gray_of_rgb(x) for x in rgbs]
        samples = [ybr_full_of(x) for x in rgbs] if pi == "YBR_FULL" else rgbs
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = pi
        ds.PlanarConfiguration = args.planar
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelRepresentation = 0
        if args.planar == 1:
            samples = [np.transpose(s, (2, 0, 1)) for s in samples]
        ds.PixelData = np.stack(samples).tobytes()
    elif pi == "PALETTE":
        # LUT: index i -> (i, 255 - i, (i * 7) % 256); pixels index it.
        idx = np.arange(256)
        lut = np.stack([idx, 255 - idx, (idx * 7) % 256], axis=-1)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "PALETTE COLOR"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelRepresentation = 0
        for k, name in enumerate(("Red", "Green", "Blue")):
            entries = lut[:, k]
            if args.palette_bits == 8:
                setattr(ds, f"{name}PaletteColorLookupTableDescriptor", [256, 0, 8])
                data = entries.astype(np.uint8).tobytes()
            else:
                setattr(ds, f"{name}PaletteColorLookupTableDescriptor", [256, 0, 16])
                # 257 v spans 0..65535 exactly; 256 v (0xFF00 tops, common in the field) does not.
                data = (entries.astype(np.uint32) * args.palette_scale).astype("<u2").tobytes()
            setattr(ds, f"{name}PaletteColorLookupTableData", data)
        expected = [gray_of_rgb(lut[g]) for g in grays]
        ds.PixelData = np.stack(grays).tobytes()
    else:
        sys.exit(f"unknown photometric {pi}")
    save(ds, args.out)
    with open(args.expected, "wb") as fh:
        for e in expected:
            fh.write(np.ascontiguousarray(e, dtype=np.uint8).tobytes())


def save(ds, path, ts=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)


def make_bmp(args):
    """BUSI PNG -> 8-bit grayscale BMP (img2dcm reads BMP and JPEG only); expected = the PNG."""
    img = Image.open(args.png).convert("L")
    img.save(args.out, format="BMP")
    write_expected(args, np.asarray(img, dtype=np.uint8))


def make_jpg(args):
    """BUSI PNG -> JPEG (img2dcm wraps it as is); expected = the JPEG as libjpeg via Pillow decodes it."""
    Image.open(args.png).convert("L").save(args.out, format="JPEG", quality=90)
    write_expected(args, np.asarray(Image.open(args.out).convert("L"), dtype=np.uint8))


def write_expected(args, g):
    with open(args.expected, "wb") as fh:
        fh.write(g.tobytes())
    print(g.shape[1], g.shape[0])


def make_j2k(args):
    args.rows, args.cols, args.laterality, args.image_laterality = 16, 16, None, None
    args.burned_in, args.lossy, args.regions = None, False, None
    ds = common_dataset(args, 1)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(60)])
    ds["PixelData"].VR = "OB"
    save(ds, args.out, ts="1.2.840.10008.1.2.4.90")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["image", "bmp", "jpg", "j2k"])
    p.add_argument("--out", required=True)
    p.add_argument("--expected")
    p.add_argument("--png")
    p.add_argument("--rows", type=int, default=48)
    p.add_argument("--cols", type=int, default=64)
    p.add_argument("--frames", type=int, default=1)
    p.add_argument("--photometric", default="MONOCHROME2")
    p.add_argument("--bits", type=int, default=8)
    p.add_argument("--planar", type=int, default=0)
    p.add_argument("--palette-bits", type=int, default=8)
    p.add_argument("--palette-scale", type=int, default=257, help="16-bit LUT entry = 8-bit value x this")
    p.add_argument("--window", type=float, nargs=2)
    p.add_argument("--voi-lut", action="store_true", help="16-bit values with a VOI LUT Sequence")
    p.add_argument("--regions", help="JSON list of {format,type,flags,x0,y0,x1,y1,ux,uy,dx,dy}")
    p.add_argument("--laterality")
    p.add_argument("--image-laterality")
    p.add_argument("--burned-in")
    p.add_argument("--lossy", action="store_true")
    args = p.parse_args()
    {"image": make_image, "bmp": make_bmp, "jpg": make_jpg, "j2k": make_j2k}[args.mode](args)


if __name__ == "__main__":
    main()
