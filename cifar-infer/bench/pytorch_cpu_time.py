#!/usr/bin/env python3
"""CPU time of PyTorch's anchors on one thread: images per CPU-second of the int8 engine (x86
backend, the B = 8 parameters) and of fake-quantized f32 at B = 12, with the models of
`pytorch_bench.py` (same images, batch 50, one warm-up batch). Process CPU time is what a shared
machine hardly changes, where the wall-clock ratios of `cargo xtask bench` move with the load;
compare with `cargo run --release -p cifar-infer --example layer_profile` under
`RAYON_NUM_THREADS=1` (also process CPU time).

    python cifar-infer/bench/pytorch_cpu_time.py --data data --images 500 --repeats 2
    python cifar-infer/bench/pytorch_cpu_time.py --data data --images 500 --layers

`--layers`: the int8 engine's CPU time per weight layer (forward hooks), per image, to set
beside the example's table.
"""
import argparse
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_bench as pb  # noqa: E402


def cpu_rate(net, x, batch):
    """Images per CPU-second of `net` over `x` in batches, after one warm-up batch."""
    with torch.inference_mode():
        net(x[:batch])
        t = time.process_time()
        for i in range(0, len(x), batch):
            net(x[i:i + batch])
        return len(x) / (time.process_time() - t)


def layer_times(net, x, batch):
    """CPU milliseconds per image of each weight layer of the int8 module `net` (its convolutions
    `c`, then linear layers `l`) and of the whole pass, after one warm-up batch."""
    mods = [(f"c{i}", m) for i, m in enumerate(net.c)] + [(f"l{i}", m) for i, m in enumerate(net.l)]
    spent = {name: 0.0 for name, _ in mods}
    start = {}
    for name, m in mods:
        m.register_forward_pre_hook(lambda _m, _i, n=name: start.__setitem__(n, time.process_time()))
        m.register_forward_hook(
            lambda _m, _i, _o, n=name: spent.__setitem__(n, spent[n] + time.process_time() - start[n]))
    with torch.inference_mode():
        net(x[:batch])
        for name in spent:
            spent[name] = 0.0
        t = time.process_time()
        for i in range(0, len(x), batch):
            net(x[i:i + batch])
        total = time.process_time() - t
    per = {name: s / len(x) * 1e3 for name, s in spent.items()}
    return per, total / len(x) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder laid out like the repository's data/")
    ap.add_argument("--images", type=int, default=500, help="first N test images")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--layers", action="store_true", help="int8 CPU time per weight layer")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    params = pb.load_safetensors(f"{a.data}/model.safetensors")
    r_w = pb.load_npy(f"{a.data}/weight_dynamic_range.npy")
    r_a = pb.load_npy(f"{a.data}/activation_dynamic_range.npy")
    x, _ = pb.load_cifar(f"{a.data}/cifar10/test_batch.bin", a.images)
    calib, _ = pb.load_cifar(f"{a.data}/cifar10/data_batch_1.bin", 500)
    if a.layers:
        for _ in range(a.repeats):
            per, total = layer_times(pb.int8_module(params, r_w, r_a, calib, "x86"), x, a.batch)
            rest = total - sum(per.values())
            print(f"int8-x86 ms per image: {total:.3f} = "
                  + " ".join(f"{k} {v:.3f}" for k, v in per.items()) + f" other {rest:.3f}")
        return
    for _ in range(a.repeats):
        int8 = cpu_rate(pb.int8_module(params, r_w, r_a, calib, "x86"), x, a.batch)
        fq12 = cpu_rate(pb.Net(params, r_w, r_a, 12), x, a.batch)
        print(f"int8-x86 {int8:.1f}, fake-quant B=12 {fq12:.1f} images per CPU-second")


if __name__ == "__main__":
    main()
