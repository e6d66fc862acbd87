"""Train the EfficientNet-Lite0 UNet (lite_model.py) for one CV fold (--val-fold K) or on all
images (--val-fold -1), on CPUs, surviving interruption.

After every epoch the model, optimizer, scheduler, RNG states and epoch go to --ckpt-dir/ckpt.pt
(written atomically); the same command resumes from there. A finished fold writes --json-out:
per-image out-of-fold predictions (class logits, lesion Dice at source resolution for a grid of
thresholds and minimum areas, predicted and true lesion pixel counts), plain and with horizontal-
flip averaging, plus the fold's scores. When --json-out exists the run is skipped. Probability
maps (uint8) stay in --ckpt-dir/oof.npz for rescoring; the final run (--val-fold -1) exports ONNX.

Data: the busi.py cache (adaptive-average resize to --size, once): busi.py BUSI OUT.npz 224
"""
import argparse
import json
import math
import os
import random
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lite_model import LiteUNet, count_gflop, count_params  # noqa: E402

CLASSES = ("normal", "benign", "malignant")
THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
MIN_AREA_FRACTIONS = (0.0, 0.002, 0.005)

p = argparse.ArgumentParser()
p.add_argument("--cache", required=True, help="busi.py cache at --size")
p.add_argument("--busi", default=None, help="BUSI folder, for scoring at source resolution")
p.add_argument("--val-fold", type=int, required=True)
p.add_argument("--size", type=int, default=224)
p.add_argument("--epochs", type=int, default=20)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--lr", type=float, default=1e-3, help="decoder and head")
p.add_argument("--enc-lr-mult", type=float, default=0.3, help="encoder lr = lr x this")
p.add_argument("--wd", type=float, default=1e-2, help="AdamW weight decay (conv/linear weights only)")
p.add_argument("--warmup-epochs", type=float, default=2)
p.add_argument("--cls-weight", type=float, default=1.0, help="class loss weight against Dice+BCE")
p.add_argument("--seed", type=int, default=17)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--eval-every", type=int, default=5, help="log validation scores (224 px, no selection) every N epochs")
p.add_argument("--limit", type=int, default=0, help="use only N images (smoke tests)")
p.add_argument("--stop-after", type=int, default=0, help="exit after N epochs of this invocation (tests resume)")
p.add_argument("--ckpt-dir", required=True)
p.add_argument("--json-out", default=None)
args = p.parse_args()

if args.json_out and os.path.exists(args.json_out):
    print("done already:", args.json_out, flush=True)
    sys.exit(0)
