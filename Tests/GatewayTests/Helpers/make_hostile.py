#!/usr/bin/env python3
"""Makes hostile variants of a good ultrasound instance for the receive tests, with pydicom.

  make_hostile.py CASE SOURCE.dcm OUT.dcm

Cases (each but other-pixels gets a new SOP Instance UID, in the meta header too):
  nested        50,000 nested sequences of undefined length inside the dataset (1.8 MB): what
                overflowed DCMTK's stack on receive
  truncated     the file cut in the middle of its Pixel Data
  columns-7     Columns 7 smaller than the pixels stored
  bits1         Bits Allocated 1 (Bits Stored 1, High Bit 0), pixel data unchanged
  jpeg-sof      SOURCE is JPEG: Rows and Columns made larger, the JPEG frame header (SOF) left as it is
  rle-offset    SOURCE is RLE: frame 1's first segment offset set to 0xFFFFFF00 (segfaulted DCMTK)
  ct-as-us      SOP Class CT Image Storage and Modality CT in the dataset, while the meta header
                (which becomes the C-STORE command) still says US Image Storage
  modality-ct   US Image Storage with Modality CT
  other-pixels  the same SOP Instance UID with other pixel values
"""
import struct
import sys

import pydicom
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
NESTED_TAG = 0x00081140  # Referenced Image Sequence
DEPTH = 50_000


def encode(ds, little=True, implicit=False):
    fp = DicomBytesIO()
    fp.is_little_endian = little
    fp.is_implicit_VR = implicit
    write_dataset(fp, ds)
    return fp.getvalue()


def part10(ds, dataset_bytes):
    meta = DicomBytesIO()
    meta.is_little_endian = True
    meta.is_implicit_VR = False
    write_file_meta_info(meta, ds.file_meta)
    return b"\0" * 128 + b"DICM" + meta.getvalue() + dataset_bytes


def nested_sequences(depth):
    """depth levels of SQ (undefined length) > item (undefined length), closed in order."""
    group, element = NESTED_TAG >> 16, NESTED_TAG & 0xFFFF
    open_level = struct.pack("<HH2sHI", group, element, b"SQ", 0, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    close_level = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return open_level * depth + close_level * depth


def new_uid(ds):
    uid = generate_uid()
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid


def main():
    case, source, out = sys.argv[1:4]
    ds = pydicom.dcmread(source)
    if case != "other-pixels":
        new_uid(ds)
    explicit_le = ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"

    if case == "nested":
        assert explicit_le, "nested needs an Explicit VR Little Endian source"
        low, high = Dataset(), Dataset()
        for elem in ds:
            (low if elem.tag < NESTED_TAG else high).add(elem)
        data = part10(ds, encode(low) + nested_sequences(DEPTH) + encode(high))
    elif case == "truncated":
        ds.save_as(out, enforce_file_format=True)
        data = open(out, "rb").read()
        data = data[: len(data) - len(ds.PixelData) // 2]
    elif case == "columns-7":
        ds.Columns = ds.Columns - 7
        data = None
    elif case == "bits1":
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
        data = None
    elif case == "jpeg-sof":
        ds.Rows, ds.Columns = ds.Rows + 16, ds.Columns + 16
        data = None
    elif case == "rle-offset":
        pixels = bytearray(ds.PixelData)
        tag, element, table = struct.unpack_from("<HHI", pixels, 0)
        assert (tag, element) == (0xFFFE, 0xE000), "encapsulated pixel data expected"
        header = 8 + table + 8  # past the Basic Offset Table item and the first fragment's item header
        segments, first = struct.unpack_from("<II", pixels, header)
        assert first == 64, f"RLE header expected, first offset {first}"
        struct.pack_into("<I", pixels, header + 4, 0xFFFFFF00)
        ds.PixelData = bytes(pixels)
        data = None
    elif case == "ct-as-us":
        assert explicit_le, "ct-as-us needs an Explicit VR Little Endian source"
        ds.SOPClassUID = CT_IMAGE
        ds.Modality = "CT"
        # Written by hand so the meta header keeps US Image Storage (pydicom would follow the dataset).
        data = part10(ds, encode(ds))
    elif case == "modality-ct":
        ds.Modality = "CT"
        data = None
    elif case == "other-pixels":
        ds.PixelData = bytes(255 - b for b in ds.PixelData)
        data = None
    else:
        sys.exit(f"unknown case {case}")

    if data is None:
        ds.save_as(out, enforce_file_format=True)
    else:
        with open(out, "wb") as f:
            f.write(data)
    print(ds.SOPInstanceUID)


if __name__ == "__main__":
    main()
