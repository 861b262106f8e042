"""Time and size the reference implementations: the numbers our engine's benchmarks compare to.

    python benchmarks/bench_references.py [--sizes small,medium,large] [--repeats 5] [--quick]

Prints markdown tables: per size, the median time of one training step (forward + full BPTT)
for numpy plain, numpy hoisted, torch loop and torch nn.RNN, with ratios against numpy plain;
the peak memory of one step at B=32 T=1000 N=64 H=128; and the per-op overhead of a y = y + c
chain in plain numpy and in torch. Torch rows print n/a when torch is not installed.

The modules next to this file are imported by their plain names (`harness`, `reference_numpy`,
...): running the script puts this directory on sys.path, and the tests insert it themselves.
"""
import argparse
import os
import platform
import sys

import numpy as np
from harness import (
    format_mib,
    format_ms,
    format_us,
    interleaved_medians,
    markdown_table,
    microseconds_per_op,
    peak_memory_mib,
    ratio_table,
)
from reference_numpy import (
    SIZES,
    elman_bptt_numpy,
    elman_bptt_numpy_hoisted,
    make_problem,
    problem_dims,
)
from reference_torch import (
    TORCH_AVAILABLE,
    build_torch_rnn,
    elman_bptt_torch_loop,
    make_add_chain_numpy,
    make_add_chain_torch,
    torch_rnn_step,
)

REFERENCE = "numpy plain"
MEMORY_DIMS = dict(B=32, T=1000, N=64, H=128)
CHAIN_OPS = 1000
# --quick is a smoke run: one timed call each, a small memory problem, a short chain. It keeps
# one warm-up call: torch's first backward in a process costs ~0.5 s of one-time set-up.
QUICK_MEMORY_DIMS = dict(B=4, T=20, N=16, H=32)
QUICK_CHAIN_OPS = 100


def training_steps(params, xs, vs):
    """{name: zero-argument callable running one training step}; None where torch is missing."""
    steps = {
        "numpy plain": lambda: elman_bptt_numpy(params, xs, vs),
        "numpy hoisted": lambda: elman_bptt_numpy_hoisted(params, xs, vs),
        "torch loop": None,
        "torch nn.RNN": None,
    }
    if TORCH_AVAILABLE:
        steps["torch loop"] = lambda: elman_bptt_torch_loop(params, xs, vs)
        # Built here, outside the timed call, so the timing is the step and not construction.
        rnn, head = build_torch_rnn(params)
        steps["torch nn.RNN"] = lambda: torch_rnn_step(rnn, head, xs, vs)
    return steps


def max_relative_difference(grads, reference_grads):
    """Largest ||g - g_ref|| / ||g_ref|| over the parameters."""
    return max(
        np.linalg.norm(grads[name] - reference_grads[name]) / np.linalg.norm(reference_grads[name])
        for name in reference_grads
    )


# How far a candidate's gradients may stray from the reference's (relative) and still be timed
AGREEMENT = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-3}
# "numpy best", the reference of issue 14's targets, is held closer in float64 (issue 14: 1e-12)
BEST_REFERENCE = "numpy best"
BEST_AGREEMENT = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-3}


def check_agreement(differences, dtype):
    """Refuse to time candidates whose gradients differ from the reference's: a wrong step is
    not a fast one. differences: {name: largest relative difference}."""
    def tolerance(name):
        return (BEST_AGREEMENT if name == BEST_REFERENCE else AGREEMENT)[np.dtype(dtype)]
    wrong = {name: value for name, value in differences.items()
             if not value <= tolerance(name)}
    if wrong:
        raise AssertionError(f"gradients differ from the reference by more than "
                             f"{AGREEMENT[np.dtype(dtype)]:g} ({BEST_AGREEMENT[np.dtype(dtype)]:g} "
                             f"for {BEST_REFERENCE}, relative), so they are not timed: {wrong}")


def describe_size(dims):
    return " ".join(f"{key}={value}" for key, value in dims.items())


def report_step_times(size, dtype, warmup, repeats, *, more_steps=None, ratio_reference=REFERENCE):
    """Print the timing table for one size, after checking every step agrees with numpy plain;
    return {name: median seconds, None where torch is missing}.

    more_steps(params, xs, vs) -> {name: step} adds rows after the references (bench_elman_step
    adds the engine); ratios are against `ratio_reference`.
    """
    dims = problem_dims(size)
    params, xs, vs = make_problem(dims, dtype=dtype)
    steps = training_steps(params, xs, vs)
    if more_steps is not None:
        steps.update(more_steps(params, xs, vs))

    _, reference_grads = steps[REFERENCE]()
    differences = {
        name: max_relative_difference(step()[1], reference_grads)
        for name, step in steps.items()
        if step is not None and name != REFERENCE
    }
    check_agreement(differences, dtype)
    medians = interleaved_medians(steps, warmup=warmup, repeats=repeats)

    print(f"### training step, {size}: {describe_size(dims)}\n")
    print(ratio_table(medians, ratio_reference, value_header="median (ms)", format_value=format_ms))
    agreement = ", ".join(f"{name} {difference:.1e}" for name, difference in differences.items())
    print(f"\nlargest relative gradient difference vs {REFERENCE}: {agreement}\n")
    return medians


