#!/usr/bin/env python3
"""PyTorch side of `cargo xtask bench`: the anchors fxp-hw is measured against, in PyTorch.

Throughput (same images, batch and thread count as the Rust side; rows keyed by `config`):
- `float`: the course CIFAR-10 network (NOTES.md, Problem 3) in f32;
- `B=…`: fake-quantized f32 at uniform precision B: weights quantized once with the signed course
  quantizer, each conv/linear input quantized on the fly (signed for the image, unsigned after a
  ReLU), biases in float, dynamic ranges from the data folder's npy files. Rounding is half to
  even (torch.round), as in Rust;
- `int8-x86` (and `int8-fbgemm`, …, `--engines`): PyTorch's own integer engine, eager
  post-training static quantization (`torch.ao.quantization`: QuantStub, Conv+ReLU and
  Linear+ReLU fused, prepare, calibrate, convert) of the same network. Its quantization
  parameters are then set to those of fxp-hw at B = 8, so both sides run the same arithmetic
  (u8 activations × i8 weights → i32): weights per-tensor symmetric qint8 with step r_W·2^-7
  (zero point 0, codes −128…127), the image quint8 with step r_A·2^-7 and zero point 128 (the
  signed course quantizer offset by 128), every later conv/linear input quint8 with step
  r_A·2^-8 and zero point 0 (the unsigned course quantizer). The last layer's output keeps its
  calibrated parameters (only its argmax is used). PyTorch requantizes between layers from its
  i32 sums (a float multiplier, then rounding), fxp-hw dequantizes exactly then quantizes, so
  a few activations can differ by one code: the accuracies are close, not identical.

Noise gains (`--gain-images N`, `--per-image-images M`; 0 skips): the profiler's two estimators
computed with autograd on the float network, on the first images of the calibration batch:
- `course`: the course script's algorithm: per batch of 500 images (file order), the logits summed
  over the batch, ŷ their argmax, then for every i ≠ ŷ one backward pass of Σ_n (Z_ŷ − Z_i)
  (retain_graph) giving the gradients with respect to each conv/linear input and weight;
  E_A,l (E_W,l) = Σ_i ‖∂/∂a_l‖² / (24 (Z_ŷ − Z_i)²) (‖∂/∂W_l‖²), averaged over batches;
- `per-image`: the paper's definition: per image n, ŷ_n = argmax Z_n, the gradients of
  Z_ŷ − Z_i per image and per seed with per-sample weight gradients (torch.func: vmap of grad,
  the activation gradients through zero perturbations added to each layer input), averaged
  over images.

Prints one JSON object on stdout: {"torch": version, "threads": t, "rows": [{"config", "images",
"seconds", "images_per_s", "accuracy"}], "gains": [{"estimator", "images", "seconds", "e_a",
"e_w"}]}. Progress goes to stderr. Needs torch and numpy only (safetensors, CIFAR records and
npy files are parsed here).
"""
import argparse
import json
import struct
import sys
import time
import warnings

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


def float_module(params):
    """The network as an nn.Module (Conv+ReLU and Linear+ReLU ready to fuse; dropout omitted,
    the identity at inference), between a QuantStub and a DeQuantStub."""
    nn = torch.nn

    def conv(name):
        w = params[name + ".weight"]
        m = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=CONV_PAD[name])
        m.weight.data.copy_(w)
        m.bias.data.copy_(params[name + ".bias"])
        return m

    def lin(name):
        w = params[name + ".weight"]
        m = nn.Linear(w.shape[1], w.shape[0])
        m.weight.data.copy_(w)
        m.bias.data.copy_(params[name + ".bias"])
        return m

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = torch.ao.quantization.QuantStub()
            self.dequant = torch.ao.quantization.DeQuantStub()
            self.c = nn.ModuleList([conv(n) for n in LAYERS[:5]])
            self.cr = nn.ModuleList([nn.ReLU() for _ in range(5)])
            self.l = nn.ModuleList([lin(n) for n in LAYERS[5:]])
            self.lr = nn.ModuleList([nn.ReLU() for _ in range(2)])
            self.p2 = nn.MaxPool2d(2)
            self.p3 = nn.MaxPool2d(3, 2)

        def forward(self, x):
            x = self.quant(x)
            for i in range(5):
                x = self.cr[i](self.c[i](x))
                if i in (0, 1):
                    x = self.p2(x)
                elif i == 4:
                    x = self.p3(x)
            x = torch.flatten(x, 1)
            for i in range(3):
                x = self.l[i](x)
                if i < 2:
                    x = self.lr[i](x)
            return self.dequant(x)

    return M().eval()


