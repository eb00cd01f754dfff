"""Trains the test network `bn-after-relu` (see README.md beside this file).

A small CIFAR-10 CNN with batch norm AFTER each ReLU and raw 0..255 pixels as input (no
mean/std): the shape on which the course's max-based dynamic ranges are ruled by outliers.
Not run by CI; the trained parameters are committed beside it (model.safetensors, F32).

Usage (from the repository root, a few minutes on 2 cores):
    /work/pyenv/bin/python cifar-infer/testnets/bn-after-relu/train.py \
        [--data data/cifar10] [--epochs 12] [--seed 0]
Needs torch, numpy and safetensors. Trains on data_batch_1.bin (10,000 images), prints the
float accuracy on test_batch.bin, writes model.safetensors next to this script.
"""
import argparse
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

    def __init__(self):
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.c2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.c3, self.bn3 = nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.fc = nn.Linear(64 * 4 * 4, 10)

    def forward(self, x):
        for c, bn in ((self.c1, self.bn1), (self.c2, self.bn2), (self.c3, self.bn3)):
            x = nn.functional.max_pool2d(bn(torch.relu(c(x))), 2)
        return self.fc(torch.flatten(x, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/cifar10")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--out", default=str(HERE / "model.safetensors"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data = pathlib.Path(args.data)
    x, y = load_batch(data / "data_batch_1.bin")
    xt, yt = load_batch(data / "test_batch.bin")
    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
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
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {100 * acc:.2f} %")
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    save_file(state, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
