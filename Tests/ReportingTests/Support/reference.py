"""Independent reference for the Reporting tests: the shipped model through ONNX Runtime with the
training recipe's own preprocessing (weights/training/busi.py). Prints JSON."""
import json
import os
import sys

import numpy as np
import onnxruntime as ort

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(root, "weights", "training"))
from busi import adaptive_avg_resize, load_gray  # noqa: E402

image = load_gray(sys.argv[1])
x = (adaptive_avg_resize(image, 256, 256) / 255.0).astype(np.float32)[None, None]
sess = ort.InferenceSession(os.path.join(root, "weights", "busi_unet.onnx"), providers=["CPUExecutionProvider"])
mask, probs = sess.run(None, {"image": x})
print(json.dumps({"probs": probs[0].tolist(), "mask_sum": float(mask.sum()), "width": image.shape[1], "height": image.shape[0]}))