def int8_module(params, r_w, r_a, calib, engine):
    """Eager post-training static quantization (see the module doc), with fxp-hw's B = 8
    quantization parameters."""
    tq = torch.ao.quantization
    torch.backends.quantized.engine = engine
    m = float_module(params)
    fuse = [[f"c.{i}", f"cr.{i}"] for i in range(5)] + [[f"l.{i}", f"lr.{i}"] for i in range(2)]
    m = tq.fuse_modules(m, fuse)
    m.qconfig = tq.QConfig(
        activation=tq.HistogramObserver.with_args(reduce_range=False),
        weight=tq.MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric))
    tq.prepare(m, inplace=True)
    with torch.inference_mode():
        m(calib)
    tq.convert(m, inplace=True)
    # The B = 8 course quantizers: the image signed (zero point 128), later inputs unsigned.
    m.quant.scale = torch.tensor([r_a[0] / 128.0])
    m.quant.zero_point = torch.tensor([128])
    layers = list(m.c) + list(m.l)
    for l, q in enumerate(layers):
        w = params[LAYERS[l] + ".weight"]
        qw = torch.quantize_per_tensor(quantize(w, r_w[l], 8, True), r_w[l] / 128.0, 0,
                                       torch.qint8)
        q.set_weight_bias(qw, params[LAYERS[l] + ".bias"])
        if l + 1 < len(layers):
            q.scale = r_a[l + 1] / 256.0
            q.zero_point = 0
    return m


def course_gains(params, x):
    """The course estimator by autograd (see the module doc)."""
    e_a = np.zeros(len(LAYERS))
    e_w = np.zeros(len(LAYERS))
    batches = 0
    for b0 in range(0, len(x), 500):
        xb = x[b0:b0 + 500].clone().requires_grad_(True)
        ws = [params[n + ".weight"].clone().requires_grad_(True) for n in LAYERS]
        acts = []
        h = xb
        for l, name in enumerate(LAYERS[:5]):
            acts.append(h)
            h = F.relu(F.conv2d(h, ws[l], params[name + ".bias"], padding=CONV_PAD[name]))
            if l in (0, 1):
                h = F.max_pool2d(h, 2)
            elif l == 4:
                h = F.max_pool2d(h, 3, 2)
        h = h.flatten(1)
        for l, name in enumerate(LAYERS[5:], start=5):
            acts.append(h)
            h = F.linear(h, ws[l], params[name + ".bias"])
            if l < 7:
                h = F.relu(h)
        z = h.sum(0).double()
        top = int(torch.argmax(z))
        for i in range(z.numel()):
            if i == top:
                continue
            d = float((z[top] - z[i]).detach())
            g = torch.autograd.grad(h[:, top].sum() - h[:, i].sum(), acts + ws,
                                    retain_graph=True)
            for l in range(len(LAYERS)):
                e_a[l] += float(g[l].double().pow(2).sum()) / (24 * d * d)
                e_w[l] += float(g[len(LAYERS) + l].double().pow(2).sum()) / (24 * d * d)
        batches += 1
    return e_a / batches, e_w / batches


def per_image_gains(params, x, chunk=5):
    """The per-image estimator by autograd with per-sample gradients (see the module doc)."""
    from torch.func import grad, vmap

    ws = [params[n + ".weight"] for n in LAYERS]
    bs = [params[n + ".bias"] for n in LAYERS]

    def logits(ws, eps, img):
        h = img.unsqueeze(0)
        for l, name in enumerate(LAYERS[:5]):
            h = F.relu(F.conv2d(h + eps[l], ws[l], bs[l], padding=CONV_PAD[name]))
            if l in (0, 1):
                h = F.max_pool2d(h, 2)
            elif l == 4:
                h = F.max_pool2d(h, 3, 2)
        h = h.flatten(1)
        for l in range(5, 8):
            h = F.linear(h + eps[l], ws[l], bs[l])
            if l < 7:
                h = F.relu(h)
        return h[0]

    shapes = []
    h = x[:1]
    for l, name in enumerate(LAYERS[:5]):
        shapes.append(h.shape)
        h = F.relu(F.conv2d(h, ws[l], bs[l], padding=CONV_PAD[name]))
        h = F.max_pool2d(h, 2) if l in (0, 1) else (F.max_pool2d(h, 3, 2) if l == 4 else h)
    h = h.flatten(1)
    for l in range(5, 8):
        shapes.append(h.shape)
        h = F.linear(h, ws[l], bs[l])
    eps = [torch.zeros(s) for s in shapes]

    def diff(ws, eps, img, seed):
        # seed = e_ŷ − e_i: Z_ŷ − Z_i without data-dependent indexing (vmap needs none).
        return (logits(ws, eps, img) * seed).sum()

    g_fn = vmap(grad(diff, argnums=(0, 1)), in_dims=(None, None, 0, 0))
    e_a = np.zeros(len(LAYERS))
    e_w = np.zeros(len(LAYERS))
    with torch.no_grad():
        z_all = torch.cat([torch.stack([logits(ws, eps, im) for im in x[c:c + chunk]])
                           for c in range(0, len(x), chunk)])
    for c in range(0, len(x), chunk):
        imgs = x[c:c + chunk]
        z = z_all[c:c + chunk].double()
        tops = torch.argmax(z, 1)
        for s in range(1, z.shape[1]):
            # Seed s: the class s steps after ŷ (all i ≠ ŷ over s = 1…9).
            idx = (tops + s) % z.shape[1]
            d = z[torch.arange(len(imgs)), tops] - z[torch.arange(len(imgs)), idx]
            eye = torch.eye(z.shape[1])
            gw, ga = g_fn(ws, eps, imgs, eye[tops] - eye[idx])
            w8 = (1.0 / (24 * d * d)).numpy()
            for l in range(len(LAYERS)):
                e_a[l] += float((ga[l].double().pow(2).flatten(1).sum(1).numpy() * w8).sum())
                e_w[l] += float((gw[l].double().pow(2).flatten(1).sum(1).numpy() * w8).sum())
    return e_a / len(x), e_w / len(x)


