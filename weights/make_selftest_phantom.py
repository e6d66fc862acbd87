"""Makes the self-test phantom beside the model and its expected result.

`wecare selftest` runs the model on `busi_unet.selftest.png` (a synthetic breast-ultrasound
phantom: speckle, a dark oval lesion with posterior enhancement; no patient's image) and
compares with `busi_unet.selftest.json`, computed here by ONNX Runtime with the training
recipe's preprocessing and the card's heads (training/card_inference.py), independent of
WeCare's engine. Rerun after replacing the model:
    python3 weights/make_selftest_phantom.py
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort  # noqa: F401  (its version is recorded)
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "training"))
from busi import load_gray  # noqa: E402
from card_inference import CardModel  # noqa: E402

SIZE = 256
rng = np.random.default_rng(20261127)
y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
# Tissue: speckle (Rayleigh) smoothed a little, brighter near the skin, layered.
speckle = rng.rayleigh(1.0, (SIZE, SIZE))
k = np.ones((3, 3)) / 9
pad = np.pad(speckle, 1, mode="edge")
speckle = sum(pad[i:i + SIZE, j:j + SIZE] * k[i, j] for i in range(3) for j in range(3))
tissue = 120 * speckle * (1.15 - 0.5 * y / SIZE) + 20 * np.sin(y / 9.0 + x / 40.0)
# The lesion: a dark oval, wider than tall, with a little internal echo; brighter below it.
cx, cy, a, b = 128, 118, 46, 30
inside = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1
below = (np.abs(x - cx) < a * 0.8) & (y > cy + b) & (y < cy + b + 60)
image = tissue.copy()
image[below] *= 1.35
image[inside] = 18 * speckle[inside]
image[:12, :] = 0  # the skin line
image = np.clip(image, 0, 255).astype(np.uint8)

png = os.path.join(here, "busi_unet.selftest.png")
Image.fromarray(image).save(png, optimize=True)
gray = load_gray(png)
model = CardModel(os.path.join(here, "busi_unet.onnx"))
card = model.card
probs, mask = model.predict(gray)
expected = {
    "image": os.path.basename(png),
    "model": {"name": card["name"], "version": card["version"]},
    "classes": card["classes"],
    "probabilities": [round(float(p), 6) for p in probs],
    "label": model.label(probs),
    "mask_pixels": int(model.lesion_mask(mask, *gray.shape).sum()),
    "made_by": "weights/make_selftest_phantom.py (ONNX Runtime %s)" % ort.__version__,
}
json.dump(expected, open(os.path.join(here, "busi_unet.selftest.json"), "w"), indent=2)
print(json.dumps(expected))
