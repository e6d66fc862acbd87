"""Independent reference for the Reporting tests: the shipped model through ONNX Runtime with the
training recipe's own preprocessing and the card's heads (weights/training/card_inference.py).
Prints JSON."""
import json
import os
import sys

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(root, "weights", "training"))
from busi import load_gray  # noqa: E402
from card_inference import CardModel  # noqa: E402

image = load_gray(sys.argv[1])
probs, mask = CardModel(os.path.join(root, "weights", "busi_unet.onnx")).predict(image)
print(json.dumps({"probs": probs.tolist(), "mask_sum": float(mask.sum()), "width": image.shape[1], "height": image.shape[0]}))
