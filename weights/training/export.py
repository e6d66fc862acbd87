"""ONNX export: opset 17, weights inside the file, names the Swift side expects."""
import numpy as np
import torch


def export_onnx(model, size: int, path: str) -> dict:
    model.eval()
    x = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    kw = dict(input_names=["image"], output_names=["mask", "class_probs"], opset_version=17,
              do_constant_folding=True)
    try:
        torch.onnx.export(model, (x,), path, dynamo=False, **kw)
    except TypeError:  # older torch without the dynamo switch
        torch.onnx.export(model, (x,), path, **kw)
    check = {}
    try:
        import onnx
        import onnxruntime as ort
        onnx.checker.check_model(onnx.load(path))
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        m, c = sess.run(None, {"image": x.numpy()})
        with torch.no_grad():
            tm, tc = model(x)
        check = {"max_abs_mask": float(np.abs(m - tm.numpy()).max()),
                 "max_abs_class": float(np.abs(c - tc.numpy()).max())}
    except Exception as e:  # the recipe still produces the file; the caller reads the reason
        check = {"error": repr(e)}
    return check