def reference_peaks(params, xs, vs):
    """{name: peak traced MiB} of one step of each numpy reference."""
    return {
        "numpy plain": peak_memory_mib(lambda: elman_bptt_numpy(params, xs, vs)),
        "numpy hoisted": peak_memory_mib(lambda: elman_bptt_numpy_hoisted(params, xs, vs)),
    }


def report_peak_memory(dims, dtype):
    """Print peak traced memory of one step; torch's tensors are invisible to tracemalloc."""
    dims = problem_dims(dims)
    params, xs, vs = make_problem(dims, dtype=dtype)
    peaks = {
        **reference_peaks(params, xs, vs),
        # PyTorch on CPU keeps no allocator statistics (torch.cuda.memory_allocated has no CPU
        # counterpart), and its allocator does not report to tracemalloc.
        "torch loop": None,
    }
    itemsize = np.dtype(dtype).itemsize
    all_hidden_states = (dims["T"] + 1) * dims["B"] * dims["H"] * itemsize / 2**20

    print(f"### peak memory of one training step: {describe_size(dims)}\n")
    print(ratio_table(peaks, REFERENCE, value_header="peak above baseline (MiB)",
                      format_value=format_mib))
    print(f"\nfor scale: h for all T+1 steps is {format_mib(all_hidden_states)} MiB.")
    if TORCH_AVAILABLE:
        seen = peak_memory_mib(lambda: elman_bptt_torch_loop(params, xs, vs))
        print(
            "torch loop: n/a, torch has no CPU allocator counter and tracemalloc does not see its "
            f"tensors (tracemalloc saw {format_mib(seen)} MiB of Python objects only).\n"
        )
    else:
        print("torch loop: n/a, torch is not installed.\n")


def report_per_op_overhead(n_ops, warmup, repeats):
    """Print microseconds per y = y + c op: numpy forward only, torch forward + backward."""
    chains = {
        "numpy (no graph)": make_add_chain_numpy(n_ops)[0],
        "torch (forward + backward)": make_add_chain_torch(n_ops)[0] if TORCH_AVAILABLE else None,
    }
    per_op = microseconds_per_op(chains, n_ops, warmup=warmup, repeats=repeats)

    print(f"### per-op overhead: y = y + c on 4-element float64, chain of {n_ops} ops\n")
    print(ratio_table(per_op, "numpy (no graph)", value_header="us per op", format_value=format_us))
    print()


def describe_environment(dtype):
    """One markdown table of what the numbers depend on: versions, threads, BLAS settings."""
    rows = [
        ["python", platform.python_version()],
        ["numpy", np.__version__],
        ["cpu count", os.cpu_count()],
        ["dtype", np.dtype(dtype).name],
    ]
    if TORCH_AVAILABLE:
        import torch

        rows += [["torch", torch.__version__], ["torch threads", torch.get_num_threads()]]
    else:
        rows += [["torch", "not installed"]]
    for name in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                 "OMP_NUM_THREADS"):
        rows.append([name, os.environ.get(name, "unset")])
    return markdown_table(["setting", "value"], rows)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated, from {','.join(SIZES)} "
                                        "(default small,medium,large)")
    parser.add_argument("--repeats", type=int,
                        help="timed runs per measurement (default 5; --quick 1)")
    parser.add_argument("--warmup", type=int, help="untimed runs first (default 1)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small only, 1 repeat, short memory run")
    args = parser.parse_args(argv)

    default_sizes = "small" if args.quick else "small,medium,large"
    args.sizes = [name.strip() for name in (args.sizes or default_sizes).split(",") if name.strip()]
    unknown = [name for name in args.sizes if name not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; known: {','.join(SIZES)}")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.warmup is None:
        args.warmup = 1
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    dtype = np.dtype(args.dtype)
    print("## reference benchmarks\n")
    print(describe_environment(dtype))
    print(
        f"\nmedians of {args.repeats} timed runs after {args.warmup} warm-up runs; the candidates"
        " of a table are timed in interleaved rounds, so a change of machine load hits them"
        " alike.\n"
    )
    for size in args.sizes:
        report_step_times(size, dtype, args.warmup, args.repeats)
    report_peak_memory(QUICK_MEMORY_DIMS if args.quick else MEMORY_DIMS, dtype)
    report_per_op_overhead(QUICK_CHAIN_OPS if args.quick else CHAIN_OPS, args.warmup, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
