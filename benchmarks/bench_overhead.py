"""Per-op overhead of the engine: forward + backward of a chain y = y + c on 4-element arrays.

    python benchmarks/bench_overhead.py [--ops 1000] [--repeats 15] [--parts] [--quick]

Times, in interleaved rounds in one process: plain numpy (no graph, forward only), tinygrad_rnn
(forward + backward) and PyTorch eager autograd (forward + backward, when installed), on the
same chain: c is a shared leaf that requires grad, so both engines also accumulate its
gradient n times. Prints
microseconds per op (medians) and the ratio against PyTorch. Issue 2's target: at most 0.5x.

--parts adds where the engine's time goes, each row one more part of the same run: the forward
pass alone (recording the chain), then with the graph order that backward walks
(graph.topological_order), then with a bare walk over that order (each node's vjp from the
table, every share summed into a dict; none of backward's checks, no .grad), then the whole
backward. The bare walk is the floor of any reverse walk over the recorded nodes in Python:
the engine's per-op cost cannot go below it by changing backward alone.
"""
import argparse
import sys

import numpy as np
from harness import format_us, microseconds_per_op, ratio_table
from reference_torch import TORCH_AVAILABLE, make_add_chain_numpy, make_add_chain_torch

import tinygrad_rnn as tg
from tinygrad_rnn.autodiff import gradient_inputs
from tinygrad_rnn.graph import topological_order


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


def make_add_chain_parts(n_ops):
    """The chain of make_add_chain_engine stopped after each part of a training step:
    {row name: run}. Each run records the chain and then does its part; "bare walk" returns
    the leaves' gradients it computed, {"x": ..., "c": ...}."""
    x = tg.Tensor(np.ones(4), requires_grad=True)
    c = tg.Tensor(np.full(4, 0.5), requires_grad=True)
    seed_gradient = np.ones(4)

    def chain():
        y = x
        for _ in range(n_ops):
            y = y + c
        return y

    def order():
        return topological_order([chain()], gradient_inputs)

    def walk():
        leaf_grads = bare_walk(chain(), seed_gradient)
        return {"x": leaf_grads[x], "c": leaf_grads[c]}

    return {"forward only": chain, "forward + graph order": order, "forward + bare walk": walk}


def bare_walk(root, seed):
    """{leaf: gradient} by the least a reverse walk over recorded nodes does: the graph order,
    each node's vjp, each share added into a dict (a leaf's shares summed once at the end; they
    have one shape here). No checks (in-place writes, a second pass, shapes, NaN), no
    retain_grad, no .grad written. It reads the nodes' slots (_prim, _parents, _data) as the
    engine's own walk does: the public properties would add a call per read to the floor."""
    sums, leaf_shares = {root: seed}, {}
    for node in reversed(topological_order([root], gradient_inputs)):
        g = sums.pop(node, None)
        if g is None or node._prim is None:
            continue
        parents = node._parents
        for parent, share in zip(parents, node._prim.vjp(g, node._data, parents, node._params)):
            if share is None:
                continue
            if parent._prim is None:
                leaf_shares.setdefault(parent, []).append(share)
                continue
            total = sums.get(parent)
            sums[parent] = share if total is None else total + share
    return {leaf: np.add.reduce(shares) for leaf, shares in leaf_shares.items()}


def measure(n_ops, warmup, repeats):
    """{name: microseconds per op}; PyTorch is None when it is not installed."""
    chains = {"numpy (no graph)": make_add_chain_numpy(n_ops)[0],
              "tinygrad_rnn": make_add_chain_engine(n_ops),
              "torch": make_add_chain_torch(n_ops)[0] if TORCH_AVAILABLE else None}
    return microseconds_per_op(chains, n_ops, warmup=warmup, repeats=repeats)


def measure_parts(n_ops, warmup, repeats):
    """{name: microseconds per op} of the engine stopped after each part, with the whole step
    and PyTorch's (None when it is not installed) timed in the same rounds. The bare walk's
    gradients are checked against backward's before anything is timed."""
    parts = make_add_chain_parts(n_ops)
    whole = make_add_chain_engine(n_ops)
    _, expected = whole()
    walked = parts["forward + bare walk"]()
    for name, grad in expected.items():
        np.testing.assert_allclose(walked[name], grad, rtol=1e-12, atol=0)
    chains = {**parts, "forward + backward": whole,
              "torch": make_add_chain_torch(n_ops)[0] if TORCH_AVAILABLE else None}
    return microseconds_per_op(chains, n_ops, warmup=warmup, repeats=repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--parts", action="store_true",
                        help="also time the engine stopped after each part (see above)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 ops, 2 repeats")
    args = parser.parse_args(argv)
    for name in ("ops", "repeats"):         # a chain of 0 ops divides by 0; -3 gives < 0 us
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    ops, repeats = (50, 2) if args.quick else (args.ops, args.repeats)
    per_op = measure(ops, warmup=1, repeats=repeats)
    print(f"### per-op overhead: y = y + c on 4-element float64, chain of {ops} ops, "
          f"median of {repeats} interleaved rounds\n")
    reference = "torch" if per_op["torch"] is not None else "numpy (no graph)"
    print(ratio_table(per_op, reference, value_header="us per op", format_value=format_us))
    if args.parts:
        parts = measure_parts(ops, warmup=1, repeats=repeats)
        reference = "torch" if parts["torch"] is not None else "forward + backward"
        print(f"\n### where the engine's time goes: the same chain stopped after each part, "
              f"median of {repeats} interleaved rounds\n")
        print(ratio_table(parts, reference, value_header="us per op", format_value=format_us))
    return 0


if __name__ == "__main__":
    sys.exit(main())