def timed_rows(label, net, x, y, batch, rows, clock=time.perf_counter):
    """Times `net` over the images in batches (after one warm-up batch) on `clock`; appends a
    row."""
    net(x[:batch])  # warm-up (allocator, kernel selection)
    t0 = clock()
    correct = 0
    for i in range(0, len(x), batch):
        correct += int((net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    s = clock() - t0
    rows.append({"config": label, "images": len(x), "seconds": s,
                 "images_per_s": len(x) / s, "accuracy": correct / len(x)})
    print(f"pytorch {label}: {len(x) / s:.1f} images/s, {100 * correct / len(x):.2f} %",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder laid out like the repository's data/")
    ap.add_argument("--limit", type=int, default=10000, help="first N test images")
    ap.add_argument("--bits", default="4,6,8,12", help="uniform precisions, comma-separated")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", default="x86",
                    help="quantized engines for the int8 rows, comma-separated (empty: none)")
    ap.add_argument("--calibration", type=int, default=500,
                    help="calibration images of the int8 observers (their parameters are then "
                         "replaced by the B = 8 ones, see above)")
    ap.add_argument("--gain-images", type=int, default=0,
                    help="calibration images of the course-estimator timing (0: skip)")
    ap.add_argument("--per-image-images", type=int, default=0,
                    help="calibration images of the per-image-estimator timing (0: skip)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time the inference rows in process CPU seconds (time.process_time), "
                         "not wall seconds: steadier on a shared machine, with --threads 1")
    a = ap.parse_args()
    clock = time.process_time if a.cpu_time else time.perf_counter
    # torch.ao.quantization and quantized tensors are deprecated (still in torch 2.15); the
    # warnings would only clutter the bench's log.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
    torch.set_num_threads(a.threads)
    params = load_safetensors(f"{a.data}/model.safetensors")
    r_w = load_npy(f"{a.data}/weight_dynamic_range.npy")
    r_a = load_npy(f"{a.data}/activation_dynamic_range.npy")
    x, y = load_cifar(f"{a.data}/cifar10/test_batch.bin", a.limit)
    need = max(a.calibration, a.gain_images, a.per_image_images)
    calib, _ = load_cifar(f"{a.data}/cifar10/data_batch_1.bin", need)
    configs = [("float", None)] + [(f"B={b}", int(b)) for b in a.bits.split(",") if b]
    rows = []
    with torch.inference_mode():
        for label, bits in configs:
            timed_rows(label, Net(params, r_w, r_a, bits), x, y, a.batch, rows, clock)
    for engine in [e for e in a.engines.split(",") if e]:
        m = int8_module(params, r_w, r_a, calib[:a.calibration], engine)
        with torch.inference_mode():
            timed_rows(f"int8-{engine}", m, x, y, a.batch, rows, clock)
    gains = []
    for est, n, fn in [("course", a.gain_images, course_gains),
                       ("per-image", a.per_image_images, per_image_gains)]:
        if n <= 0:
            continue
        t0 = time.perf_counter()
        e_a, e_w = fn(params, calib[:n])
        s = time.perf_counter() - t0
        gains.append({"estimator": est, "images": n, "seconds": s,
                      "e_a": list(e_a), "e_w": list(e_w)})
        print(f"pytorch autograd {est} gains, {n} images: {s:.1f} s", file=sys.stderr)
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows,
               "gains": gains}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
