"""The shipped model as its card (weights/<model>.json) describes it, run by ONNX Runtime: the
training recipe's preprocessing (adaptive average resize to the card's input, gray / 255), the
outputs the card's heads name, the mirrored run averaged in when `flip_average` says so (averaged
as the network gives them, before the activations, as cross-validation scored it), then sigmoid /
softmax with the fitted temperature, or, when the card has a `class_stacker`, that regression over
the logits and the mask (stack_cv.py's own feature code). The independent reference the engine's tests and the
self-test phantom are checked against.

    from card_inference import CardModel
    m = CardModel("weights/busi_unet.onnx"); probs, mask = m.predict(gray_uint8_image)
"""
import json
import os

import numpy as np
import onnxruntime as ort

from busi import adaptive_avg_resize
from score_lite_cv import softmax

PROBABILITY_HEADS = {"mask": {"output": "mask", "activation": "none"},
                     "classes": {"output": "class_probs", "activation": "none"}}


class CardModel:
    def __init__(self, onnx_path, threads=1):
        self.card = json.load(open(os.path.splitext(onnx_path)[0] + ".json"))
        self.heads = self.card.get("heads", PROBABILITY_HEADS)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        _, _, self.height, self.width = self.card["input"]["shape"]

    def raw(self, x):
        outs = dict(zip([o.name for o in self.session.get_outputs()],
                        self.session.run(None, {self.card["input"]["name"]: x})))
        return outs[self.heads["mask"]["output"]][0, 0].astype(np.float64), outs[self.heads["classes"]["output"]][0].astype(np.float64)

    def predict(self, gray):
        """Class probabilities (card order) and the lesion probability map at model resolution."""
        x = (adaptive_avg_resize(gray, self.height, self.width) / 255.0).astype(np.float32)[None, None]
        mask, classes = self.raw(x)
        if self.card.get("flip_average", False):
            m2, c2 = self.raw(np.ascontiguousarray(x[..., ::-1]))
            mask, classes = (mask + m2[:, ::-1]) / 2, (classes + c2) / 2
        if self.heads["mask"].get("activation") == "sigmoid":
            mask = 1 / (1 + np.exp(-mask))
        stacker = self.card.get("class_stacker")
        if stacker is not None:
            from stack_cv import features, scores
            row = features(classes, mask, stacker["mask_threshold"], stacker["min_area_fraction"])[None]
            regression = tuple(np.array(stacker[k]) for k in ("mean", "sd", "weights", "bias"))
            classes = softmax(scores(regression, row) / stacker["temperature"])[0]
        elif self.heads["classes"].get("activation") == "softmax":
            classes = softmax(classes[None] / self.heads["classes"].get("temperature", 1.0))[0]
        return classes, mask

    def lesion_mask(self, probability_map, height, width):
        """The lesion mask at source resolution as the product makes it: bilinear upsampling,
        the card's threshold, components under its minimum area dropped, holes filled."""
        from score_cv import bilinear_upsample, postprocess
        up = bilinear_upsample(probability_map, height, width)
        return postprocess(up > self.card["threshold"], self.card["min_area_fraction"] * height * width)

    def label(self, probs):
        """The reported class: the operating point's class when its probability reaches the
        threshold, else the most probable other class (plain argmax without an operating point)."""
        classes = self.card["classes"]
        op = self.card.get("operating_point")
        if op is None:
            return classes[int(np.argmax(probs))]
        k = classes.index(op["class"])
        if probs[k] >= op["threshold"]:
            return classes[k]
        others = [i for i in range(len(classes)) if i != k]
        return classes[max(others, key=lambda i: probs[i])]
