#!/usr/bin/env python3
"""Parity fixtures for the Swift ONNX engine (Tests/InferenceTests/Fixtures).

Builds small synthetic ONNX graphs covering every supported operator and attribute variant,
runs onnxruntime on a random input, and writes <case>.onnx + <case>.bin (inputs then outputs,
raw little-endian float32) + index.json. Also builds the refusal cases (must fail at load).
If weights/busi_unet.onnx exists, writes a reference for it too (uint8 input, sampled outputs).

Usage: python3 weights/training/make_fixtures.py [--out DIR]
"""
import argparse, json, os, sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.default_rng(1234)


def T(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def rand(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g",
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
                          initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


# ---------------------------------------------------------------- UNet (shared with the benchmark)
def unet(base=16, levels=4, h=256, w=256, seed=0, bn=True, head_on_decoder=False, opset=17):
    """UNet of the shipped model's shape: blocks Conv3x3+BN+ReLU x2, MaxPool 2, ConvTranspose 2x2 s2,
    Concat, final Conv1x1+Sigmoid -> "mask"; GAP(bottleneck) -> Flatten -> Gemm -> Relu -> Gemm -> Softmax."""
    r = np.random.default_rng(seed)
    nodes, inits = [], []
    cnt = [0]

    def name(p):
        cnt[0] += 1
        return f"{p}_{cnt[0]}"

    def conv(x, cin, cout, k, pad):
        n = name("Conv")
        wname, bname = n + ".w", n + ".b"
        inits.append(T(wname, (r.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32)))
        inits.append(T(bname, (r.standard_normal(cout) * 0.05).astype(np.float32)))
        nodes.append(helper.make_node("Conv", [x, wname, bname], [n], name=n, kernel_shape=[k, k], pads=[pad] * 4))
        return n

    def bnrelu(x, c):
        if bn:
            n = name("BatchNormalization")
            ps = [n + s for s in (".g", ".b", ".m", ".v")]
            inits.extend([T(ps[0], (1 + 0.1 * r.standard_normal(c)).astype(np.float32)),
                          T(ps[1], (0.1 * r.standard_normal(c)).astype(np.float32)),
                          T(ps[2], (0.1 * r.standard_normal(c)).astype(np.float32)),
                          T(ps[3], (1 + 0.1 * np.abs(r.standard_normal(c))).astype(np.float32))])
            nodes.append(helper.make_node("BatchNormalization", [x] + ps, [n], name=n, epsilon=1e-5))
            x = n
        n = name("Relu")
        nodes.append(helper.make_node("Relu", [x], [n], name=n))
        return n

    def block(x, cin, cout):
        x = bnrelu(conv(x, cin, cout, 3, 1), cout)
        return bnrelu(conv(x, cout, cout, 3, 1), cout)

    x, cin, skips = "image", 1, []
    for lvl in range(levels):
        c = base * 2 ** lvl
        x = block(x, cin, c)
        skips.append((x, c))
        n = name("MaxPool")
        nodes.append(helper.make_node("MaxPool", [x], [n], name=n, kernel_shape=[2, 2], strides=[2, 2]))
        x, cin = n, c
    cb = base * 2 ** levels
    x = block(x, cin, cb)
    bottleneck = x
    cin = cb
    for skip, c in reversed(skips):
        n = name("ConvTranspose")
        inits.append(T(n + ".w", (r.standard_normal((cin, c, 2, 2)) * np.sqrt(1.0 / cin)).astype(np.float32)))
        inits.append(T(n + ".b", (r.standard_normal(c) * 0.05).astype(np.float32)))
        nodes.append(helper.make_node("ConvTranspose", [x, n + ".w", n + ".b"], [n], name=n, kernel_shape=[2, 2], strides=[2, 2]))
        cat = name("Concat")
        nodes.append(helper.make_node("Concat", [n, skip], [cat], name=cat, axis=1))
        x = block(cat, 2 * c, c)
        cin = c
    logits = conv(x, cin, 1, 1, 0)
    nodes.append(helper.make_node("Sigmoid", [logits], ["mask"], name="Sigmoid_mask"))
    # classification head
    gap = name("GlobalAveragePool")
    nodes.append(helper.make_node("GlobalAveragePool", [bottleneck], [gap], name=gap))
    feat, fdim = name("Flatten"), cb
    nodes.append(helper.make_node("Flatten", [gap], [feat], name=feat, axis=1))
    if head_on_decoder:
        gap2, f2 = name("GlobalAveragePool"), name("Flatten")
        nodes.append(helper.make_node("GlobalAveragePool", [x], [gap2], name=gap2))
        nodes.append(helper.make_node("Flatten", [gap2], [f2], name=f2, axis=1))
        cat = name("Concat")
        nodes.append(helper.make_node("Concat", [feat, f2], [cat], name=cat, axis=1))
        feat, fdim = cat, cb + base
    hid = 64
    inits += [T("fc1.w", rand(hid, fdim, scale=np.sqrt(2 / fdim))), T("fc1.b", rand(hid, scale=0.05)),
              T("fc2.w", rand(3, hid, scale=np.sqrt(1 / hid))), T("fc2.b", rand(3, scale=0.05))]
    nodes += [helper.make_node("Gemm", [feat, "fc1.w", "fc1.b"], ["fc1"], name="Gemm_fc1", transB=1),
              helper.make_node("Relu", ["fc1"], ["fc1r"], name="Relu_fc1"),
              helper.make_node("Gemm", ["fc1r", "fc2.w", "fc2.b"], ["logits"], name="Gemm_fc2", transB=1),
              helper.make_node("Softmax", ["logits"], ["class_probs"], name="Softmax_cls", axis=1)]
    return model(nodes, [("image", [1, 1, h, w])], ["mask", "class_probs"], inits, opset=opset)


# ---------------------------------------------------------------- cases
def cases():
    c = {}
    X = lambda s: [("x", s)]

    def conv_case(name, xshape, wshape, bias=True, opset=17, **attrs):
        inits = [T("w", rand(*wshape, scale=0.3))]
        ins = ["x", "w"]
        if bias:
            inits.append(T("b", rand(wshape[0] if name.find("transpose") < 0 else wshape[1] * attrs.get("group", 1))))
            ins.append("b")
        op = "ConvTranspose" if "transpose" in name else "Conv"
        c[name] = model([helper.make_node(op, ins, ["y"], name=op + "_0", **attrs)], X(xshape), ["y"], inits, opset)

    conv_case("conv3x3_pad1", [1, 3, 17, 19], [8, 3, 3, 3], pads=[1, 1, 1, 1])
    conv_case("conv3x3_wide_tail", [1, 16, 20, 53], [6, 16, 3, 3], pads=[1, 1, 1, 1])
    conv_case("conv5x5_asym_pads", [1, 4, 15, 30], [5, 4, 5, 5], bias=False, pads=[2, 0, 1, 3])
    conv_case("conv_strided_dilated", [1, 3, 21, 23], [4, 3, 3, 3], strides=[2, 2], dilations=[2, 2], pads=[1, 0, 2, 1])
    conv_case("conv_group2", [1, 4, 12, 13], [6, 2, 3, 3], group=2, pads=[1, 1, 1, 1])
    conv_case("conv_depthwise", [1, 6, 12, 13], [6, 1, 3, 3], group=6, pads=[1, 1, 1, 1])
    conv_case("conv_same_upper_s2", [1, 3, 15, 16], [4, 3, 3, 3], auto_pad="SAME_UPPER", strides=[2, 2])
    conv_case("conv_same_lower", [1, 3, 15, 16], [4, 3, 4, 4], auto_pad="SAME_LOWER")
    conv_case("conv_valid", [1, 3, 15, 16], [4, 3, 3, 3], auto_pad="VALID")
    conv_case("conv1x1", [1, 8, 9, 11], [3, 8, 1, 1])
    conv_case("conv_opset13", [1, 2, 10, 12], [4, 2, 3, 3], opset=13, pads=[1, 1, 1, 1])
    conv_case("convtranspose2x2_s2", [1, 8, 7, 9], [8, 4, 2, 2], strides=[2, 2])
    conv_case("convtranspose3x3_s2_pads_outpad", [1, 3, 6, 7], [3, 5, 3, 3], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
    conv_case("convtranspose_group_dilated", [1, 4, 5, 6], [4, 3, 3, 3], group=2, dilations=[2, 2], pads=[1, 0, 0, 1])

    conv_case("conv3x3_deep_blocks_outer", [1, 64, 10, 20], [96, 64, 3, 3], pads=[1, 1, 1, 1])
    # Direct conv register tiles other than 4x24, each with a partial last tile and a partial
    # channel block: 3x32 (weights-outer, [row][channel][column] input) and 6x16 (narrow rows).
    conv_case("conv3x3_tile3x32_deep", [1, 64, 6, 30], [100, 64, 3, 3], pads=[1, 1, 1, 1])
    conv_case("conv3x3_tile6x16_narrow", [1, 24, 9, 13], [11, 24, 3, 3], pads=[1, 1, 1, 1])
    # Channel Concat absorbed by the following direct conv (batch 2, three segments incl. a constant)
    c["concat_into_conv_batch2"] = model([
        helper.make_node("Concat", ["x", "x2", "k"], ["cat"], name="Concat_0", axis=1),
        helper.make_node("Conv", ["cat", "w", "b"], ["c"], name="Conv_1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"], name="Relu_2")],
        [("x", [2, 3, 10, 12]), ("x2", [2, 5, 10, 12])], ["y"],
        [T("k", rand(2, 1, 10, 12)), T("w", rand(6, 9, 3, 3, scale=0.3)), T("b", rand(6))])

    # Conv + BN + activation (fusion), every activation
    for act, extra in [("Relu", {}), ("LeakyRelu", {"alpha": 0.2}), ("Sigmoid", {}), ("Tanh", {}), ("Clip", None)]:
        C = 8
        inits = [T("w", rand(C, 3, 3, 3, scale=0.3)), T("b", rand(C)),
                 T("g", 1 + 0.1 * rand(C)), T("be", rand(C, scale=0.1)), T("m", rand(C, scale=0.1)),
                 T("v", (1 + 0.1 * np.abs(rand(C)))), T("lo", np.array(-0.5, np.float32)), T("hi", np.array(0.7, np.float32))]
        nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="Conv_0", pads=[1, 1, 1, 1]),
                 helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"], name="BN_1", epsilon=1e-3)]
        if act == "Clip":
            nodes.append(helper.make_node("Clip", ["n", "lo", "hi"], ["y"], name="Clip_2"))
        else:
            nodes.append(helper.make_node(act, ["n"], ["y"], name=act + "_2", **extra))
        c[f"conv_bn_{act.lower()}"] = model(nodes, X([1, 3, 16, 18]), ["y"], inits)
    # ConvTranspose + BN + Relu (BN folded into transposed weights, group 2)
    inits = [T("w", rand(4, 3, 2, 2, scale=0.3)), T("g", 1 + 0.1 * rand(6)), T("be", rand(6, scale=0.1)),
             T("m", rand(6, scale=0.1)), T("v", 1 + 0.1 * np.abs(rand(6)))]
    c["convtranspose_bn_relu"] = model([
        helper.make_node("ConvTranspose", ["x", "w"], ["c"], name="ConvTranspose_0", strides=[2, 2], group=2),
        helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"], name="BN_1"),
        helper.make_node("Relu", ["n"], ["y"], name="Relu_2")], X([1, 4, 5, 6]), ["y"], inits)
    # Conv read only by the next conv: fused (rows computed inside the consumer's row window);
    # batch 2, a 5x5 producer, asymmetric consumer pads; then a conv read once but also a graph
    # output (must not be fused) before a consumer with 6x16 tiles.
    inits = [T("w1", rand(7, 5, 5, 5, scale=0.2)), T("b1", rand(7)), T("w2", rand(9, 7, 3, 3, scale=0.3)),
             T("b2", rand(9)), T("w3", rand(11, 9, 3, 3, scale=0.3)), T("w4", rand(6, 11, 3, 3, scale=0.3))]
    c["conv_chain_fused"] = model([
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="Conv_0", pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="Relu_1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="Conv_2", pads=[1, 0, 1, 2]),
        helper.make_node("Relu", ["c2"], ["y"], name="Relu_3"),
        helper.make_node("MaxPool", ["y"], ["p"], name="MaxPool_4", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w3"], ["c3"], name="Conv_5", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c3", "w4"], ["z"], name="Conv_6", pads=[1, 1, 1, 1])],
        [("x", [2, 5, 11, 30])], ["y", "c3", "z"], inits)
    # Conv output consumed twice: no fusion must happen
    inits = [T("w", rand(4, 2, 3, 3, scale=0.3))]
    c["conv_two_consumers"] = model([
        helper.make_node("Conv", ["x", "w"], ["c"], name="Conv_0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="Relu_1"),
        helper.make_node("Add", ["c", "r"], ["y"], name="Add_2")], X([1, 2, 9, 10]), ["y"], inits)

    # standalone elementwise
    C = 5
    c["batchnorm"] = model([helper.make_node("BatchNormalization", ["x", "g", "be", "m", "v"], ["y"], name="BN_0")],
                           X([2, C, 4, 6]), ["y"],
                           [T("g", rand(C)), T("be", rand(C)), T("m", rand(C)), T("v", 1 + np.abs(rand(C)))])
    c["activations"] = model([
        helper.make_node("Relu", ["x"], ["a"], name="Relu_0"),
        helper.make_node("LeakyRelu", ["x"], ["b"], name="LeakyRelu_1", alpha=0.1),
        helper.make_node("Sigmoid", ["x"], ["s"], name="Sigmoid_2"),
        helper.make_node("Tanh", ["x"], ["t"], name="Tanh_3"),
        helper.make_node("Clip", ["x", "", "hi"], ["cl"], name="Clip_4"),
        helper.make_node("Identity", ["x"], ["id"], name="Identity_5")],
        X([1, 3, 5, 7]), ["a", "b", "s", "t", "cl", "id"], [T("hi", np.array(0.3, np.float32))])
    c["clip_opset10"] = model([helper.make_node("Clip", ["x"], ["y"], name="Clip_0", min=-0.2, max=0.4)],
                             X([2, 3, 5]), ["y"], opset=10)

    # pooling
    c["maxpool2x2"] = model([helper.make_node("MaxPool", ["x"], ["y"], name="MaxPool_0", kernel_shape=[2, 2], strides=[2, 2])], X([1, 3, 10, 13]), ["y"])
    c["maxpool3x3_s2_pad_ceil"] = model([helper.make_node("MaxPool", ["x"], ["y"], name="MaxPool_0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)], X([1, 2, 10, 13]), ["y"])
    c["maxpool_dilated"] = model([helper.make_node("MaxPool", ["x"], ["y"], name="MaxPool_0", kernel_shape=[2, 3], dilations=[2, 1], pads=[1, 0, 0, 1])], X([1, 2, 9, 8]), ["y"])
    c["maxpool_same_upper"] = model([helper.make_node("MaxPool", ["x"], ["y"], name="MaxPool_0", kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_UPPER")], X([1, 2, 9, 8]), ["y"])
    c["avgpool_exclude_pad"] = model([helper.make_node("AveragePool", ["x"], ["y"], name="AveragePool_0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], X([1, 2, 11, 12]), ["y"])
    c["avgpool_include_pad"] = model([helper.make_node("AveragePool", ["x"], ["y"], name="AveragePool_0", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1)], X([1, 2, 7, 8]), ["y"])
    c["globalavgpool"] = model([helper.make_node("GlobalAveragePool", ["x"], ["y"], name="GAP_0")], X([2, 5, 9, 11]), ["y"])

    # resize
    def resize(name, xshape, mode, ctm, scales=None, sizes=None, nearest="round_prefer_floor", opset=17):
        inits, ins = [], ["x", ""]
        if scales is not None:
            inits.append(T("scales", np.array(scales, np.float32))); ins.append("scales")
        else:
            inits.append(T("sizes", np.array(sizes, np.int64))); ins += ["", "sizes"]
        c[name] = model([helper.make_node("Resize", ins, ["y"], name="Resize_0", mode=mode,
                                          coordinate_transformation_mode=ctm, nearest_mode=nearest)],
                        X(xshape), ["y"], inits, opset)
    resize("resize_nearest_asym_floor_x2", [1, 3, 5, 7], "nearest", "asymmetric", [1, 1, 2, 2], nearest="floor")
    resize("resize_nearest_halfpixel", [1, 2, 6, 7], "nearest", "half_pixel", [1, 1, 1.5, 2.5])
    resize("resize_nearest_ceil_sizes", [1, 2, 6, 7], "nearest", "align_corners", sizes=[1, 2, 9, 4], nearest="ceil")
    resize("resize_linear_halfpixel_x2", [1, 3, 5, 7], "linear", "half_pixel", [1, 1, 2, 2])
    resize("resize_linear_pytorch_halfpixel", [1, 2, 6, 5], "linear", "pytorch_half_pixel", sizes=[1, 2, 13, 1])
    resize("resize_linear_align_corners", [1, 2, 5, 6], "linear", "align_corners", [1, 1, 2, 1.5])
    resize("resize_linear_asymmetric_down", [1, 2, 9, 10], "linear", "asymmetric", [1, 1, 0.5, 0.6])
    resize("resize_nearest_opset13", [1, 1, 4, 4], "nearest", "asymmetric", [1, 1, 3, 3], nearest="round_prefer_ceil", opset=13)

    # concat / broadcasting arithmetic
    c["concat_axis1"] = model([helper.make_node("Concat", ["x", "k"], ["y"], name="Concat_0", axis=1)], X([1, 2, 4, 5]), ["y"], [T("k", rand(1, 3, 4, 5))])
    c["concat_axis_neg1_two_inputs"] = model([helper.make_node("Concat", ["x", "x2"], ["y"], name="Concat_0", axis=-1)], [("x", [2, 3, 4]), ("x2", [2, 3, 2])], ["y"])
    c["broadcast_ops"] = model([
        helper.make_node("Add", ["x", "c"], ["a"], name="Add_0"),
        helper.make_node("Mul", ["a", "r"], ["m"], name="Mul_1"),
        helper.make_node("Sub", ["m", "s"], ["s2"], name="Sub_2"),
        helper.make_node("Div", ["s2", "d"], ["y"], name="Div_3")],
        X([2, 3, 4, 5]), ["y"], [T("c", rand(3, 1, 1)), T("r", rand(5)), T("s", np.array(0.5, np.float32)), T("d", 2 + np.abs(rand(2, 1, 4, 1)))])
    c["broadcast_two_dynamic"] = model([helper.make_node("Mul", ["x", "x2"], ["y"], name="Mul_0")], [("x", [2, 1, 4]), ("x2", [3, 1])], ["y"])

    # gemm / matmul
    c["gemm_transB_alpha_beta"] = model([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="Gemm_0", transB=1, alpha=0.7, beta=1.3)], X([3, 6]), ["y"], [T("w", rand(4, 6)), T("b", rand(4))])
    c["gemm_transA_matrixC"] = model([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="Gemm_0", transA=1)], X([6, 3]), ["y"], [T("w", rand(6, 5)), T("b", rand(3, 5))])
    c["gemm_noC"] = model([helper.make_node("Gemm", ["x", "w"], ["y"], name="Gemm_0")], X([2, 6]), ["y"], [T("w", rand(6, 4))])
    c["matmul_3d_2d"] = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="MatMul_0")], X([2, 3, 4]), ["y"], [T("w", rand(4, 5))])
    c["matmul_batch_broadcast"] = model([helper.make_node("MatMul", ["x", "x2"], ["y"], name="MatMul_0")], [("x", [2, 1, 3, 4]), ("x2", [3, 4, 2])], ["y"])

    # shape ops
    c["flatten_reshape_transpose"] = model([
        helper.make_node("Transpose", ["x"], ["t"], name="Transpose_0", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t", "shape"], ["r"], name="Reshape_1"),
        helper.make_node("Flatten", ["r"], ["y"], name="Flatten_2", axis=2)],
        X([2, 3, 4, 5]), ["y"], [T("shape", np.array([0, -1, 3, 2], np.int64))])
    c["softmax_axes"] = model([
        helper.make_node("Softmax", ["x"], ["a"], name="Softmax_0", axis=1),
        helper.make_node("Softmax", ["x"], ["b"], name="Softmax_1")], X([2, 3, 4]), ["a", "b"])
    c["softmax_opset11_coerced"] = model([helper.make_node("Softmax", ["x"], ["y"], name="Softmax_0", axis=1)], X([2, 3, 4]), ["y"], opset=11)
    c["reducemean_opset13"] = model([
        helper.make_node("ReduceMean", ["x"], ["a"], name="ReduceMean_0", axes=[2, 3], keepdims=1),
        helper.make_node("ReduceMean", ["x"], ["b"], name="ReduceMean_1", axes=[1], keepdims=0)], X([2, 3, 4, 5]), ["a", "b"], opset=13)
    c["reducemean_opset18"] = model([
        helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="ReduceMean_0", keepdims=0)], X([2, 3, 4, 5]), ["y"], [T("axes", np.array([-1, 1], np.int64))], opset=18)
    # PyTorch-style dynamic shape computation folded at load: Shape -> Gather -> Unsqueeze -> Concat -> Reshape
    c["shape_arith_folded"] = model([
        helper.make_node("Shape", ["x"], ["s"], name="Shape_0"),
        helper.make_node("Constant", [], ["i0"], name="Constant_1", value=T("v0", np.array(0, np.int64))),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="Gather_2", axis=0),
        helper.make_node("Unsqueeze", ["n", "ax"], ["nu"], name="Unsqueeze_3"),
        helper.make_node("Concat", ["nu", "m1"], ["shape"], name="Concat_4", axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="Reshape_5"),
        helper.make_node("Cast", ["r"], ["cr"], name="Cast_6", to=TensorProto.FLOAT),
        helper.make_node("Constant", [], ["k"], name="Constant_7", value_float=2.5),
        helper.make_node("Mul", ["cr", "k"], ["y"], name="Mul_8")],
        X([2, 3, 4]), ["y"], [T("ax", np.array([0], np.int64)), T("m1", np.array([-1], np.int64))])
    c["squeeze_unsqueeze_dynamic"] = model([
        helper.make_node("Unsqueeze", ["x", "ax"], ["u"], name="Unsqueeze_0"),
        helper.make_node("Squeeze", ["u", "ax2"], ["y"], name="Squeeze_1")],
        X([3, 1, 4]), ["y"], [T("ax", np.array([0, 3], np.int64)), T("ax2", np.array([2], np.int64))])

    # float initializers stored as float_data (typed field) and as float16
    w = rand(4, 3, 3, 3, scale=0.3)
    wt = helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten().tolist())  # float_data
    b16 = rand(4).astype(np.float16)
    c["typed_float_data_and_fp16"] = model([
        helper.make_node("Cast", ["b16"], ["b"], name="Cast_0", to=TensorProto.FLOAT),
        helper.make_node("Conv", ["x", "w", "b"], ["y"], name="Conv_1", pads=[1, 1, 1, 1])],
        X([1, 3, 8, 9]), ["y"], [wt, T("b16", b16)])

    c["unet_small"] = unet(base=4, levels=3, h=48, w=40, seed=7, head_on_decoder=True)
    # The direct 2x2 ConvTranspose path: batch 2, 16-pixel blocks plus a 5-pixel tail, odd
    # channel counts. Its own generator and last in order, so the cases above keep their data.
    own = np.random.default_rng(2026)
    c["convtranspose2x2_s2_direct_batch2"] = model(
        [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="ConvTranspose_0", strides=[2, 2])], X([2, 11, 3, 37]), ["y"],
        [T("w", (own.standard_normal((11, 5, 2, 2)) * 0.3).astype(np.float32)), T("b", own.standard_normal(5).astype(np.float32))])
    # 2x2 up-samplings fused into the conv that reads them through a Concat: one in a conv that
    # is itself fused into the next conv (producer position), 32-pixel blocks plus a 5-pixel
    # tail; one in a conv on its own, as the Concat's first segment. Batch 2, activations fused.
    w = lambda *shape: (own.standard_normal(shape) * 0.3).astype(np.float32)
    c["upsample_concat_conv_fused"] = model([
        helper.make_node("ConvTranspose", ["x", "tw1", "tb1"], ["u1"], name="ConvTranspose_0", strides=[2, 2]),
        helper.make_node("Relu", ["u1"], ["u1r"], name="Relu_1"),
        helper.make_node("Concat", ["x2", "u1r"], ["cat1"], name="Concat_2", axis=1),
        helper.make_node("Conv", ["cat1", "cw1", "cb1"], ["h1"], name="Conv_3", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h1"], ["h1r"], name="Relu_4"),
        helper.make_node("Conv", ["h1r", "cw2"], ["y1"], name="Conv_5", pads=[1, 1, 1, 1]),
        helper.make_node("ConvTranspose", ["x", "tw2"], ["u2"], name="ConvTranspose_6", strides=[2, 2]),
        helper.make_node("Concat", ["u2", "x2"], ["cat2"], name="Concat_7", axis=1),
        helper.make_node("Conv", ["cat2", "cw3", "cb3"], ["y2"], name="Conv_8", pads=[1, 1, 1, 1])],
        [("x", [2, 6, 4, 37]), ("x2", [2, 3, 8, 74])], ["y1", "y2"],
        [T("tw1", w(6, 5, 2, 2)), T("tb1", w(5)), T("cw1", w(7, 8, 3, 3)), T("cb1", w(7)), T("cw2", w(4, 7, 3, 3)),
         T("tw2", w(6, 4, 2, 2)), T("cw3", w(6, 7, 3, 3)), T("cb3", w(6))])
    return c


# ---------------------------------------------------------------- EfficientNet-Lite0 UNet shapes
def lite_cases(r):
    """The shapes the Lite0 UNet (lite_model.py, exported by lite_export.py) adds: depthwise 3x3
    and 5x5 at strides 1 and 2 with TF SAME pads written as asymmetric Conv pads, Clip(0, 6) after
    conv + BN, an inverted-residual block, and the class head's mask-weighted pooling. Drawn from
    their own generator so that adding them leaves the older cases' data as it was."""
    c = {}
    X = lambda s: [("x", s)]
    w = lambda *s, scale=0.3: (r.standard_normal(s) * scale).astype(np.float32)
    six = [T("lo", np.array(0, np.float32)), T("hi", np.array(6, np.float32))]

    def dw(name, xshape, k, stride, pads, clip=False):
        ch = xshape[1]
        nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c" if clip else "y"], name="Conv_0", group=ch,
                                  strides=[stride, stride], pads=pads, kernel_shape=[k, k])]
        inits = [T("w", w(ch, 1, k, k)), T("b", w(ch))]
        if clip:
            nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="Clip_1"))
            inits += six
        c[name] = model(nodes, X(xshape), ["y"], inits)

    dw("lite_dw3x3_s1", [1, 16, 14, 13], 3, 1, [1, 1, 1, 1])
    dw("lite_dw3x3_s2_same", [1, 24, 16, 18], 3, 2, [0, 0, 1, 1], clip=True)
    dw("lite_dw5x5_s1_clip6", [1, 40, 14, 14], 5, 1, [2, 2, 2, 2], clip=True)
    dw("lite_dw5x5_s2_same", [1, 12, 15, 16], 5, 2, [1, 1, 2, 2])
    # The stem: dense 3x3 stride 2 with SAME pads, then Clip(0, 6).
    c["lite_stem_s2_clip6"] = model([
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="Conv_0", strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="Clip_1")],
        X([1, 1, 32, 30]), ["y"], [T("w", w(32, 1, 3, 3, scale=2.0)), T("b", w(32))] + six)
    # Inverted residual: 1x1 expand + BN + Clip, depthwise 5x5 + BN + Clip, 1x1 project + BN, Add.
    C, E = 16, 96
    def bn(p, n):
        return [T(p + "g", 1 + 0.1 * w(n, scale=1)), T(p + "be", w(n, scale=0.1)), T(p + "m", w(n, scale=0.1)),
                T(p + "v", 1 + 0.1 * np.abs(w(n, scale=1)))]
    def bnnode(p, i, o):
        return helper.make_node("BatchNormalization", [i, p + "g", p + "be", p + "m", p + "v"], [o], name=p + "BN", epsilon=1e-3)
    c["lite_inverted_residual"] = model([
        helper.make_node("Conv", ["x", "we"], ["e"], name="Conv_expand"), bnnode("e", "e", "en"),
        helper.make_node("Clip", ["en", "lo", "hi"], ["er"], name="Clip_expand"),
        helper.make_node("Conv", ["er", "wd"], ["d"], name="Conv_dw", group=E, pads=[2, 2, 2, 2]), bnnode("d", "d", "dn"),
        helper.make_node("Clip", ["dn", "lo", "hi"], ["dr"], name="Clip_dw"),
        helper.make_node("Conv", ["dr", "wp"], ["p"], name="Conv_project"), bnnode("p", "p", "pn"),
        helper.make_node("Add", ["pn", "x"], ["y"], name="Add_residual")],
        X([1, C, 14, 15]), ["y"],
        [T("we", w(E, C, 1, 1)), T("wd", w(E, 1, 5, 5)), T("wp", w(C, E, 1, 1, scale=0.1))]
        + bn("e", E) + bn("d", E) + bn("p", C) + six)
    # The class head: features pooled under the predicted mask (GAP(f * m) / (GAP(m) + eps)) and
    # over the whole image, concatenated, then a two-layer MLP.
    F, H = 24, 16
    c["lite_masked_pool_head"] = model([
        helper.make_node("Sigmoid", ["logits"], ["m"], name="Sigmoid_0"),
        helper.make_node("AveragePool", ["m"], ["m4"], name="AveragePool_1", kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Mul", ["x", "m4"], ["fm"], name="Mul_2"),
        helper.make_node("GlobalAveragePool", ["fm"], ["num"], name="GAP_3"),
        helper.make_node("GlobalAveragePool", ["m4"], ["den0"], name="GAP_4"),
        helper.make_node("Add", ["den0", "eps"], ["den"], name="Add_5"),
        helper.make_node("Div", ["num", "den"], ["pooled"], name="Div_6"),
        helper.make_node("GlobalAveragePool", ["x"], ["g"], name="GAP_7"),
        helper.make_node("Flatten", ["pooled"], ["pf"], name="Flatten_8", axis=1),
        helper.make_node("Flatten", ["g"], ["gf"], name="Flatten_9", axis=1),
        helper.make_node("Concat", ["gf", "pf"], ["cat"], name="Concat_10", axis=1),
        helper.make_node("Gemm", ["cat", "w1", "b1"], ["h"], name="Gemm_11", transB=1),
        helper.make_node("Relu", ["h"], ["hr"], name="Relu_12"),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["y"], name="Gemm_13", transB=1)],
        [("x", [1, F, 7, 8]), ("logits", [1, 1, 28, 32])], ["y"],
        [T("eps", np.array(1e-6, np.float32)), T("w1", w(H, 2 * F)), T("b1", w(H)), T("w2", w(3, H)), T("b2", w(3))])
    return c


