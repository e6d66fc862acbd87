"""Aggregate the Lite0 CV fold files (lite_train.py --json-out) into CV_DIR/summary.json.

Works on whatever folds exist (the summary says which). Everything is chosen on the out-of-fold
predictions only:
- mask: inference variant (plain or horizontal-flip averaging), threshold and minimum area by the
  pooled mean lesion Dice at source resolution (after upsampling and postprocessing, as the
  product works); Dice/IoU-free summary: lesion Dice mean, sd and per fold, all-image Dice;
- class: 3-class accuracy (argmax), AUC malignant vs rest, per-class sensitivity/specificity;
- calibration: one temperature fitted on the pooled OOF logits (NLL), expected calibration error
  (15 bins, top label) before and after; also cross-fitted (T fitted on the other folds) so the
  "after" number is not scored on the data it was fitted on;
- malignant operating point: the highest threshold on the calibrated malignant probability whose
  pooled OOF sensitivity is >= 0.85 (so the best specificity that allows it); the 3-class
  decision is then "malignant if p_malignant >= threshold, else argmax of normal/benign".
Usage: score_lite_cv.py CV_DIR [--variant plain|flip] [--target-sens 0.85]
"""
import argparse
import glob
import json
import os

import numpy as np
from scipy.optimize import minimize_scalar

CLASSES = ("normal", "benign", "malignant")


