"""A class decision that also reads the predicted mask: multinomial logistic regression stacked on
the network's out-of-fold outputs, scored by nested cross-validation, written to CV_DIR/stacker.json.

Why: the network's own head confuses benign with normal (43 of 348 benign images called normal
at argmax), while its mask often finds the lesion. Three statistics of the mask probability map
say whether the mask found anything; a 3-class logistic regression reads them beside the class
logits. Every feature is computed at model resolution from what the product already has after
the network (flip-averaged logits and mask probabilities), so the Swift side repeats it exactly.

Features, in order (`FEATURES`; the card carries the names, Swift checks them):
  logit_c - mean(logits), c = normal, benign, malignant  (the network's class evidence)
  sqrt_mask_fraction: sqrt of the fraction of pixels with p >= threshold
  max_probability:    the largest mask probability
  has_mask:           1 when that fraction reaches min_area_fraction, else 0
Standardised with the training rows' mean and sd, L2 penalty `lam` on the weights (not biases).

Honest numbers: every probability in the report is cross-fitted (the regression never saw the
fold it scores); `lam` is chosen inside each outer fold by an inner CV over the other four (nested),
so the reported accuracy pays for that choice too. The shipped regression is fitted on all OOF
rows with the `lam` a 5-fold CV over all of them prefers; the malignant operating point is the
highest threshold on the nested, temperature-scaled p(malignant) whose pooled sensitivity is >= the target.

Usage: stack_cv.py CV_DIR [--oof-root .data-cv/lite0] [--target-sens 0.85]
(CV_DIR holds fold*.json and summary.json from score_lite_cv.py; OOF maps: OOF_ROOT/f*/oof.npz)
"""
import argparse
import json
import os

import numpy as np
from scipy.optimize import minimize

from score_lite_cv import auc, ece, fit_temperature, softmax, stats

FEATURES = ("logit_normal", "logit_benign", "logit_malignant", "sqrt_mask_fraction", "max_probability", "has_mask")
LAMBDAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


def features(logits, probability_map, threshold, min_area_fraction):
    """One row of FEATURES; probability_map in [0, 1] at model resolution."""
    z = np.asarray(logits, np.float64)
    fraction = float((probability_map >= threshold).mean())
    return np.r_[z - z.mean(), np.sqrt(fraction), float(probability_map.max()), float(fraction >= min_area_fraction)]


def fit(X, y, lam):
    """Standardise, then minimise mean cross-entropy + lam * |W|^2. Returns (mean, sd, W, b)."""
    mu, sd = X.mean(0), X.std(0)
    sd[sd < 1e-9] = 1.0
    Xs = (X - mu) / sd
    n, d, k = len(y), X.shape[1], 3

    def loss(wb):
        W, b = wb[:d * k].reshape(d, k), wb[d * k:]
        s = Xs @ W + b
        s = s - s.max(1, keepdims=True)
        lp = s - np.log(np.exp(s).sum(1, keepdims=True))
        g = np.exp(lp)
        g[np.arange(n), y] -= 1
        g /= n
        return -lp[np.arange(n), y].mean() + lam * (W ** 2).sum(), np.r_[(Xs.T @ g + 2 * lam * W).ravel(), g.sum(0)]

    r = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B")
    return mu, sd, r.x[:d * k].reshape(d, k), r.x[d * k:]


def scores(model, X):
    mu, sd, W, b = model
    return ((X - mu) / sd) @ W + b


def predict(model, X):
    return softmax(scores(model, X))


def cross_fit(X, y, folds, lam, fold_ids):
    """Probabilities for the rows of fold_ids, each from a regression fitted on the other folds in fold_ids."""
    P = np.zeros((len(y), 3))
    inside = np.isin(folds, fold_ids)
    for f in fold_ids:
        train = inside & (folds != f)
        P[folds == f] = predict(fit(X[train], y[train], lam), X[folds == f])
    return P


