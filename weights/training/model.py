"""WeCare's breast-ultrasound network: a UNet for the lesion mask with a classification head.

One network, two outputs: "mask" (sigmoid lesion probability per pixel) and "class_probs"
(softmax over normal, benign, malignant). The head reads multi-scale encoder context plus the
decoder features pooled under the predicted mask, so the class looks at the lesion itself.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class LesionUNet(nn.Module):
    def __init__(self, base: int = 16, levels: int = 4, classes: int = 3, dropout: float = 0.3):
        super().__init__()
        widths = [base * 2**i for i in range(levels + 1)]  # e.g. 16 32 64 128 | 256
        self.down = nn.ModuleList()
        cin = 1
        for w in widths[:-1]:
            self.down.append(block(cin, w))
            cin = w
        self.bottleneck = block(widths[-2], widths[-1])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w_hi, w_lo in zip(widths[:0:-1], widths[-2::-1]):
            self.up.append(nn.ConvTranspose2d(w_hi, w_lo, 2, stride=2))
            self.dec.append(block(2 * w_lo, w_lo))
        self.head_mask = nn.Conv2d(base, 1, 1)
        feat = widths[-1] + widths[-2] + base + 1
        self.head_class = nn.Sequential(
            nn.Linear(feat, 128), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(128, classes))

    def forward_logits(self, x):
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        context = [F.adaptive_avg_pool2d(x, 1).flatten(1), F.adaptive_avg_pool2d(skips[-1], 1).flatten(1)]
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        mask_logits = self.head_mask(x)
        # Pool decoder features under the (detached) predicted mask: the class sees the lesion.
        m = torch.sigmoid(mask_logits).detach()
        lesion = [F.adaptive_avg_pool2d(x * m, 1).flatten(1), F.adaptive_avg_pool2d(m, 1).flatten(1)]
        class_logits = self.head_class(torch.cat(context + lesion, dim=1))
        return mask_logits, class_logits

    def forward(self, x):
        mask_logits, class_logits = self.forward_logits(x)
        return torch.sigmoid(mask_logits), torch.softmax(class_logits, dim=1)


def count_flops(model: nn.Module, size: int) -> float:
    """Multiply-adds x 2 of convolutions and linear layers for one 1 x size x size image."""
    total = 0

    def conv_hook(mod, inp, out):
        nonlocal total
        k = mod.weight.numel() // mod.weight.shape[0] if isinstance(mod, nn.Conv2d) else mod.weight[0].numel()
        if isinstance(mod, nn.ConvTranspose2d):
            total += 2 * inp[0].numel() * mod.weight[0].numel()
        else:
            total += 2 * out.numel() * k

    def lin_hook(mod, inp, out):
        nonlocal total
        total += 2 * mod.weight.numel()

    hs = []
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            hs.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hs.append(mod.register_forward_hook(lin_hook))
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, size, size))
    for h in hs:
        h.remove()
    return total / 1e9
