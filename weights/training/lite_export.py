"""ONNX export of LiteUNet: opset 17, weights inside, BatchNormalization folded into the convs
(torch's eval-mode export), ReLU6 as Clip(0, 6), and the TF SAME padding of the stride-2 convs as
the Convs' own asymmetric pads (no Pad node).

Outputs: "mask_logits" [1,1,S,S] (sigmoid -> lesion probability) and "class_logits" [1,3]
(normal, benign, malignant; divide by the temperature, then softmax).
Usage: lite_export.py CHECKPOINT.pt OUT.onnx [SIZE]   (checkpoint from lite_train.py)
"""
import collections
import sys

import numpy as np
import torch

ALLOWED = {"Conv", "BatchNormalization", "Clip", "Relu", "Add", "Concat", "Resize", "MaxPool", "AveragePool",
           "GlobalAveragePool", "Mul", "Sigmoid", "Gemm", "MatMul", "Flatten", "Reshape", "ReduceMean", "Div",
           "Softmax"}


def set_same_pads(model):
    """The stride-2 convs were traced with symmetric pads (SameConv.export_mode); give them TF SAME
    pads for even input sizes: (k-2)//2 before, the rest after. Returns how many were set."""
    import onnx
    n = 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        at = {a.name: a for a in node.attribute}
        if list(at["strides"].ints) != [2, 2]:
            continue
        k = list(at["kernel_shape"].ints)
        assert k[0] == k[1] and list(at["pads"].ints) == [k[0] - 2 - (k[0] - 2) // 2] * 4, node.name
        before, after = (k[0] - 2) // 2, k[0] - 2 - (k[0] - 2) // 2
        node.attribute.remove(at["pads"])
        node.attribute.append(onnx.helper.make_attribute("pads", [before, before, after, after]))
        n += 1
    return n


def constants_to_initializers(model):
    """Constant nodes (Clip bounds, Resize scales, the masked-mean epsilon) become initializers."""
    g = model.graph
    consts = [n for n in g.node if n.op_type == "Constant"]
    for n in consts:
        t = next(a.t for a in n.attribute if a.name == "value")
        t.name = n.output[0]
        g.initializer.append(t)
        g.node.remove(n)
    return len(consts)


def export_onnx(model, size: int, path: str) -> dict:
    import onnx
    import onnxruntime as ort
    from lite_model import SameConv
    assert size % 32 == 0, "SAME pads are fixed for even sizes at every stride"
    model = model.cpu().eval()
    x = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    kw = dict(input_names=["image"], output_names=["mask_logits", "class_logits"], opset_version=17,
              do_constant_folding=True)
    SameConv.export_mode = True
    try:
        torch.onnx.export(model, (x,), path, dynamo=False, **kw)
    except TypeError:  # older torch without the dynamo switch
        torch.onnx.export(model, (x,), path, **kw)
    finally:
        SameConv.export_mode = False
    m = onnx.load(path)
    folded = set_same_pads(m)
    constants_to_initializers(m)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = {"same_pads_set": folded, "ops": dict(sorted(ops.items())), "ops_outside_allowed": sorted(set(ops) - ALLOWED)}
    for name, inp in (("random", x), ("image_like", torch.clamp(x * 0.3 + 0.2, 0, 1))):
        mo, co = sess.run(None, {"image": inp.numpy()})
        with torch.no_grad():
            tm, tc = model(inp)
        out[f"max_abs_mask_logits_{name}"] = float(np.abs(mo - tm.numpy()).max())
        out[f"max_abs_class_logits_{name}"] = float(np.abs(co - tc.numpy()).max())
    return out


if __name__ == "__main__":
    import json
    from lite_model import LiteUNet
    ckpt = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
    net = LiteUNet(pretrained=False)
    net.load_state_dict(ckpt["model"])
    print(json.dumps(export_onnx(net, int(sys.argv[3]) if len(sys.argv) > 3 else 224, sys.argv[2]), indent=1))
