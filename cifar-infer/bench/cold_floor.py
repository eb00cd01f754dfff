#!/usr/bin/env python3
"""Arithmetic floor of Problem 3's evaluation passes: the CPU-seconds its uniform sweep and its
B_min + offsets sweeps would take if every multiply-accumulate ran at the machine's peak rate
for its precision, with nothing else (no im2row, epilogue, pooling, memory traffic). It bounds
from below what any exact kernel of this design can do on the machine (issue 18's "cold
`cargo xtask all` ≤ 10 min"): compare it with the sweeps' measured CPU-seconds (the notes of
`cargo xtask p3`).

    python3 cifar-infer/bench/cold_floor.py target/homework/results.json
    python3 cifar-infer/bench/cold_floor.py target/homework/sections/p3.json --int8-peak 234e9

Rates per layer (multiply-accumulates per CPU-second): the `vpdpbusd` peak R (u8 × i8) divided
by the digit passes a precision needs, or R / 2 for one `vpdpwssd` pass on whole 16-bit codes
(B_A ≤ 15) or per base-256 activation digit, whichever is fastest — the kernels' own choices,
taken at their best case (long exact chunks); the float pass and precisions above 16 bits at
the f32 FMA peak. Multiply-accumulates per image: the course network's, without the taps on
the zero border of unsigned inputs (which the direct convolutions skip). Defaults: the peaks
measured on the project's AMD EPYC (Zen 4, 3.65 GHz: 64 u8 × i8 and 16 f32 FMA per cycle).
"""
import argparse
import json
import math

# Course network (cifar-alexnet): multiply-accumulates per image done by the kernels, layer by
# layer (features.0 multiplies its whole padded input: the image is signed, its border code is
# not 0; the others skip the taps on the zero border; README "The integer path's time by layer").
MACS = [2.0e6, 32.0e6, 46.1e6, 61.4e6, 41.0e6, 16.8e6, 16.8e6, 0.04e6]


def rate(b_w, b_a, int8_peak, f32_peak):
    """Best multiply-accumulates per CPU-second for one layer at (B_W, B_A)."""
    if b_w > 16 or b_a > 16:
        return f32_peak
    act_digits = math.ceil(b_a / 8)
    weight_digits = 1 if b_w <= 8 else (2 if b_w <= 15 else 3)
    digits = int8_peak / (act_digits * weight_digits)
    whole_pairs = int8_peak / 2 if b_a <= 15 else 0.0
    digit_pairs = int8_peak / 2 / act_digits
    return max(digits, whole_pairs, digit_pairs)


def pass_seconds(precisions, images, int8_peak, f32_peak):
    return images * sum(
        m / rate(b_w, b_a, int8_peak, f32_peak) for m, (b_w, b_a) in zip(MACS, precisions)
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="results.json of `cargo xtask all`/`p3`, or sections/p3.json")
    ap.add_argument("--int8-peak", type=float, default=234e9, help="u8 x i8 MAC per CPU-second")
    ap.add_argument("--f32-peak", type=float, default=58.6e9, help="f32 FMA per CPU-second")
    a = ap.parse_args()
    try:
        with open(a.results) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"cannot read {a.results} as results.json ({e}): run `cargo xtask p3`")
    p3 = doc.get("p3", doc)
    if p3.get("settings", {}).get("quick"):
        raise SystemExit("these are the results of a --quick run: run `cargo xtask p3` in full")
    n, layers = p3["n"], len(p3["layers"])
    if layers != len(MACS):
        raise SystemExit(f"{layers} weight layers: this floor knows the course network (8)")
    peaks = (a.int8_peak, a.f32_peak)
    bits = sorted(int(b) for b in p3["uniform"]["sweep"])
    uniform = sum(pass_seconds([(b, b)] * layers, n, *peaks) for b in bits)
    uniform += n * sum(MACS) / a.f32_peak
    print(f"uniform sweep (float and B = {bits[0]}…{bits[-1]}): {uniform:.0f} CPU-s")
    total, seen = uniform, []
    for name, s in p3["offsets"]["by_source"].items():
        offsets = (tuple(s["w_offsets"]), tuple(s["a_offsets"]))
        if offsets in seen:
            print(f"B_min sweep, {name}: the offsets of an earlier source (its sweep reused)")
            continue
        seen.append(offsets)
        b_mins = sorted(int(b) for b in s["sweep"])
        secs = sum(
            pass_seconds([(b + int(w), b + int(x)) for w, x in zip(*offsets)], n, *peaks)
            for b in b_mins
        )
        print(f"B_min sweep, {name} (B_min = {b_mins[0]}…{b_mins[-1]}): {secs:.0f} CPU-s")
        total += secs
    print(f"Problem 3's sweeps at the peak rates: {total:.0f} CPU-s ({n} test images a pass)")


if __name__ == "__main__":
    main()
