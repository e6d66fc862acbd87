#!/usr/bin/env python3
"""pydicom as the reference for segmented palettes (PS3.3 C.7.9.2), independent of WeCare's code.

  palette_reference.py expand STREAMS.json   pydicom's expansion of each hand-made stream:
      input [{"words": [...], "bits": 16|8}, ...], output one JSON line {"luts": [[...] or null]}
      (null when pydicom refuses the stream). 8-bit streams are the words' bytes, low byte first.
  palette_reference.py render NAME OUT.rgb [--frame N]   pydicom-data's file NAME through
      pydicom.pixels.apply_color_lut, 16-bit entries scaled to 8 bits as round(v * 255 / 65535),
      written as interleaved RGB bytes; prints {"path", "rows", "columns"}.
  palette_reference.py break NAME OUT.dcm   NAME with its red segmented LUT starting with a
      linear segment (no entry before it): a palette nobody can expand.
"""
import json
import struct
import sys

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut
from pydicom.pixels.processing import _expand_segmented_lut


def expand(path):
    out = []
    for stream in json.load(open(path)):
        words = stream["words"]
        if stream["bits"] == 8:
            data = struct.unpack(f"<{2 * len(words)}B", struct.pack(f"<{len(words)}H", *words))
            fmt = "<B"
        else:
            data, fmt = tuple(words), "<H"
        try:
            out.append([int(v) for v in _expand_segmented_lut(data, fmt)])
        except Exception:  # noqa: BLE001 - a refusal is an answer here
            out.append(None)
    print(json.dumps({"luts": out}))


def render(name, out, frame):
    path = get_testdata_file(name)
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if getattr(ds, "NumberOfFrames", 1) and int(getattr(ds, "NumberOfFrames", 1)) > 1:
        arr = arr[frame]
    rgb = apply_color_lut(arr, ds)
    if rgb.dtype == np.uint16:
        rgb = ((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    open(out, "wb").write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    print(json.dumps({"path": path, "rows": int(ds.Rows), "columns": int(ds.Columns)}))


def broken(name, out):
    ds = pydicom.dcmread(get_testdata_file(name))
    words = list(struct.unpack(f"<{len(ds.SegmentedRedPaletteColorLookupTableData) // 2}H",
                               ds.SegmentedRedPaletteColorLookupTableData))
    words[0:0] = [1, 4, 100]  # linear segment first: there is no y0 to start from
    ds.SegmentedRedPaletteColorLookupTableData = struct.pack(f"<{len(words)}H", *words)
    ds.save_as(out)
    print(json.dumps({"path": out}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "expand":
        expand(sys.argv[2])
    elif mode == "render":
        frame = int(sys.argv[sys.argv.index("--frame") + 1]) if "--frame" in sys.argv else 0
        render(sys.argv[2], sys.argv[3], frame)
    elif mode == "break":
        broken(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}")
