#!/usr/bin/env python3
"""Writes a random-weight UNet of the shipped model's architecture (base 16, 4 levels, 256x256,
opset 17) for benchmarking until/besides weights/busi_unet.onnx. Usage: make_bench_unet.py OUT.onnx"""
import os, sys
import onnx
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from make_fixtures import unet  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/wecare_bench_unet.onnx"
onnx.save(unet(base=16, levels=4, h=256, w=256, seed=3), out)
print(out)
