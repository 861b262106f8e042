"""One LSTM training step (forward over T steps + full BPTT of all five weights) through
tinygrad_rnn's recorded graph, against hand-written numpy BPTT, a PyTorch eager loop and
torch.nn.LSTM, at bench_elman_step.py's three sizes.

    python benchmarks/bench_lstm_step.py [--sizes small,medium,large] [--repeats 7] [--quick]

Every candidate is first checked to give the gradients of the numpy reference (the largest
relative difference is printed), then all are timed in interleaved rounds in one process;
medians and ratios are printed. Issue 12's targets: faster than the eager loop at every size,
within 1.3x of torch.nn.LSTM at medium and large. "numpy best"
(reference_lstm.lstm_bptt_numpy_best: only the recurrence in the loops; the output layer, the
loss and every weight gradient one matmul over all steps) is the reference of issue 14's LSTM
targets: at most 1.5x at small and 1.1x at medium.
"""
import argparse
import sys

import numpy as np
from bench_references import (
    BEST_REFERENCE,
    check_agreement,
    describe_size,
    max_relative_difference,
)
from harness import format_ms, interleaved_medians, ratio_table, sizes_argument, summary_table
from reference_lstm import (
    PARAM_NAMES,
    TORCH_AVAILABLE,
    build_torch_lstm,
    lstm_bptt_numpy,
    lstm_bptt_numpy_best,
    lstm_bptt_torch_loop,
    make_lstm_problem,
    torch_lstm_step,
)
from reference_numpy import SIZES, problem_dims

from tinygrad_rnn import nn

REFERENCE = "numpy hoisted"


def build_lstm(params, dtype=None):
    """An nn.LSTM holding copies of the reference's weights (in `dtype`, default theirs)."""
    rows, N = params["W1"].shape
    O, H = params["W2"].shape
    model = nn.LSTM(N, H, O, seed=0)
    for name in PARAM_NAMES:
        getattr(model, name).data = np.array(params[name], dtype=dtype or params[name].dtype)
    return model


def lstm_bptt_engine(model, xs, vs):
    """Forward over all steps, full BPTT, gradients of every parameter: (loss, grads dict);
    the loss is the references' R = sum_t ||y[t] - v[t]||^2."""
    model.zero_grad()
    ys, _ = model(xs)
    loss = nn.sequence_loss(ys, vs, "sum_squared_error")
    loss.backward()
    return loss.item(), {name: getattr(model, name).grad for name in PARAM_NAMES}


def candidates(params, xs, vs):
    """{name: zero-argument training step}; None where torch is missing."""
    model = build_lstm(params)
    steps = {REFERENCE: lambda: lstm_bptt_numpy(params, xs, vs),
             BEST_REFERENCE: lambda: lstm_bptt_numpy_best(params, xs, vs), "torch loop": None,
             "torch nn.LSTM": None, "tinygrad_rnn": lambda: lstm_bptt_engine(model, xs, vs)}
    if TORCH_AVAILABLE:
        steps["torch loop"] = lambda: lstm_bptt_torch_loop(params, xs, vs)
        lstm, head = build_torch_lstm(params)        # built once: the timing is the step
        steps["torch nn.LSTM"] = lambda: torch_lstm_step(lstm, head, xs, vs)
    return steps


def step_table(size, warmup, repeats):
    """Check, time and print every candidate at one size; return the medians."""
    dims = problem_dims(size)
    params, xs, vs = make_lstm_problem(dims)
    steps = candidates(params, xs, vs)
    _, reference = steps[REFERENCE]()
    agreement = {name: max_relative_difference(step()[1], reference)
                 for name, step in steps.items() if step is not None and name != REFERENCE}
    check_agreement(agreement, np.float64)
    medians = interleaved_medians(steps, warmup=warmup, repeats=repeats)
    print(f"### LSTM training step, {size}: " + describe_size(dims)
          + "\n")
    print(ratio_table(medians, REFERENCE, value_header="median (ms)", format_value=format_ms))
    print(f"\nlargest relative gradient difference vs {REFERENCE}: "
          + ", ".join(f"{name} {value:.1e}" for name, value in agreement.items()) + "\n")
    return medians


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    chosen = sizes_argument(parser, SIZES)
    sizes, repeats = chosen(parser.parse_args(argv))
    medians = {size: step_table(size, warmup=1, repeats=repeats) for size in sizes}
    print("### summary: tinygrad_rnn's LSTM step time as a ratio\n")
    print(summary_table(medians, {"vs torch eager loop": "torch loop",
                                  "vs torch nn.LSTM": "torch nn.LSTM",
                                  "vs numpy hoisted": REFERENCE,
                                  "vs numpy best": BEST_REFERENCE}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
