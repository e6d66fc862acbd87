"""BUSI data and the preprocessing contract shared with the Swift side.

The model sees a grayscale field of view resized to SIZE x SIZE by adaptive average pooling
(output pixel (oy, ox) is the mean of input rows [floor(oy*H/S), ceil((oy+1)*H/S)) and columns
[floor(ox*W/S), ceil((ox+1)*W/S)), exactly torch's adaptive_avg_pool2d), scaled to [0, 1] by /255.
`Analysis.resizeAdaptiveAverage` in Swift implements the same arithmetic.
"""
import csv
import math
import os

import numpy as np
from PIL import Image

SIZE = 256
CLASSES = ("normal", "benign", "malignant")


def adaptive_avg_resize(plane: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Mean over the adaptive pooling bins; float64 in, float64 out."""
    h, w = plane.shape
    # 2-D prefix sums give every bin mean in O(1).
    c = np.zeros((h + 1, w + 1), dtype=np.float64)
    c[1:, 1:] = np.cumsum(np.cumsum(plane.astype(np.float64), axis=0), axis=1)
    y0 = np.array([(i * h) // out_h for i in range(out_h)])
    y1 = np.array([-((-(i + 1) * h) // out_h) for i in range(out_h)])
    x0 = np.array([(j * w) // out_w for j in range(out_w)])
    x1 = np.array([-((-(j + 1) * w) // out_w) for j in range(out_w)])
    s = c[y1][:, x1] - c[y0][:, x1] - c[y1][:, x0] + c[y0][:, x0]
    area = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    return s / area


def read_manifest(root: str):
    with open(os.path.join(root, "manifest.csv")) as f:
        return list(csv.DictReader(f))


def load_gray(path: str) -> np.ndarray:
    img = Image.open(path)
    if img.mode not in ("L", "1"):
        # BUSI is grayscale; anything else goes through the same luminance as the Swift decoder.
        rgb = np.asarray(img.convert("RGB"), dtype=np.float64)
        return np.rint(rgb @ np.array([0.299, 0.587, 0.114])).clip(0, 255).astype(np.uint8)
    return np.asarray(img.convert("L"), dtype=np.uint8)


def load_mask(path: str) -> np.ndarray:
    return (np.asarray(Image.open(path).convert("L")) > 0).astype(np.uint8)


def build_cache(root: str, out_path: str, size: int = SIZE, eight_bit: bool = False) -> None:
    """Resize every image and mask once. Images are stored as 16-bit fixed point (gray*256),
    exact to 1/512 of a gray level, or with eight_bit rounded to gray levels (half the size, for
    carrying to a GPU machine); masks as the covered fraction *255 (soft targets)."""
    rows = read_manifest(root)
    imgs = np.zeros((len(rows), size, size), dtype=np.uint16)
    masks = np.zeros((len(rows), size, size), dtype=np.uint8)
    for i, r in enumerate(rows):
        g = load_gray(os.path.join(root, "images", r["id"] + ".png"))
        m = load_mask(os.path.join(root, "masks", r["id"] + ".png"))
        imgs[i] = np.rint(adaptive_avg_resize(g, size, size) * 256).astype(np.uint16)
        masks[i] = np.rint(adaptive_avg_resize(m, size, size) * 255).astype(np.uint8)
    if eight_bit:
        imgs = np.rint(imgs / 256).astype(np.uint8)
    np.savez_compressed(
        out_path,
        images=imgs,
        masks=masks,
        labels=np.array([CLASSES.index(r["label"]) for r in rows], dtype=np.int64),
        folds=np.array([int(r["fold"]) for r in rows], dtype=np.int64),
        ids=np.array([r["id"] for r in rows]),
    )


if __name__ == "__main__":
    import sys

    # busi.py BUSI_DIR OUT.npz [SIZE] [--8bit]
    args = [a for a in sys.argv[1:] if a != "--8bit"]
    build_cache(args[0], args[1], int(args[2]) if len(args) > 2 else SIZE, "--8bit" in sys.argv)