REFUSALS = {
    # name: (model builder, substring that the load error must contain)
    "refuse_unknown_op": (lambda: model([helper.make_node("Relu", ["x"], ["r"], name="Relu_0"),
                                         helper.make_node("Einsum", ["r", "r"], ["y"], name="Einsum_7", equation="ij,ij->ij")],
                                        [("x", [2, 3])], ["y"]), 'node "Einsum_7"'),
    "refuse_resize_cubic": (lambda: model([helper.make_node("Resize", ["x", "", "s"], ["y"], name="Resize_3", mode="cubic")],
                                          [("x", [1, 1, 4, 4])], ["y"], [T("s", np.array([1, 1, 2, 2], np.float32))]), 'node "Resize_3"'),
    "refuse_conv_3d": (lambda: model([helper.make_node("Conv", ["x", "w"], ["y"], name="Conv_3d")],
                                     [("x", [1, 1, 4, 4, 4])], ["y"], [T("w", rand(1, 1, 2, 2, 2))]), 'node "Conv_3d"'),
    "refuse_conv_dynamic_weights": (lambda: model([helper.make_node("Conv", ["x", "x2"], ["y"], name="Conv_dyn")],
                                                  [("x", [1, 1, 4, 4]), ("x2", [1, 1, 2, 2])], ["y"]), 'node "Conv_dyn"'),
    "refuse_unknown_attribute": (lambda: model([helper.make_node("Relu", ["x"], ["y"], name="Relu_odd", frobnicate=1)],
                                               [("x", [2, 3])], ["y"]), 'node "Relu_odd"'),
}


