"""One Elman training step (forward over T steps + full BPTT) through tinygrad_rnn's graph,
against hand-written numpy BPTT and PyTorch, at the issue's three sizes.

    python benchmarks/bench_elman_step.py [--sizes small,medium,large] [--repeats 7] [--forward]
                                          [--quick]

Every candidate is first checked to give the same gradients as numpy plain (the largest
relative difference is printed), then all are timed in interleaved rounds in one process, and
medians and ratios against the hoisted numpy reference are printed. The last table compares
float32 with float64 in the engine (issue 5 asks float32 to be about 2x faster at large).
Issue 5's targets, as ratios to numpy hoisted: small 2.0x, medium 1.3x, large 1.1x, and faster
than the PyTorch eager loop at every size. The summary also gives the ratio against the hoisted
reference written with ndarray.dot, the cheaper call the engine makes for small products, and
against "numpy best" (reference_numpy.elman_bptt_numpy_best: only the recurrence in the loops,
the output layer, the loss and every weight gradient one matmul over all steps), the reference
of issue 14's targets: small 2.0x, medium 1.1x, large 1.05x.

--forward adds, at each size, the engine's forward pass alone (the step recorded as the
visualizer draws it, the loss computed, no backward) against numpy best's whole step, timed in
the same rounds: the part of the step that backward, however fast, leaves.
"""
import argparse
import sys

import numpy as np
from bench_references import BEST_REFERENCE, report_step_times
from engine_step import build_elman, elman_bptt_engine, elman_forward_engine
from harness import format_ms, interleaved_medians, ratio_table, sizes_argument, summary_table
from reference_numpy import SIZES, elman_bptt_numpy_best, elman_bptt_numpy_hoisted, make_problem

REFERENCE = "numpy hoisted"
DOT_REFERENCE = "numpy hoisted, ndarray.dot"


def engine_steps(params, xs, vs):
    """The rows this script adds to bench_references' step table."""
    model = build_elman(params)
    return {
        # The hoisted reference with ndarray.dot for its per-step products, as the engine calls
        # them: what the engine's ratio would be against hand-written numpy that made that choice.
        DOT_REFERENCE: lambda: elman_bptt_numpy_hoisted(params, xs, vs, np.ndarray.dot),
        BEST_REFERENCE: lambda: elman_bptt_numpy_best(params, xs, vs),
        "tinygrad_rnn": lambda: elman_bptt_engine(model, xs, vs),
    }


def step_table(size, warmup, repeats):
    """Print the references' and the engine's step times at one size; return the medians."""
    return report_step_times(size, np.float64, warmup, repeats, more_steps=engine_steps,
                             ratio_reference=REFERENCE)


def dtype_table(size, warmup, repeats):
    """float32 against float64, both through the engine, on the same problem."""
    params, xs, vs = make_problem(size)
    runs = {}
    for dtype in (np.float64, np.float32):
        model = build_elman(params, dtype)
        xs_d, vs_d = xs.astype(dtype), vs.astype(dtype)
        runs[np.dtype(dtype).name] = (lambda m=model, a=xs_d, b=vs_d: elman_bptt_engine(m, a, b))
    grads32 = runs["float32"]()[1]
    assert all(g.dtype == np.float32 for g in grads32.values()), \
        "the float32 step returned gradients that are not float32"
    medians = interleaved_medians(runs, warmup=warmup, repeats=repeats)
    print(f"### float32 vs float64 in the engine, {size}\n")
    print(ratio_table(medians, "float64", value_header="median (ms)", format_value=format_ms))
    speedup = medians["float64"] / medians["float32"]
    print(f"\nfloat32 is {speedup:.2f}x as fast as float64 (gradients stay float32 end to end)\n")
    return speedup


def forward_table(size, warmup, repeats):
    """The engine's forward pass alone and its whole step against numpy best's whole step."""
    params, xs, vs = make_problem(size)
    model = build_elman(params)
    runs = {BEST_REFERENCE: lambda: elman_bptt_numpy_best(params, xs, vs),
            "tinygrad_rnn, forward only": lambda: elman_forward_engine(model, xs, vs),
            "tinygrad_rnn": lambda: elman_bptt_engine(model, xs, vs)}
    medians = interleaved_medians(runs, warmup=warmup, repeats=repeats)
    print(f"### the engine's forward pass alone against numpy best's whole step, {size}\n")
    print(ratio_table(medians, BEST_REFERENCE, value_header="median (ms)",
                      format_value=format_ms) + "\n")
    return medians


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forward", action="store_true",
                        help="also time the engine's forward pass alone (see above)")
    chosen = sizes_argument(parser, SIZES)
    args = parser.parse_args(argv)
    sizes, repeats = chosen(args)
    medians = {size: step_table(size, warmup=1, repeats=repeats) for size in sizes}
    print("### summary: tinygrad_rnn's step time as a ratio\n")
    print(summary_table(medians, {"vs numpy hoisted": REFERENCE,
                                  "vs numpy hoisted, ndarray.dot": DOT_REFERENCE,
                                  "vs numpy best": BEST_REFERENCE,
                                  "vs torch eager loop": "torch loop"}) + "\n")
    dtype_table(sizes[-1], warmup=1, repeats=repeats)
    if args.forward:
        for size in sizes:
            forward_table(size, warmup=1, repeats=repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
