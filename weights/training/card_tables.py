"""Markdown tables for the model card (weights/README.md) from the CV summaries, so the card's
numbers are the summaries' numbers: the Lite0 UNet's (cv_lite0/summary.json) beside the previous
model's (cv_summary.json, same group-aware folds), on the folds both have. When CV_DIR holds
stack_cv.py's stacker.json, the shipped class decision is that regression's, and the class rows
are its nested-CV numbers (the network head's own stay in the candidates table).

Usage: card_tables.py [CV_DIR] [--update weights/README.md]
  --update: replace the block between <!-- cv-tables:begin --> and <!-- cv-tables:end --> in
  that file with the tables (printed otherwise).
"""
import contextlib
import io
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
update = None
if "--update" in args:
    update = args[args.index("--update") + 1]
    del args[args.index("--update"):args.index("--update") + 2]
s = json.load(open(os.path.join(args[0] if args else os.path.join(here, "cv_lite0"), "summary.json")))
old_all = json.load(open(os.path.join(here, "cv_summary.json")))
old = old_all[old_all["chosen"]]
folds = s["folds_present"]


def ms(d):
    return f"{d['mean']:.3f} ± {d['sd']:.3f}"


def per_fold(d):
    return " / ".join(f"{v:.3f}" for v in d["folds"])


def old_on(d):
    v = [d["folds"][k] for k in folds]
    return f"{np.mean(v):.3f}"


cv_dir = args[0] if args else os.path.join(here, "cv_lite0")
stk = json.load(open(os.path.join(cv_dir, "stacker.json"))) if os.path.exists(os.path.join(cv_dir, "stacker.json")) else None
op = stk["malignant_operating_point"] if stk else s["malignant_operating_point"]
accuracy_argmax = stk["nested_cv"]["accuracy_argmax"] if stk else s["class"]["accuracy"]
auc_malignant = stk["nested_cv"]["auc_malignant"] if stk else s["class"]["auc_malignant"]
rows = [
    ("Dice, lesion images", s["mask"]["dice_lesion"], old["dice_lesion"]),
    ("Dice, all images (normal: 1 when both empty)", s["mask"]["dice_all"], old["dice_all"] if "folds" in old["dice_all"] else None),
    ("3-class accuracy, at the operating point", op["accuracy_3class"], old["accuracy"]),
    ("3-class accuracy, argmax", accuracy_argmax, old["accuracy"]),
    ("AUC malignant vs rest", auc_malignant, None),
    ("malignant sensitivity, at the operating point", op["sensitivity"], old["per_class"]["malignant"]["sensitivity"]),
    ("malignant specificity, at the operating point", op["specificity"], old["per_class"]["malignant"]["specificity"]),
]
for name in ("normal", "benign"):
    for m in ("sensitivity", "specificity"):
        rows.append((f"{name} {m}, argmax{' (network head)' if stk else ''}", s["class"]["per_class_argmax"][name][m], old["per_class"][name][m]))


