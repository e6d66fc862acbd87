"""Score cross-validation runs the way the product works, and pick what ships.

For every held-out image: upsample the 256x256 probability map bilinearly (half-pixel centres)
to the source size, threshold, drop components smaller than a fraction of the image, fill holes,
and compare with the source-resolution mask. Threshold and minimum area are chosen here, by
mean cross-validated Dice, as is the candidate network. Prints and writes a JSON summary.
Usage: score_cv.py BUSI_DIR RUNS_DIR OUT_JSON
"""
import json
import os
import sys
from multiprocessing import Pool

import numpy as np
from scipy import ndimage

from busi import CLASSES, load_mask, read_manifest

THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
MIN_AREA_FRACTIONS = (0.0, 0.002)


def bilinear_upsample(p: np.ndarray, h: int, w: int) -> np.ndarray:
    """torch.nn.functional.interpolate(mode='bilinear', align_corners=False), separably."""
    def axis_weights(n_in, n_out):
        src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        src = np.clip(src, 0, n_in - 1)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0
    y0, y1, fy = axis_weights(p.shape[0], h)
    x0, x1, fx = axis_weights(p.shape[1], w)
    rows = p[y0] * (1 - fy)[:, None] + p[y1] * fy[:, None]
    return rows[:, x0] * (1 - fx)[None, :] + rows[:, x1] * fx[None, :]


def postprocess(mask: np.ndarray, min_area: float) -> np.ndarray:
    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n and min_area > 0:
        sizes = ndimage.sum(mask, lab, range(1, n + 1))
        keep = np.zeros(n + 1, bool)
        keep[1:] = sizes >= min_area
        mask = keep[lab]
    return ndimage.binary_fill_holes(mask)


def dice_iou(pred, truth):
    inter = np.logical_and(pred, truth).sum()
    s = pred.sum() + truth.sum()
    union = np.logical_or(pred, truth).sum()
    if s == 0:
        return 1.0, 1.0
    return 2 * inter / s, inter / union


def auc(scores, positives):
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    npos = positives.sum()
    nneg = len(scores) - npos
    return (ranks[positives].sum() - npos * (npos + 1) / 2) / (npos * nneg)


def _grid_for_image(job):
    busi, image_id, prob = job
    truth = load_mask(os.path.join(busi, "masks", image_id + ".png")).astype(bool)
    up = bilinear_upsample(prob, *truth.shape)
    return {(t, fa): dice_iou(postprocess(up > t, fa * truth.size), truth)
            for t in THRESHOLDS for fa in MIN_AREA_FRACTIONS}


def score_candidate(busi, rows, run_dir):
    probs, cls, idxs, fold_of = {}, {}, [], {}
    for fold in range(5):
        f = os.path.join(run_dir, f"f{fold}", "oof.npz")
        if not os.path.exists(f):
            return None
        d = np.load(f)
        for k, i in enumerate(d["idx"]):
            probs[int(i)] = d["probs"][k].astype(np.float64) / 255
            cls[int(i)] = d["cls"][k]
            fold_of[int(i)] = fold
            idxs.append(int(i))
    with Pool() as pool:
        per_image = dict(zip(idxs, pool.map(_grid_for_image, [(busi, rows[i]["id"], probs[i]) for i in idxs])))
    labels = np.array([CLASSES.index(rows[i]["label"]) for i in idxs])
    folds = np.array([fold_of[i] for i in idxs])
    lesion = labels > 0
    grid = {}
    for t in THRESHOLDS:
        for fa in MIN_AREA_FRACTIONS:
            grid[(t, fa)] = np.array([per_image[i][(t, fa)] for i in idxs])
    best = max(grid, key=lambda k: grid[k][lesion, 0].mean())
    di = grid[best]
    c = np.stack([cls[i] for i in idxs])
    pred = c.argmax(1)

    def per_fold(values, sel=None):
        v = [values[(folds == f) & (sel if sel is not None else True)].mean() for f in range(5)]
        return {"mean": float(np.mean(v)), "sd": float(np.std(v)), "folds": [round(float(x), 4) for x in v]}

    out = {
        "threshold": best[0], "min_area_fraction": best[1],
        "dice_lesion": per_fold(di[:, 0], lesion), "iou_lesion": per_fold(di[:, 1], lesion),
        "dice_all": per_fold(di[:, 0]),
        "accuracy": per_fold((pred == labels).astype(float)),
        "auc_malignant": {"mean": float(np.mean([auc(c[folds == f, 2], labels[folds == f] == 2) for f in range(5)])),
                          "sd": float(np.std([auc(c[folds == f, 2], labels[folds == f] == 2) for f in range(5)])),
                          "pooled": float(auc(c[:, 2], labels == 2))},
        "per_class": {},
        "confusion": [[int(((labels == a) & (pred == b)).sum()) for b in range(3)] for a in range(3)],
        "grid_dice_lesion": {f"t{t}_a{fa}": round(float(v[lesion, 0].mean()), 4) for (t, fa), v in grid.items()},
    }
    for k, name in enumerate(CLASSES):
        out["per_class"][name] = {"sensitivity": per_fold((pred == k).astype(float), labels == k),
                                  "specificity": per_fold((pred != k).astype(float), labels != k)}
    return out


def main():
    busi, runs, out_json = sys.argv[1:4]
    rows = read_manifest(busi)
    summary = {}
    for cand in sorted(os.listdir(runs)):
        s = score_candidate(busi, rows, os.path.join(runs, cand))
        if s:
            summary[cand] = s
            print(cand, "dice_lesion %.4f accuracy %.4f auc %.4f t=%s a=%s" % (
                s["dice_lesion"]["mean"], s["accuracy"]["mean"], s["auc_malignant"]["mean"],
                s["threshold"], s["min_area_fraction"]))
    # Ship the candidate with the best sum of CV lesion Dice and CV accuracy.
    summary["chosen"] = max((k for k in summary), key=lambda k: summary[k]["dice_lesion"]["mean"] + summary[k]["accuracy"]["mean"])
    with open(out_json, "w") as f:
        json.dump(summary, f, indent=1)
    print("chosen", summary["chosen"])


if __name__ == "__main__":
    main()
