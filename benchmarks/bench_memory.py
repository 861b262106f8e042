"""Peak memory of one full-BPTT training step: tinygrad_rnn against hand-written numpy.

    python benchmarks/bench_memory.py [--quick]

At B=32 T=1000 N=64 H=128 (issue 5's size), measured with tracemalloc, which sees numpy's
arrays and Python's objects (so the engine's graph nodes count too). The engine runs plain
full BPTT (every value backward reads is stored, everything else released at each step's end)
and, for comparison, with checkpoint_every=32 (recomputing segments during backward).
Issue 5's target: plain full BPTT at most 1.5x the hand-written numpy reference.
"""
import argparse
import sys

from bench_references import MEMORY_DIMS as DIMS
from bench_references import reference_peaks
from engine_step import build_elman, elman_bptt_engine
from harness import format_mib, peak_memory_mib, ratio_table
from reference_numpy import make_problem

QUICK_DIMS = dict(B=4, T=30, N=8, H=16)


def measure(dims):
    params, xs, vs = make_problem(dims)
    model = build_elman(params)
    return {
        **reference_peaks(params, xs, vs),
        "tinygrad_rnn": peak_memory_mib(lambda: elman_bptt_engine(model, xs, vs)),
        "tinygrad_rnn, checkpoint_every=32": peak_memory_mib(
            lambda: elman_bptt_engine(model, xs, vs, checkpoint_every=32)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run at a tiny size")
    args = parser.parse_args(argv)
    dims = QUICK_DIMS if args.quick else DIMS
    peaks = measure(dims)
    label = " ".join(f"{k}={v}" for k, v in dims.items())
    print(f"### peak memory of one full-BPTT training step, {label}, float64\n")
    print(ratio_table(peaks, "numpy plain", value_header="peak above baseline (MiB)",
                      format_value=format_mib))
    return 0


if __name__ == "__main__":
    sys.exit(main())