def candidates():
    """Plain vs flip-averaged inference from the fold files' per-image out-of-fold records: lesion
    Dice at each variant's best grid point, argmax accuracy and AUC (malignant vs rest)."""
    import glob
    from score_lite_cv import auc
    imgs, grid = [], None
    for f in sorted(glob.glob(os.path.join(cv_dir, "fold*.json"))):
        d = json.load(open(f))
        imgs += d["images"]
        grid = d["grid"]
    y = np.array([r["label"] for r in imgs])
    rows = {}
    for v in ("plain", "flip"):
        dice = np.array([r[f"dice_{v}"] for r in imgs])[y > 0].mean(0)
        k = int(np.argmax(dice))
        lg = np.array([r[f"logits_{v}"] for r in imgs])
        p = np.exp(lg - lg.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        rows[v] = (float(dice[k]), grid[k], float((lg.argmax(1) == y).mean()), float(auc(p[:, 2], y == 2)))
    return rows


out = io.StringIO()
with contextlib.redirect_stdout(out):
    print(f"Folds {folds} ({'all five' if s['complete'] else 'not yet all five'}); previous model = {old_all['chosen']} on the same folds.\n")
    print("| metric | Lite0 UNet, mean ± sd | per fold | previous model, same folds |")
    print("|---|---|---|---|")
    for name, d, o in rows:
        print(f"| {name} | {ms(d)} | {per_fold(d)} | {old_on(o) if o and 'folds' in o else '-'} |")
    c = s["calibration"]
    print(f"\n{'Network head alone: pooled' if stk else 'Pooled'} AUC {s['class']['auc_malignant'].get('pooled')}. Calibration: temperature {c['temperature']} "
          f"(per held-out fold {c['temperature_by_held_out_fold']}), ECE (15 bins) {c['ece_before']} -> {c['ece_after']} "
          f"(cross-fitted {c['ece_after_crossfitted']}), NLL {c['nll_before']} -> {c['nll_after']}.")
    if stk:
        n = stk["nested_cv"]
        print(f"Class decision: stack_cv.py's logistic regression over the logits and the mask ({', '.join(stk['features'])}), "
              f"L2 lambda {stk['lambda']} (nested choices {stk['lambda_nested']}), temperature {stk['temperature']}; "
              f"nested-CV pooled accuracy {n['accuracy_argmax_pooled']} (network head {n['network_accuracy_argmax_pooled']}), "
              f"pooled AUC {n['auc_malignant_pooled']}, ECE {n['ece_before']} -> {n['ece_after_crossfitted']} (cross-fitted); "
              f"argmax confusion {n['confusion_argmax']}. The network head's calibration above is kept for comparison.")
    print(f"Operating point: p(malignant) >= {op['threshold']} (calibrated); pooled sensitivity {op['pooled_sensitivity']}, "
          f"specificity {op['pooled_specificity']}. Confusion at it (rows truth normal/benign/malignant): {op['confusion']}.")
    m = s["mask"]
    print(f"Mask: {m['variant']}, threshold {m['threshold']}, minimum area {m['min_area_fraction']}; normal images with a mark "
          f"{m['normal_images_with_a_mark']} of {m['normal_images']}; lesion images with no mark {m['lesion_images_missed']}.")
    print(f"Training time per fold (2 cores, s): {s['train_s_per_fold']}")
    print("\nCandidates on the same out-of-fold images (pooled; argmax accuracy, uncalibrated):\n")
    print("| candidate | lesion Dice (threshold, min area) | accuracy | AUC malignant |")
    print("|---|---|---|---|")
    print(f"| previous model (b16 UNet from scratch, 256 px), same folds | {old_on(old['dice_lesion'])} (0.3, 0.002) | {old_on(old['accuracy'])} | {old['auc_malignant']['mean']:.3f} (5 folds) |")
    for v, (dice, g, acc, a) in candidates().items():
        print(f"| Lite0 UNet, {'horizontal-flip averaging' if v == 'flip' else 'plain inference'} | {dice:.3f} ({g[0]}, {g[1]}) | {acc:.3f} | {a:.3f} |")
    if stk:
        n = stk["nested_cv"]
        print(f"| Lite0 UNet, flip averaging + class stacker (nested CV) | {s['mask']['dice_lesion']['mean']:.3f} (fold mean; mask unchanged) | "
              f"{n['accuracy_argmax_pooled']:.3f} | {n['auc_malignant_pooled']:.3f} |")
    print("\nAgainst issue 20's targets (mean over folds):\n")
    print("| | target | Lite0 UNet (shipped) | previous model, same folds |")
    print("|---|---|---|---|")
    print(f"| Dice, lesion images | >= 0.77 | {s['mask']['dice_lesion']['mean']:.3f} | {old_on(old['dice_lesion'])} |")
    print(f"| 3-class accuracy (at the operating point) | >= 0.87 | {op['accuracy_3class']['mean']:.3f} | {old_on(old['accuracy'])} |")
    print(f"| 3-class accuracy (argmax) | - | {accuracy_argmax['mean']:.3f} | {old_on(old['accuracy'])} |")
    print(f"| AUC malignant vs rest | >= 0.94 | {auc_malignant['mean']:.3f} | {old['auc_malignant']['mean']:.3f} (5 folds) |")
    print(f"| malignant sensitivity at the operating point | >= 0.85 | {op['sensitivity']['mean']:.3f} | {old_on(old['per_class']['malignant']['sensitivity'])} (argmax) |")
text = out.getvalue()
if update is None:
    print(text, end="")
else:
    doc = open(update).read()
    begin, end = "<!-- cv-tables:begin -->\n", "<!-- cv-tables:end -->"
    i, j = doc.index(begin) + len(begin), doc.index(end)
    open(update, "w").write(doc[:i] + text + doc[j:])
    print(f"updated {update}")