def accuracy(P, y, rows):
    return float((P[rows].argmax(1) == y[rows]).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cv_dir")
    ap.add_argument("--oof-root", default=".data-cv/lite0")
    ap.add_argument("--target-sens", type=float, default=0.85)
    a = ap.parse_args()
    summary = json.load(open(os.path.join(a.cv_dir, "summary.json")))
    variant, threshold = summary["mask"]["variant"], summary["mask"]["threshold"]
    min_area = summary["mask"]["min_area_fraction"]
    fold_ids = summary["folds_present"]

    rows, y, folds = [], [], []
    for f in fold_ids:
        labels = {im["id"]: im["label"] for im in json.load(open(os.path.join(a.cv_dir, f"fold{f}.json")))["images"]}
        oof = np.load(os.path.join(a.oof_root, f"f{f}", "oof.npz"))
        for i, image_id in enumerate(oof["ids"]):
            p = oof[f"probs_{variant}"][i].astype(np.float64) / 255.0
            rows.append(features(oof[f"logits_{variant}"][i], p, threshold, min_area))
            y.append(labels[str(image_id)])
            folds.append(f)
    X, y, folds = np.array(rows), np.array(y), np.array(folds)
    everyone = np.ones(len(y), bool)

    # Nested: the outer fold's rows are scored by a regression whose lam the other four chose.
    nested_scores = np.zeros((len(y), 3))
    chosen = {}
    for f in fold_ids:
        inner = [g for g in fold_ids if g != f]
        rows_in = folds != f
        lam = max(LAMBDAS, key=lambda l: accuracy(cross_fit(X, y, folds, l, inner), y, rows_in))
        chosen[str(f)] = lam
        nested_scores[folds == f] = scores(fit(X[rows_in], y[rows_in], lam), X[folds == f])

    # A regression fitted on 500 images is a little over-confident on the other 122: one
    # temperature on its nested scores, and its ECE cross-fitted (T from the other folds' rows).
    temperature = fit_temperature(nested_scores, y)
    crossfit_t = {f: fit_temperature(nested_scores[folds != f], y[folds != f]) for f in fold_ids}
    recalibrated = np.zeros_like(nested_scores)
    for f in fold_ids:
        recalibrated[folds == f] = softmax(nested_scores[folds == f] / crossfit_t[f])
    nested = softmax(nested_scores / temperature)

    # The shipped regression: lam by 5-fold CV over all rows, fitted on all rows.
    by_lam = {l: accuracy(cross_fit(X, y, folds, l, fold_ids), y, everyone) for l in LAMBDAS}
    lam = max(LAMBDAS, key=lambda l: by_lam[l])
    mu, sd, W, b = fit(X, y, lam)

    # Malignant operating point on the nested probabilities.
    pm = nested[:, 2]
    positives = y == 2
    candidates = sorted(set(pm[positives]), reverse=True)
    op = next(t for t in candidates if (pm[positives] >= t).mean() >= a.target_sens)
    called = np.where(pm >= op, 2, np.where(nested[:, 1] >= nested[:, 0], 1, 0))

    def per_fold(fn):
        return stats([fn(folds == f) for f in fold_ids])

    network = softmax(X[:, :3])  # centred logits: the same softmax as the network's own head
    out = {
        "features": list(FEATURES),
        "mask_threshold": threshold, "min_area_fraction": min_area, "variant": variant,
        "lambda": lam, "lambda_cv_accuracy": {str(k): round(v, 4) for k, v in by_lam.items()},
        "lambda_nested": chosen,
        "temperature": round(temperature, 4),
        "mean": mu.round(6).tolist(), "sd": sd.round(6).tolist(),
        "weights": W.round(6).tolist(), "bias": b.round(6).tolist(),
        "nested_cv": {
            "accuracy_argmax": per_fold(lambda r: accuracy(nested, y, r)),
            "accuracy_argmax_pooled": round(accuracy(nested, y, everyone), 4),
            "network_accuracy_argmax_pooled": round(accuracy(network, y, everyone), 4),
            "auc_malignant": per_fold(lambda r: auc(nested[r, 2], positives[r])),
            "auc_malignant_pooled": round(auc(pm, positives), 4),
            "ece_before": round(ece(softmax(nested_scores), y), 4),
            "ece_after_crossfitted": round(ece(recalibrated, y), 4),
            "confusion_argmax": [[int(((y == t) & (nested.argmax(1) == p)).sum()) for p in range(3)] for t in range(3)],
        },
        "malignant_operating_point": {
            "target_sensitivity": a.target_sens, "threshold": round(float(op), 6),
            "sensitivity": per_fold(lambda r: float((pm[r & positives] >= op).mean())),
            "specificity": per_fold(lambda r: float((pm[r & ~positives] < op).mean())),
            "pooled_sensitivity": round(float((pm[positives] >= op).mean()), 4),
            "pooled_specificity": round(float((pm[~positives] < op).mean()), 4),
            "accuracy_3class": per_fold(lambda r: float((called[r] == y[r]).mean())),
            "accuracy_3class_pooled": round(float((called == y).mean()), 4),
            "confusion": [[int(((y == t) & (called == p)).sum()) for p in range(3)] for t in range(3)],
        },
    }
    with open(os.path.join(a.cv_dir, "stacker.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps({"lambda": lam, "nested": out["nested_cv"]["accuracy_argmax"],
                      "network": out["nested_cv"]["network_accuracy_argmax_pooled"],
                      "auc": out["nested_cv"]["auc_malignant_pooled"], "ece": [out["nested_cv"]["ece_before"], out["nested_cv"]["ece_after_crossfitted"]], "T": out["temperature"],
                      "op": {k: out["malignant_operating_point"][k] for k in ("threshold", "pooled_sensitivity", "pooled_specificity", "accuracy_3class_pooled")}}, indent=1))


if __name__ == "__main__":
    main()