def write_bin(path, arrays):
    with open(path, "wb") as f:
        for a in arrays:
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())


def main():
    ort.set_default_logger_severity(3)
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests/InferenceTests/Fixtures"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    index = {"cases": [], "refusals": []}
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    lite_rng = np.random.default_rng(20261206)
    for name, m in list(cases().items()) + list(lite_cases(lite_rng).items()):
        path = os.path.join(args.out, name + ".onnx")
        onnx.save(m, path)
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        draw = (lambda *s: (lite_rng.standard_normal(s) * 2).astype(np.float32)) if name.startswith("lite_") else rand
        feeds = {i.name: draw(*i.shape) for i in sess.get_inputs()}
        if name == "unet_small":
            feeds["image"] = rng.random((1, 1, 48, 40), dtype=np.float32)
        outs = sess.run(None, feeds)
        write_bin(os.path.join(args.out, name + ".bin"), list(feeds.values()) + outs)
        index["cases"].append({
            "name": name, "model": name + ".onnx", "data": name + ".bin",
            "inputs": [{"name": k, "shape": list(v.shape)} for k, v in feeds.items()],
            "outputs": [{"name": o.name, "shape": list(v.shape)} for o, v in zip(sess.get_outputs(), outs)]})
    # external data: weights in a side file, read by offset/length
    ext = model([helper.make_node("Conv", ["x", "w", "b"], ["y"], name="Conv_0", pads=[1, 1, 1, 1])],
                [("x", [1, 2, 6, 7])], ["y"], [T("w", rand(3, 2, 3, 3)), T("b", rand(3))])
    # onnx appends to an existing data file: start it afresh, or every run leaves dead bytes.
    weights_file = os.path.join(args.out, "external_data.weights")
    if os.path.exists(weights_file):
        os.remove(weights_file)
    onnx.save_model(ext, os.path.join(args.out, "external_data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external_data.weights", size_threshold=0)
    sess = ort.InferenceSession(os.path.join(args.out, "external_data.onnx"), so, providers=["CPUExecutionProvider"])
    x = rand(1, 2, 6, 7)
    y = sess.run(None, {"x": x})[0]
    write_bin(os.path.join(args.out, "external_data.bin"), [x, y])
    index["cases"].append({"name": "external_data", "model": "external_data.onnx", "data": "external_data.bin",
                           "inputs": [{"name": "x", "shape": list(x.shape)}], "outputs": [{"name": "y", "shape": list(y.shape)}]})
    for name, (build, needle) in REFUSALS.items():
        onnx.save(build(), os.path.join(args.out, name + ".onnx"))
        index["refusals"].append({"name": name, "model": name + ".onnx", "error_contains": needle})
    busi_reference(args.out, index)
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    total = sum(os.path.getsize(os.path.join(args.out, p)) for p in os.listdir(args.out))
    print(f"{len(index['cases'])} parity cases, {len(index['refusals'])} refusals, {total / 1e6:.2f} MB in {args.out}")


def busi_reference(out, index):
    """Reference outputs of the shipped model (weights/busi_unet.onnx, read through its card) for one
    fixed BUSI-like input (stored as uint8): the raw outputs the card's heads name, before any
    activation, sampled on the mask and whole for the classes."""
    path = os.path.join(ROOT, "weights", "busi_unet.onnx")
    if not os.path.exists(path):
        print("weights/busi_unet.onnx not present: skipping the shipped-model reference")
        return
    card = json.load(open(os.path.join(ROOT, "weights", "busi_unet.json")))
    heads = card.get("heads", {"mask": {"output": "mask"}, "classes": {"output": "class_probs"}})
    shape = card["input"]["shape"]
    from PIL import Image
    pixels = None
    for root, _, files in os.walk(os.path.join(ROOT, "..", "shared", "data", "busi")):
        for f in sorted(files):
            if f.endswith(".png") and "mask" not in f:
                img = Image.open(os.path.join(root, f)).convert("L").resize((shape[3], shape[2]), Image.BILINEAR)
                pixels = np.asarray(img, np.uint8)
                break
        if pixels is not None:
            break
    if pixels is None:
        pixels = (np.arange(shape[2] * shape[3]) * 7 % 251).astype(np.uint8).reshape(shape[2], shape[3])
    x = (pixels.astype(np.float32) / np.float32(255))[None, None]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {card["input"]["name"]: x})))
    mask = outs[heads["mask"]["output"]].reshape(-1)
    idx = np.linspace(0, mask.size - 1, 1024).astype(np.int64)
    with open(os.path.join(out, "busi_unet_input.u8"), "wb") as f:
        f.write(pixels.tobytes())
    index["shipped"] = {"model": "weights/busi_unet.onnx", "input": "busi_unet_input.u8", "input_name": card["input"]["name"],
                        "shape": shape, "mask_output": heads["mask"]["output"], "class_output": heads["classes"]["output"],
                        "mask_indices": idx.tolist(), "mask_values": mask[idx].astype(float).tolist(),
                        "mask_sum": float(mask.astype(np.float64).sum()),
                        "class_values": outs[heads["classes"]["output"]].reshape(-1).astype(float).tolist()}


if __name__ == "__main__":
    main()
