#!/usr/bin/env python3
"""PyTorch side of `cargo xtask bench`: the same evaluation as `cifar-infer bench`, in PyTorch.

The course CIFAR-10 network (NOTES.md, Problem 3) in f32, and fake-quantized f32 at uniform
precision B: weights quantized once with the signed course quantizer, each conv/linear input
quantized on the fly (signed for the image, unsigned after a ReLU), biases in float, dynamic
ranges from the data folder's npy files. Rounding is half to even (torch.round), as in Rust.

Prints one JSON object on stdout: {"torch": version, "threads": t, "rows": [{"config", "images",
"seconds", "images_per_s", "accuracy"}]}. Progress goes to stderr. Needs torch and numpy only
(safetensors, CIFAR records and npy files are parsed here).
"""
import argparse
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

LAYERS = ["features.0", "features.3", "features.6", "features.8", "features.10",
          "fc_layers.1", "fc_layers.4", "fc_layers.6"]
CONV_PAD = {"features.0": 2, "features.3": 2, "features.6": 1, "features.8": 1, "features.10": 1}


def load_safetensors(path):
    """name -> f32 tensor, from the safetensors layout (u64 header size, JSON header, data)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    dtypes = {"F16": np.float16, "F32": np.float32, "BF16": None}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dt = dtypes.get(meta["dtype"])
        if dt is None:
            sys.exit(f"unsupported dtype {meta['dtype']} for {name}")
        a, b = meta["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(meta["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


def load_cifar(path, limit):
    """Normalized NCHW f32 images in [-1, 1] and labels of a CIFAR-10 binary batch."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        sys.exit(f"{path}: {raw.size} bytes is not a whole number of 3073-byte records")
    rec = raw.reshape(-1, 3073)[:limit]
    labels = torch.from_numpy(rec[:, 0].astype(np.int64))
    x = rec[:, 1:].astype(np.float32).reshape(-1, 3, 32, 32)
    return torch.from_numpy((x / 255.0 - 0.5) / 0.5), labels


def load_npy(path):
    return [float(v) for v in np.load(path)]


def quantize(x, r, bits, signed):
    """Course quantizer: step r·2^(1−B) (signed) or r·2^(−B) (unsigned), saturating at the top."""
    step = r * 2.0 ** ((1 - bits) if signed else -bits)
    top = r - step
    lo = -r if signed else 0.0
    return torch.clamp(torch.round(torch.clamp(x, lo, r) / step) * step, max=top)


class Net:
    """The network with optional fake quantization (bits=None: float)."""

    def __init__(self, params, r_w, r_a, bits):
        self.bits = bits
        self.r_a = r_a
        self.w = {}
        for l, name in enumerate(LAYERS):
            w = params[name + ".weight"]
            self.w[name] = w if bits is None else quantize(w, r_w[l], bits, True)
            self.w[name + ".b"] = params[name + ".bias"]

    def q(self, x, l):
        if self.bits is None:
            return x
        return quantize(x, self.r_a[l], self.bits, l == 0)

    def __call__(self, x):
        for l, name in enumerate(LAYERS[:5]):
            x = F.relu(F.conv2d(self.q(x, l), self.w[name], self.w[name + ".b"],
                                padding=CONV_PAD[name]))
            if l in (0, 1):
                x = F.max_pool2d(x, 2)
            elif l == 4:
                x = F.max_pool2d(x, 3, 2)
        x = x.flatten(1)
        for l, name in enumerate(LAYERS[5:], start=5):
            x = F.linear(self.q(x, l), self.w[name], self.w[name + ".b"])
            if l < 7:
                x = F.relu(x)
        return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder laid out like the repository's data/")
    ap.add_argument("--limit", type=int, default=10000, help="first N test images")
    ap.add_argument("--bits", default="4,6,8,12", help="uniform precisions, comma-separated")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    params = load_safetensors(f"{a.data}/model.safetensors")
    r_w = load_npy(f"{a.data}/weight_dynamic_range.npy")
    r_a = load_npy(f"{a.data}/activation_dynamic_range.npy")
    x, y = load_cifar(f"{a.data}/cifar10/test_batch.bin", a.limit)
    configs = [("float", None)] + [(f"B={b}", int(b)) for b in a.bits.split(",") if b]
    rows = []
    with torch.inference_mode():
        for label, bits in configs:
            net = Net(params, r_w, r_a, bits)
            net(x[:a.batch])  # warm-up (allocator, kernel selection)
            t0 = time.perf_counter()
            correct = 0
            for i in range(0, len(x), a.batch):
                correct += int((net(x[i:i + a.batch]).argmax(1) == y[i:i + a.batch]).sum())
            s = time.perf_counter() - t0
            rows.append({"config": label, "images": len(x), "seconds": s,
                         "images_per_s": len(x) / s, "accuracy": correct / len(x)})
            print(f"pytorch {label}: {len(x) / s:.1f} images/s, {100 * correct / len(x):.2f} %",
                  file=sys.stderr)
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