def auc(scores, positives):
    positives = np.asarray(positives, bool)
    npos, nneg = positives.sum(), (~positives).sum()
    if npos == 0 or nneg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = np.asarray(scores)[order]
    r = np.arange(1, len(s) + 1, dtype=float)
    # average ranks over ties
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        r[i:j + 1] = (i + j + 2) / 2
        i = j + 1
    ranks[order] = r
    return float((ranks[positives].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(logits, y, t):
    p = softmax(logits / t)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())


def fit_temperature(logits, y):
    r = minimize_scalar(lambda lt: nll(logits, y, np.exp(lt)), bounds=(np.log(0.05), np.log(20)), method="bounded")
    return float(np.exp(r.x))


def ece(probs, y, bins=15):
    conf = probs.max(1)
    correct = probs.argmax(1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def stats(values_by_fold):
    v = [x for x in values_by_fold if x is not None]
    return {"mean": round(float(np.mean(v)), 4) if v else None, "sd": round(float(np.std(v)), 4) if v else None,
            "folds": [None if x is None else round(float(x), 4) for x in values_by_fold]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cv_dir")
    ap.add_argument("--busi", default=None, help="unused; accepted for lite_cv.sh")
    ap.add_argument("--variant", choices=("plain", "flip"), default=None, help="default: chosen by OOF lesion Dice")
    ap.add_argument("--target-sens", type=float, default=0.85)
    a = ap.parse_args()

    files = sorted(glob.glob(os.path.join(a.cv_dir, "fold[0-9].json")))
    if not files:
        raise SystemExit(f"no fold*.json in {a.cv_dir}")
    runs = [json.load(open(f)) for f in files]
    grid = [tuple(g) for g in runs[0]["grid"]]
    imgs = [r for run in runs for r in run["images"]]
    fold_ids = [run["val_fold"] for run in runs]
    folds = np.array([r["fold"] for r in imgs])
    y = np.array([r["label"] for r in imgs])
    lesion = y > 0
    variants = [v for v in ("plain", "flip") if f"dice_{v}" in imgs[0]]

    # ---- mask: variant, threshold, minimum area on pooled OOF lesion Dice --------------------
    dice = {v: np.array([r[f"dice_{v}"] for r in imgs]) for v in variants}
    grid_lesion = {v: {f"t{t}_a{fa}": round(float(dice[v][lesion, k].mean()), 4) for k, (t, fa) in enumerate(grid)} for v in variants}
    cands = [(v, k) for v in (variants if a.variant is None else [a.variant]) for k in range(len(grid))]
    best_v, best_k = max(cands, key=lambda c: dice[c[0]][lesion, c[1]].mean())
    di = dice[best_v][:, best_k]
    per_fold = lambda vals, sel=None: stats([float(vals[(folds == f) & (True if sel is None else sel)].mean())
                                             if ((folds == f) & (True if sel is None else sel)).any() else None for f in fold_ids])
    pred_px = np.array([r[f"pred_px_{best_v}"][best_k] for r in imgs])
    mask_out = {
        "variant": best_v, "threshold": grid[best_k][0], "min_area_fraction": grid[best_k][1],
        "dice_lesion": per_fold(di, lesion), "dice_all": per_fold(di),
        "normal_images_with_a_mark": int((pred_px[~lesion] > 0).sum()), "normal_images": int((~lesion).sum()),
        "lesion_images_missed": int((pred_px[lesion] == 0).sum()),
        "grid_dice_lesion": grid_lesion,
    }

    # ---- class ----------------------------------------------------------------------------
    cls_variant = a.variant or best_v
    logits = np.array([r[f"logits_{cls_variant}"] for r in imgs], dtype=np.float64)
    prob = softmax(logits)
    pred = prob.argmax(1)
    class_out = {
        "variant": cls_variant,
        "accuracy": per_fold((pred == y).astype(float)),
        "auc_malignant": {**stats([auc(prob[folds == f, 2], y[folds == f] == 2) for f in fold_ids]),
                          "pooled": round(auc(prob[:, 2], y == 2), 4)},
        "confusion_argmax": [[int(((y == i) & (pred == j)).sum()) for j in range(3)] for i in range(3)],
        "per_class_argmax": {name: {"sensitivity": per_fold((pred == k).astype(float), y == k),
                                    "specificity": per_fold((pred != k).astype(float), y != k)} for k, name in enumerate(CLASSES)},
    }

    # ---- calibration ----------------------------------------------------------------------
    t = fit_temperature(logits, y)
    cal = softmax(logits / t)
    cross = np.zeros_like(cal)
    t_cross = {}
    for f in fold_ids:
        others = folds != f
        tf = fit_temperature(logits[others], y[others]) if len(fold_ids) > 1 else t
        t_cross[str(f)] = round(tf, 4)
        cross[folds == f] = softmax(logits[folds == f] / tf)
    calib = {"temperature": round(t, 4), "ece_before": round(ece(prob, y), 4), "ece_after": round(ece(cal, y), 4),
             "ece_after_crossfitted": round(ece(cross, y), 4), "temperature_by_held_out_fold": t_cross,
             "nll_before": round(nll(logits, y, 1.0), 4), "nll_after": round(nll(logits, y, t), 4), "bins": 15}

    # ---- malignant operating point --------------------------------------------------------
    pm = cal[:, 2]
    mal = y == 2
    cands = np.unique(pm[mal])[::-1]  # thresholds at malignant scores, high to low
    thr = None
    for c in cands:
        if (pm[mal] >= c).mean() >= a.target_sens:
            thr = float(c)
            break
    op = {"target_sensitivity": a.target_sens, "score": f"calibrated p(malignant), T={round(t, 4)}"}
    if thr is not None:
        thr_ship = float(np.nextafter(thr, 0))  # ">=" exactly at the chosen OOF score
        call_mal = pm >= thr
        pred_op = np.where(call_mal, 2, cal[:, :2].argmax(1))
        op.update({"threshold": round(thr_ship, 6),
                   "sensitivity": per_fold(call_mal.astype(float), mal), "specificity": per_fold((~call_mal).astype(float), ~mal),
                   "pooled_sensitivity": round(float(call_mal[mal].mean()), 4), "pooled_specificity": round(float((~call_mal[~mal]).mean()), 4),
                   "accuracy_3class": per_fold((pred_op == y).astype(float)),
                   "confusion": [[int(((y == i) & (pred_op == j)).sum()) for j in range(3)] for i in range(3)]})
    argmax_mal = pred == 2
    op["at_argmax"] = {"sensitivity": per_fold(argmax_mal.astype(float), mal), "specificity": per_fold((~argmax_mal).astype(float), ~mal)}

    ref = None
    ref_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cv_summary.json")
    if os.path.exists(ref_path):
        r = json.load(open(ref_path))
        c = r.get(r.get("chosen", ""), {})
        if c:
            ref = {"name": r["chosen"], "dice_lesion": round(c["dice_lesion"]["mean"], 4), "accuracy": round(c["accuracy"]["mean"], 4),
                   "auc_malignant": round(c["auc_malignant"]["mean"], 4),
                   "dice_lesion_folds": c["dice_lesion"]["folds"], "accuracy_folds": c["accuracy"]["folds"]}

    summary = {"model": runs[0].get("model"), "config": runs[0].get("config"), "folds_present": fold_ids,
               "complete": sorted(fold_ids) == [0, 1, 2, 3, 4], "n_images": len(imgs),
               "train_s_per_fold": [run.get("train_s") for run in runs], "epochs": [run.get("epochs") for run in runs],
               "params": runs[0].get("params"), "gflop": runs[0].get("gflop"),
               "mask": mask_out, "class": class_out, "calibration": calib, "malignant_operating_point": op,
               "previous_model_cv": ref}
    out = os.path.join(a.cv_dir, "summary.json")
    with open(out, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"folds {fold_ids}: lesion Dice {mask_out['dice_lesion']['mean']} ({best_v}, t={grid[best_k][0]}, a={grid[best_k][1]}), "
          f"accuracy {class_out['accuracy']['mean']}, AUC {class_out['auc_malignant']['mean']}, T={calib['temperature']} "
          f"ECE {calib['ece_before']}->{calib['ece_after']} (cross-fitted {calib['ece_after_crossfitted']}), "
          f"malignant op sens {op.get('pooled_sensitivity')} spec {op.get('pooled_specificity')} -> {out}")


if __name__ == "__main__":
    main()
