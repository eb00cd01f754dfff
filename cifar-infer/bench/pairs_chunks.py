#!/usr/bin/env python3
"""Exact chunk lengths of one `vpdpwssd` pass on whole B-bit codes, per layer of the course
network: the most input pairs c such that every run of 2c consecutive inputs of every output
row has a_max · Σ|k_w| ≤ 2^31 − 1 (the i32 sum of a chunk is then exact; the kernels' rule,
`exact_chunk` in kernels/int8/pack.rs), with a_max the largest code the format allows
(2^B − 1) and, as a run-time alternative, the largest code a batch actually has (median and
worst batch). Weights in (i, j, c) order, as the direct convolutions read them. Why B = 15/16
stay on two digit passes (README, Performance).

    python3 cifar-infer/bench/pairs_chunks.py --data data --bits 15 --images 2000
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_bench as pb  # noqa: E402


def chunk(codes, a_max):
    """Largest c with a_max · Σ|k_w| ≤ 2^31 − 1 over every window of 2c inputs of every row."""
    pre = np.concatenate([np.zeros((codes.shape[0], 1), np.int64),
                          np.cumsum(np.abs(codes).astype(np.int64), 1)], 1)
    k = codes.shape[1]

    def fits(c):
        n = min(2 * c, k)
        return a_max * (pre[:, n:] - pre[:, :-n]).max() <= 2**31 - 1

    lo, hi = 0, k // 2 + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def layer_inputs(params, x):
    """The float input of every weight layer (the network of `pytorch_bench.Net`, unquantized)."""
    ins = []
    for l, name in enumerate(pb.LAYERS[:5]):
        ins.append(x)
        x = F.relu(F.conv2d(x, params[name + ".weight"], params[name + ".bias"],
                            padding=pb.CONV_PAD[name]))
        x = F.max_pool2d(x, 2) if l in (0, 1) else (F.max_pool2d(x, 3, 2) if l == 4 else x)
    x = x.flatten(1)
    for l, name in enumerate(pb.LAYERS[5:], start=5):
        ins.append(x)
        x = F.linear(x, params[name + ".weight"], params[name + ".bias"])
        x = F.relu(x) if l < 7 else x
    return ins


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data", help="the data folder (model, npy ranges, cifar10/)")
    ap.add_argument("--bits", type=int, default=15, help="B_W = B_A")
    ap.add_argument("--images", type=int, default=2000, help="first N test images")
    ap.add_argument("--batch", type=int, default=50)
    a = ap.parse_args()
    if not 9 <= a.bits <= 16:
        sys.exit("--bits: the pairs pass is for 9 to 16 bits")
    needed = ["model.safetensors", "weight_dynamic_range.npy", "activation_dynamic_range.npy",
              os.path.join("cifar10", "test_batch.bin")]
    missing = [f for f in needed if not os.path.isfile(os.path.join(a.data, f))]
    if missing:
        sys.exit(f"--data {a.data}: missing {', '.join(missing)} (give the repository's data/)")
    if a.images < 1 or a.batch < 1:
        sys.exit("--images and --batch must be at least 1")
    params = pb.load_safetensors(os.path.join(a.data, "model.safetensors"))
    r_w = pb.load_npy(os.path.join(a.data, "weight_dynamic_range.npy"))
    r_a = pb.load_npy(os.path.join(a.data, "activation_dynamic_range.npy"))
    x, _ = pb.load_cifar(os.path.join(a.data, "cifar10", "test_batch.bin"), a.images)
    top = 2**a.bits - 1
    with torch.inference_mode():
        ins = layer_inputs(params, x)
    print(f"B = {a.bits}: exact chunk (input pairs) at a_max = {top} | at a batch's largest code")
    for l, name in enumerate(pb.LAYERS):
        w = params[name + ".weight"]
        w = w.permute(0, 2, 3, 1) if w.dim() == 4 else w
        step = r_w[l] * 2.0 ** (1 - a.bits)
        codes = np.clip(np.round(w.reshape(w.shape[0], -1).numpy() / step),
                        -(2 ** (a.bits - 1)), 2 ** (a.bits - 1) - 1)
        if l == 0:
            batch_max = [top]  # the signed image: offset codes span the whole range
        else:
            per_batch = ins[l].flatten(1).amax(1).split(a.batch)
            batch_max = [min(top, int(round(float(m.max()) / (r_a[l] * 2.0**-a.bits))))
                         for m in per_batch]
        med, worst = int(np.median(batch_max)), max(batch_max)
        print(f"{name:12s} {chunk(codes, top):4d} | median batch (code {med}) "
              f"{chunk(codes, med):4d}, worst batch (code {worst}) {chunk(codes, worst):4d}")


if __name__ == "__main__":
    main()
