"""Exact full BPTT over the lecture's 15-minute talk with gradient checkpointing.

    python benchmarks/bench_long_sequence.py [--frames 77587] [--every 256] [--repeats 5] [--quick]

The talk is 77,587 frames of 512 samples (B=1); an Elman network with H=64 reads it and
classifies it at the last step (sport or science: cross-entropy on y[T]). With
checkpoint_every=k the unroll keeps one state per k steps and recomputes each segment during
backward. The script prints:
1. on a shorter sequence where plain BPTT also fits: the largest relative difference between
   the checkpointed and the plain gradients (issue 5: at most 1e-10), and the time per step of
   each, medians of interleaved rounds after a warm-up (checkpointed at most 2.5x plain);
2. on the whole talk: the peak memory above the input itself (issue 5: under 100 MiB) and the
   time, and the gradient norm of every parameter (finite, nonzero: the first frame reaches the
   loss through 77,586 steps).
The frames are random numbers: what is measured is memory and time, not accuracy.
"""
import argparse
import sys
import time

import numpy as np
from harness import format_mib, interleaved_medians, markdown_table, peak_memory_mib

from tinygrad_rnn import nn

FRAMES, SAMPLES, HIDDEN = 77_587, 512, 64


def make_talk(frames, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((frames, 1, SAMPLES)) * 0.05, np.array([1])


def gradients(model, xs, label, every):
    """One training step: forward (checkpointed when every is set), last-step loss, backward."""
    model.zero_grad()
    ys, _ = model(xs, checkpoint_every=every)
    loss = nn.last_step_loss(ys, label, "cross_entropy")
    loss.backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=FRAMES)
    parser.add_argument("--every", type=int, default=256, help="steps per checkpointed segment")
    parser.add_argument("--compare-frames", type=int, default=4000,
                        help="length of the sequence on which plain and checkpointed BPTT are "
                             "compared")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed rounds of the plain vs checkpointed comparison")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 300 frames, segments of 16, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.every, args.compare_frames, args.repeats = 300, 16, 120, 1
    model = nn.Elman(SAMPLES, HIDDEN, 2, seed=0)

    xs, label = make_talk(args.compare_frames)
    plain = gradients(model, xs, label, None)
    checked = gradients(model, xs, label, args.every)
    worst = max(np.linalg.norm(checked[n] - plain[n]) / np.linalg.norm(plain[n]) for n in plain)
    medians = interleaved_medians({"plain": lambda: gradients(model, xs, label, None),
                                   "checkpointed": lambda: gradients(model, xs, label, args.every)},
                                  warmup=1, repeats=args.repeats)
    per_step = [medians["plain"] / args.compare_frames * 1e6,
                medians["checkpointed"] / args.compare_frames * 1e6]
    print(f"### plain vs checkpointed full BPTT, {args.compare_frames} frames of {SAMPLES}, "
          f"B=1, H={HIDDEN}, checkpoint_every={args.every}, "
          f"median of {args.repeats} interleaved rounds\n")
    print(markdown_table(["", "us per step", "ratio"], [
        ["plain BPTT", f"{per_step[0]:.1f}", "1.00x"],
        ["checkpointed", f"{per_step[1]:.1f}", f"{per_step[1] / per_step[0]:.2f}x"]]))
    print(f"\nlargest relative gradient difference, checkpointed vs plain: {worst:.1e}\n")

    xs, label = make_talk(args.frames)
    input_mib = xs.nbytes / 2**20
    result = {}
    start = time.perf_counter()
    peak = peak_memory_mib(lambda: result.update(gradients(model, xs, label, args.every)))
    seconds = time.perf_counter() - start
    print(f"### the whole talk: {args.frames} frames of {SAMPLES} "
          f"(input {format_mib(input_mib)} MiB), checkpoint_every={args.every}\n")
    print(markdown_table(["peak above the input (MiB)", "seconds (under tracemalloc)",
                          "us per step"], [[format_mib(peak), f"{seconds:.1f}",
                                            f"{seconds / args.frames * 1e6:.1f}"]]))
    norms = ", ".join(f"{name} {np.linalg.norm(g):.3g}" for name, g in result.items())
    print(f"\ngradient norms: {norms}")
    finite = all(np.all(np.isfinite(g)) for g in result.values())
    print(f"all gradients finite: {finite}")
    return 0 if finite else 1


if __name__ == "__main__":
    sys.exit(main())