torch.set_num_threads(args.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
os.makedirs(args.ckpt_dir, exist_ok=True)
ckpt_path = os.path.join(args.ckpt_dir, "ckpt.pt")

# ---- data -----------------------------------------------------------------------------------
d = np.load(args.cache)
n = len(d["labels"])
sel = np.arange(n)
if args.limit:  # a few images of every fold and class, for smoke tests
    rng0 = np.random.RandomState(0)
    sel = np.sort(rng0.permutation(n)[:args.limit])
scale = 255.0 if d["images"].dtype == np.uint8 else 256.0 * 255.0
images = torch.from_numpy(d["images"][sel].astype(np.float32) / scale).unsqueeze(1)
masks = torch.from_numpy(d["masks"][sel].astype(np.float32) / 255.0).unsqueeze(1)
labels = torch.from_numpy(d["labels"][sel])
folds = torch.from_numpy(d["folds"][sel])
ids = [str(x) for x in d["ids"][sel]]
assert images.shape[-1] == args.size, f"cache is {images.shape[-1]} px, --size {args.size}"
train_idx = torch.nonzero(folds != args.val_fold).flatten()
val_idx = torch.nonzero(folds == args.val_fold).flatten()
xs, ms, ys = images[train_idx], masks[train_idx], labels[train_idx]
counts = torch.bincount(ys, minlength=3).float().clamp(min=1)
class_w = counts.sum() / (3 * counts)  # inverse frequency, mean 1

# ---- model, optimizer, schedule ----------------------------------------------------------------
torch.manual_seed(args.seed)
np.random.seed(args.seed)
random.seed(args.seed)
model = LiteUNet()
load_info = model.load_info


def groups(params, lr):
    decay = [q for q in params if q.ndim > 1]
    no_decay = [q for q in params if q.ndim <= 1]
    return [{"params": decay, "lr": lr, "weight_decay": args.wd}, {"params": no_decay, "lr": lr, "weight_decay": 0.0}]


opt = torch.optim.AdamW(groups(model.encoder_parameters(), args.lr * args.enc_lr_mult) + groups(model.head_parameters(), args.lr))
steps_per_epoch = max(1, len(train_idx) // args.batch)
total_steps = args.epochs * steps_per_epoch
warm = max(1, int(args.warmup_epochs * steps_per_epoch))


def lr_factor(step):
    if step < warm:
        return (step + 1) / warm
    t = (step - warm) / max(1, total_steps - warm)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
config = {k: v for k, v in vars(args).items() if k not in ("stop_after", "json_out", "ckpt_dir", "threads", "eval_every")}
start_epoch, log, train_s = 0, [], 0.0
if os.path.exists(ckpt_path):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    if ck["config"] != config:
        sys.exit(f"{ckpt_path} was written with {ck['config']}, not {config}: remove it or use another --ckpt-dir")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    sched.load_state_dict(ck["sched"])
    torch.set_rng_state(ck["rng_torch"])
    np.random.set_state(ck["rng_numpy"])
    random.setstate(ck["rng_python"])
    start_epoch, log, train_s = ck["epoch"], ck["log"], ck["train_s"]
    print(f"resumed from {ckpt_path} after epoch {start_epoch}", flush=True)


def save_ckpt(epoch):
    tmp = ckpt_path + ".tmp"
    torch.save({"config": config, "model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "rng_torch": torch.get_rng_state(), "rng_numpy": np.random.get_state(), "rng_python": random.getstate(),
                "epoch": epoch, "log": log, "train_s": train_s}, tmp)
    os.replace(tmp, ckpt_path)


# ---- augmentation and loss -----------------------------------------------------------------
def augment(x, m):
    """Ultrasound-safe: horizontal flips only (the skin line stays on top), small affine (scale
    0.9-1.1, rotation +-8 deg, shift +-6 %), gain/offset/gamma, multiplicative speckle."""
    b = x.shape[0]
    flip = (torch.rand(b) < 0.5).float() * 2 - 1
    s = torch.empty(b).uniform_(0.9, 1.1)
    a = torch.empty(b).uniform_(-8, 8) * math.pi / 180
    tx, ty = torch.empty(2, b).uniform_(-0.06, 0.06)
    theta = torch.stack([torch.stack([flip * torch.cos(a) / s, -torch.sin(a) / s, tx], 1),
                         torch.stack([flip * torch.sin(a) / s, torch.cos(a) / s, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    m = F.grid_sample(m, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    gain = torch.empty(b, 1, 1, 1).uniform_(0.85, 1.15)
    bias = torch.empty(b, 1, 1, 1).uniform_(-0.05, 0.05)
    gamma = torch.exp(torch.empty(b, 1, 1, 1).uniform_(-0.25, 0.25))
    x = (x.clamp(0, 1) ** gamma) * gain + bias
    sigma = torch.empty(b, 1, 1, 1).uniform_(0, 0.12)
    x = x * (1 + sigma * torch.randn_like(x))
    return x.clamp(0, 1), m


def dice_loss(logits, target):
    q = torch.sigmoid(logits)
    inter = (q * target).sum((1, 2, 3))
    return 1 - (2 * inter + 1) / (q.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)


@torch.no_grad()
def predict(idx, flip=False, batch=32):
    model.eval()
    probs, logits = [], []
    for i in range(0, len(idx), batch):
        xb = images[idx[i:i + batch]]
        ml, cl = model(xb)
        if flip:
            ml2, cl2 = model(torch.flip(xb, dims=[3]))
            ml = (ml + torch.flip(ml2, dims=[3])) / 2  # average logits
            cl = (cl + cl2) / 2
        probs.append(torch.sigmoid(ml)[:, 0])
        logits.append(cl)
    return torch.cat(probs), torch.cat(logits)


def quick_val():
    pm, cl = predict(val_idx)
    t = masks[val_idx][:, 0] > 0.5
    pr = pm > 0.5
    les = labels[val_idx] > 0
    dice = (2 * (pr & t).sum((1, 2)) / (pr.sum((1, 2)) + t.sum((1, 2))).clamp(min=1)).float()
    return {"val_dice224_lesion": round(float(dice[les].mean()), 4),
            "val_acc": round(float((cl.argmax(1) == labels[val_idx]).float().mean()), 4)}


# ---- training ------------------------------------------------------------------------------
print(json.dumps({"fold": args.val_fold, "n_train": len(train_idx), "n_val": len(val_idx), "epochs": args.epochs,
                  "steps_per_epoch": steps_per_epoch, "params": count_params(model), "load": {k: v for k, v in load_info.items() if k != "path"}}), flush=True)
done_here = 0
for epoch in range(start_epoch, args.epochs):
    t0 = time.time()
    model.train()
    perm = torch.randperm(len(train_idx))
    sums = np.zeros(3)
    for i in range(steps_per_epoch):
        idx = perm[i * args.batch:(i + 1) * args.batch]
        x, m = augment(xs[idx], ms[idx])
        mask_logits, class_logits = model(x)
        loss_mask = F.binary_cross_entropy_with_logits(mask_logits, m) + dice_loss(mask_logits, m).mean()
        loss_cls = F.cross_entropy(class_logits, ys[idx], weight=class_w, label_smoothing=0.05)
        loss = loss_mask + args.cls_weight * loss_cls
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        sums += [loss.item(), loss_mask.item(), loss_cls.item()]
    epoch_s = time.time() - t0
    train_s += epoch_s
    entry = {"epoch": epoch + 1, "loss": round(sums[0] / steps_per_epoch, 4), "loss_mask": round(sums[1] / steps_per_epoch, 4),
             "loss_cls": round(sums[2] / steps_per_epoch, 4), "lr": round(sched.get_last_lr()[-1], 7), "epoch_s": round(epoch_s, 1)}
    if len(val_idx) and args.eval_every and ((epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs):
        entry.update(quick_val())
    log.append(entry)
    save_ckpt(epoch + 1)
    print(json.dumps(entry), flush=True)
    done_here += 1
    if args.stop_after and done_here >= args.stop_after and epoch + 1 < args.epochs:
        print("stopping after", done_here, "epochs (--stop-after)", flush=True)
        sys.exit(0)

# ---- out-of-fold predictions and scores ----------------------------------------------------
model.eval()
torch.save(model.state_dict(), os.path.join(args.ckpt_dir, "model_final.pt"))
result = {"model": "lite0-unet", "config": config, "val_fold": args.val_fold, "epochs": args.epochs,
          "train_s": round(train_s, 1), "n_train": len(train_idx), "n_val": len(val_idx),
          "params": count_params(model), "gflop": round(count_gflop(model, args.size), 3),
          "encoder_load": {k: v for k, v in load_info.items() if k != "path"}, "log": log}
if args.val_fold < 0:
    from lite_export import export_onnx
    result["onnx_check"] = export_onnx(model, args.size, os.path.join(args.ckpt_dir, "model.onnx"))
else:
    from scipy import ndimage  # noqa: F401  (score_cv needs it)
    from busi import load_mask
    from score_cv import auc, bilinear_upsample, dice_iou, postprocess

    t_eval = time.time()
    variants = {"plain": predict(val_idx), "flip": predict(val_idx, flip=True)}
    np.savez_compressed(os.path.join(args.ckpt_dir, "oof.npz"), idx=val_idx.numpy(), ids=np.array([ids[i] for i in val_idx]),
                        **{f"probs_{k}": np.rint(v[0].numpy() * 255).astype(np.uint8) for k, v in variants.items()},
                        **{f"logits_{k}": v[1].numpy() for k, v in variants.items()})
    grid = [(t, fa) for t in THRESHOLDS for fa in MIN_AREA_FRACTIONS]
    per_image = []
    for j, i in enumerate(val_idx.tolist()):
        rec = {"id": ids[i], "label": int(labels[i]), "fold": args.val_fold}
        truth = None
        if args.busi:
            truth = load_mask(os.path.join(args.busi, "masks", ids[i] + ".png")).astype(bool)
            rec["hw"] = list(truth.shape)
        for name, (pm, cl) in variants.items():
            rec[f"logits_{name}"] = [round(float(v), 4) for v in cl[j]]
            if truth is None:
                continue
            up = bilinear_upsample(pm[j].numpy().astype(np.float64), *truth.shape)
            dices, pxs = [], []
            for t, fa in grid:
                pred = postprocess(up > t, fa * truth.size)
                dices.append(round(float(dice_iou(pred, truth)[0]), 4))
                pxs.append(int(pred.sum()))
            rec[f"dice_{name}"] = dices
            rec[f"pred_px_{name}"] = pxs
        if truth is not None:
            rec["truth_px"] = int(truth.sum())
        per_image.append(rec)
    y = np.array([r["label"] for r in per_image])
    scores = {}
    for name in variants:
        lg = np.array([r[f"logits_{name}"] for r in per_image])
        pr = np.exp(lg - lg.max(1, keepdims=True))
        pr /= pr.sum(1, keepdims=True)
        s = {"accuracy": float((lg.argmax(1) == y).mean()),
             "auc_malignant": float(auc(pr[:, 2], y == 2)) if 0 < (y == 2).sum() < len(y) else None,
             "confusion": [[int(((y == a) & (lg.argmax(1) == b)).sum()) for b in range(3)] for a in range(3)]}
        if args.busi:
            dd = np.array([r[f"dice_{name}"] for r in per_image])
            s["dice_lesion"] = {f"t{t}_a{fa}": round(float(dd[y > 0, k].mean()), 4) for k, (t, fa) in enumerate(grid)}
            s["dice_all"] = {f"t{t}_a{fa}": round(float(dd[:, k].mean()), 4) for k, (t, fa) in enumerate(grid)}
        scores[name] = s
    result.update({"grid": [list(g) for g in grid], "classes": list(CLASSES), "scores": scores,
                   "eval_s": round(time.time() - t_eval, 1), "images": per_image})
if args.json_out:
    os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
    tmp = args.json_out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, separators=(",", ":"))
    os.replace(tmp, args.json_out)
print("done", args.json_out or args.ckpt_dir, json.dumps(result.get("scores", result.get("onnx_check"))), flush=True)
