"""Per-op overhead of the engine: forward + backward of a chain y = y + c on 4-element arrays.

    python benchmarks/bench_overhead.py [--ops 1000] [--repeats 15] [--quick]

Times, in interleaved rounds in one process: plain numpy (no graph, forward only), tinygrad_rnn
(forward + backward) and PyTorch eager autograd (forward + backward, when installed), on the
same chain: c is a shared leaf that requires grad, so both engines also accumulate its
gradient n times. Prints
microseconds per op (medians) and the ratio against PyTorch. Issue 2's target: at most 0.5x.
"""
import argparse
import sys

import numpy as np
from harness import format_us, microseconds_per_op, ratio_table
from reference_torch import TORCH_AVAILABLE, make_add_chain_numpy, make_add_chain_torch

import tinygrad_rnn as tg


def make_add_chain_engine(n_ops):
    """The chain of reference_torch.make_add_chain_torch in tinygrad_rnn: y = x + c + c + ...
    with x and c leaves that require grad (c is shared by every op, like a recurrent weight,
    so backward accumulates n_ops gradients into it), seeded with ones. A run returns (the
    sum of y, {"x": dy/dx, "c": dy/dc}) so a variant of the engine can be checked against it."""
    x = tg.Tensor(np.ones(4), requires_grad=True)
    c = tg.Tensor(np.full(4, 0.5), requires_grad=True)
    seed_gradient = np.ones(4)

    def run():
        x.grad = c.grad = None
        y = x
        for _ in range(n_ops):
            y = y + c
        y.backward(seed_gradient)
        return float(np.sum(y.data)), {"x": x.grad, "c": c.grad}

    return run


def measure(n_ops, warmup, repeats):
    """{name: microseconds per op}; PyTorch is None when it is not installed."""
    chains = {"numpy (no graph)": make_add_chain_numpy(n_ops)[0],
              "tinygrad_rnn": make_add_chain_engine(n_ops),
              "torch": make_add_chain_torch(n_ops)[0] if TORCH_AVAILABLE else None}
    return microseconds_per_op(chains, n_ops, warmup=warmup, repeats=repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 ops, 2 repeats")
    args = parser.parse_args(argv)
    ops, repeats = (50, 2) if args.quick else (args.ops, args.repeats)
    per_op = measure(ops, warmup=1, repeats=repeats)
    print(f"### per-op overhead: y = y + c on 4-element float64, chain of {ops} ops, "
          f"median of {repeats} interleaved rounds\n")
    reference = "torch" if per_op["torch"] is not None else "numpy (no graph)"
    print(ratio_table(per_op, reference, value_header="us per op", format_value=format_us))
    return 0


if __name__ == "__main__":
    sys.exit(main())
