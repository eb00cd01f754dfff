"""Trains the test networks `bn-after-relu` and `bn-after-relu-outliers` (see their README.md).

A small CIFAR-10 CNN with batch norm AFTER each ReLU and raw 0..255 pixels as input (no
mean/std): the shape on which the course's max-based dynamic ranges are ruled by outliers.
Not run by CI; the trained parameters are committed beside it (model.safetensors, F32).

Usage (from the repository root, a few minutes on 2 cores):
    /work/pyenv/bin/python cifar-infer/testnets/bn-after-relu/train.py \
        [--data data/cifar10] [--epochs 12] [--seed 0] [--widths 16,32,64] \
        [--optimizer adamw|sgd] [--lr 2e-3] [--f16-weights] [--out model.safetensors] \
        [--net-json net.json]
The defaults train `bn-after-relu`; the other network's README gives its flags.
Needs torch, numpy and safetensors. Trains on data_batch_1.bin (10,000 images), prints the
float accuracy on test_batch.bin and, per batch norm, the largest |output| over the 10,000
training images (the calibration images: the values the course's max ranges are ruled by),
writes the parameters (and with --net-json the description).
"""
import argparse
import json
import pathlib

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent


def load_batch(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    labels = raw[:, 0].astype(np.int64)
    images = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32)  # raw 0..255, no scaling
    return torch.from_numpy(images), torch.from_numpy(labels)


class Net(nn.Module):
    """conv → relu → batch_norm → max_pool, three times; flatten; linear (names = net.json)."""

    def __init__(self, widths=(16, 32, 64), bn_eps=1e-5):
        super().__init__()
        self.widths = widths
        c_in = 3
        for i, c in enumerate(widths, 1):
            setattr(self, f"c{i}", nn.Conv2d(c_in, c, 3, padding=1))
            setattr(self, f"bn{i}", nn.BatchNorm2d(c, eps=bn_eps))
            c_in = c
        self.fc = nn.Linear(c_in * 4 * 4, 10)

    def blocks(self):
        return [(getattr(self, f"c{i}"), getattr(self, f"bn{i}")) for i in (1, 2, 3)]

    def forward(self, x, trace=None):
        for c, bn in self.blocks():
            x = bn(torch.relu(c(x)))
            if trace is not None:
                trace.append(x)
            x = nn.functional.max_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


def description(name, widths, bn_eps):
    """The network description (nn-cost format) of `Net(widths)`."""
    layers = []
    for i, c in enumerate(widths, 1):
        layers += [
            {"type": "conv", "name": f"c{i}", "out_channels": c, "kernel": 3, "padding": 1},
            {"type": "relu"},
            {"type": "batch_norm", "name": f"bn{i}", **({} if bn_eps == 1e-5 else {"eps": bn_eps})},
            {"type": "max_pool", "kernel": 2},
        ]
    layers += [{"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 10}]
    return {
        "name": name,
        "input": [3, 32, 32],
        "preprocess": {"scale": 1.0, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
        "layers": layers,
    }


def max_outputs(net, x):
    """The largest |output| of each batch norm on the images `x`, e.g. "12, 30, 8"."""
    trace = []
    with torch.no_grad():
        net(x, trace)
    return ", ".join(f"{t.abs().max().item():.0f}" for t in trace)


def to_json(desc):
    """The description as text, one layer a line (as the hand-written net.json files)."""
    head = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(', ', ': '))}"
                      for k, v in desc.items() if k != "layers")
    layers = ",\n".join(f"    {json.dumps(l, separators=(', ', ': '))}" for l in desc["layers"])
    return f"{{\n{head},\n  \"layers\": [\n{layers}\n  ]\n}}\n"


def report_outliers(net, x):
    """Per batch norm, over the images `x` (eval mode): the largest |output|, its channel, how
    many positions of that channel fire (ReLU input > 0) and its running variance."""
    peak, fires = None, None
    with torch.no_grad():
        for s in range(0, len(x), 500):
            trace = []
            net(x[s : s + 500], trace)
            m = [t.abs().amax(dim=(0, 2, 3)) for t in trace]
            # A batch norm's input fires where its output differs from the output of 0.
            f = [(t != bn(torch.zeros_like(t[:1]))).sum(dim=(0, 2, 3))
                 for t, (_, bn) in zip(trace, net.blocks())]
            peak = m if peak is None else [torch.maximum(a, b) for a, b in zip(peak, m)]
            fires = f if fires is None else [a + b for a, b in zip(fires, f)]
    for i, (p, f) in enumerate(zip(peak, fires), 1):
        ch = int(p.argmax())
        print(f"bn{i}: largest |output| over {len(x)} images {p[ch].item():.1f} (channel {ch}, "
              f"fires at {int(f[ch])} positions, running_var "
              f"{getattr(net, f'bn{i}').running_var[ch].item():.3g})")


def to_save(net, f16_weights):
    """The tensors written: every parameter and batch-norm statistic, conv/linear ones in F16
    with `f16_weights` (batch norm stays F32: a rare channel's variance is far below F16's
    smallest normal number)."""
    state = {}
    for k, v in net.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        if f16_weights and not k.startswith("bn"):
            v = v.half()
        state[k] = v.detach().contiguous()
    return state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/cifar10")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--widths", default="16,32,64", help="channels of the three convolutions")
    ap.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--bn-eps", type=float, default=1e-5)
    ap.add_argument("--f16-weights", action="store_true",
                    help="store conv/linear parameters as F16 (batch norm stays F32)")
    ap.add_argument("--out", default=str(HERE / "model.safetensors"))
    ap.add_argument("--net-json", help="also write the description here")
    ap.add_argument("--name", default="bn-after-relu", help="the description's name")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    widths = tuple(int(w) for w in args.widths.split(","))
    data = pathlib.Path(args.data)
    x, y = load_batch(data / "data_batch_1.bin")
    xt, yt = load_batch(data / "test_batch.bin")
    net = Net(widths, args.bn_eps)
    if args.optimizer == "adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum,
                              weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            xb = x[idx]
            if epoch > 0:  # random horizontal flips
                flip = torch.rand(len(idx)) < 0.5
                xb[flip] = xb[flip].flip(3)
            loss = nn.functional.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xt).argmax(1) == yt).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {100 * acc:.2f} %, "
              f"largest |batch norm output| {max_outputs(net, x[:200])}", flush=True)
    report_outliers(net, x)
    state = to_save(net, args.f16_weights)
    save_file(state, args.out)
    print(f"wrote {args.out}")
    if args.net_json:
        pathlib.Path(args.net_json).write_text(to_json(description(args.name, widths,
                                                                   args.bn_eps)))
        print(f"wrote {args.net_json}")


if __name__ == "__main__":
    main()
