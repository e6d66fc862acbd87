"""Train one LesionUNet: one cross-validation fold (--val-fold K) or all images (--val-fold -1).

Everything runs on the GPU when there is one (data, augmentation, loss); fixed seeds.
Writes to --out: metrics.json (validation scores when a fold is held out), oof.npz (validation
probabilities, for scoring at source resolution), model.pt, and model.onnx for final runs.
"""
import argparse
import copy
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from model import LesionUNet, count_flops

p = argparse.ArgumentParser()
p.add_argument("--cache", required=True)
p.add_argument("--val-fold", type=int, required=True)
p.add_argument("--base", type=int, default=16)
p.add_argument("--epochs", type=int, default=160)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--seed", type=int, default=17)
p.add_argument("--ema", type=float, default=0, help="keep an exponential moving average of the weights with this decay, and ship it")
p.add_argument("--budget-s", type=float, default=0, help="shorten the schedule to fit this wall time")
p.add_argument("--limit", type=int, default=0, help="use only N images (smoke tests)")
p.add_argument("--out", required=True)
args = p.parse_args()

torch.manual_seed(args.seed)
np.random.seed(args.seed)
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cudnn.benchmark = True
os.makedirs(args.out, exist_ok=True)
t_start = time.time()

d = np.load(args.cache)
n = len(d["labels"]) if not args.limit else args.limit
# Images are 16-bit fixed point (gray*256, busi.py) or, in the smaller copy carried to a GPU
# machine, plain 8-bit gray.
scale = 255.0 if d["images"].dtype == np.uint8 else 256.0 * 255.0
images = torch.from_numpy(d["images"][:n].astype(np.float32) / scale).unsqueeze(1)
masks = torch.from_numpy(d["masks"][:n].astype(np.float32) / 255.0).unsqueeze(1)
labels = torch.from_numpy(d["labels"][:n])
folds = torch.from_numpy(d["folds"][:n])
size = images.shape[-1]

train_idx = torch.nonzero(folds != args.val_fold).flatten()
val_idx = torch.nonzero(folds == args.val_fold).flatten()
xs, ms, ys = images[train_idx].to(dev), masks[train_idx].to(dev), labels[train_idx].to(dev)

# Class weights: inverse frequency, normalised to mean 1.
counts = torch.bincount(ys, minlength=3).float().clamp(min=1)
class_w = (counts.sum() / (3 * counts)).to(dev)

model = LesionUNet(base=args.base).to(dev).to(memory_format=torch.channels_last)
opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
# The averaged weights (when --ema) are what gets validated and exported; BN statistics are
# copied from the live model, whose running averages already smooth over steps.
ema = copy.deepcopy(model).eval() if args.ema else None


def update_ema(step):
    decay = min(args.ema, (1 + step) / (10 + step))
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)
        for b_ema, b in zip(ema.buffers(), model.buffers()):
            b_ema.copy_(b)


def augment(x, m):
    """Ultrasound-safe augmentation: horizontal flips only (the skin line stays on top), mild
    scale/rotation/shift, gain, contrast, gamma and speckle-like multiplicative noise."""
    b = x.shape[0]
    flip = (torch.rand(b, device=dev) < 0.5).float() * 2 - 1
    s = torch.empty(b, device=dev).uniform_(0.85, 1.15)
    a = torch.empty(b, device=dev).uniform_(-10, 10) * math.pi / 180
    tx, ty = torch.empty(2, b, device=dev).uniform_(-0.08, 0.08)
    theta = torch.stack([
        torch.stack([flip * torch.cos(a) / s, -torch.sin(a) / s, tx], 1),
        torch.stack([flip * torch.sin(a) / s, torch.cos(a) / s, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    m = F.grid_sample(m, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    gain = torch.empty(b, 1, 1, 1, device=dev).uniform_(0.8, 1.2)
    bias = torch.empty(b, 1, 1, 1, device=dev).uniform_(-0.08, 0.08)
    gamma = torch.exp(torch.empty(b, 1, 1, 1, device=dev).uniform_(-0.3, 0.3))
    x = (x.clamp(0, 1) ** gamma) * gain + bias
    x = x * (1 + 0.08 * torch.randn_like(x))
    return x.clamp(0, 1), m


def dice_loss(logits, target):
    p = torch.sigmoid(logits)
    inter = (p * target).sum((1, 2, 3))
    denom = p.sum((1, 2, 3)) + target.sum((1, 2, 3))
    return 1 - (2 * inter + 1) / (denom + 1)


steps_per_epoch = max(1, len(train_idx) // args.batch)
epochs = args.epochs
step = 0
total_steps = epochs * steps_per_epoch
warm = 3 * steps_per_epoch
log = []
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(len(train_idx), device=dev)
    for i in range(steps_per_epoch):
        idx = perm[i * args.batch:(i + 1) * args.batch]
        x, m = augment(xs[idx], ms[idx])
        y = ys[idx]
        lr = args.lr * (step / warm if step < warm else 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total_steps - warm))))
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            mask_logits, class_logits = model.forward_logits(x.contiguous(memory_format=torch.channels_last))
        mask_logits, class_logits = mask_logits.float(), class_logits.float()
        loss_mask = F.binary_cross_entropy_with_logits(mask_logits, m) + dice_loss(mask_logits, m).mean()
        loss_cls = F.cross_entropy(class_logits, y, weight=class_w, label_smoothing=0.05)
        loss = loss_mask + 0.5 * loss_cls
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            update_ema(step)
        step += 1
    if epoch == 0:
        t_epoch0 = time.time()
    if epoch == 3 and args.budget_s:
        # Fit the cosine schedule into the wall-time budget, decided once, early.
        per_epoch = (time.time() - t_epoch0) / 3
        fit = 4 + int((args.budget_s - (time.time() - t_start)) / per_epoch)
        if fit < epochs:
            epochs = max(5, fit)
            total_steps = epochs * steps_per_epoch
    if epoch + 1 >= epochs:
        break
    if epoch % 10 == 0:
        log.append({"epoch": epoch, "loss": float(loss.detach()), "loss_cls": float(loss_cls.detach()), "t": time.time() - t_start})
        print(json.dumps(log[-1]), flush=True)

train_s = time.time() - t_start
if ema is not None:
    model = ema
model.eval()
result = {"val_fold": args.val_fold, "base": args.base, "ema": args.ema, "epochs": epochs, "train_s": train_s,
          "n_train": len(train_idx), "gflop": count_flops(LesionUNet(base=args.base), size), "log": log}

if len(val_idx):
    with torch.no_grad():
        probs, cls = [], []
        for i in range(0, len(val_idx), 32):
            xb = images[val_idx[i:i + 32]].to(dev)
            pm, pc = model(xb)
            probs.append(pm.float().cpu())
            cls.append(pc.float().cpu())
    probs = torch.cat(probs)[:, 0].numpy()
    cls = torch.cat(cls).numpy()
    np.savez_compressed(os.path.join(args.out, "oof.npz"), idx=val_idx.numpy(),
                        probs=np.rint(probs * 255).astype(np.uint8), cls=cls)
    result["n_val"] = len(val_idx)

torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
if args.val_fold < 0:
    from export import export_onnx
    result["onnx_check"] = export_onnx(model.cpu(), size, os.path.join(args.out, "model.onnx"))
with open(os.path.join(args.out, "metrics.json"), "w") as f:
    json.dump(result, f, indent=1)
print("done", args.out, round(time.time() - t_start, 1), "s", flush=True)
