"""Each of the engine's fast paths against the plain code it replaces, in one process.

    python benchmarks/bench_fast_paths.py [--repeats 15] [--quick]

The engine keeps a few places where it does the same arithmetic a cheaper way; NOTES.md beside
this script says where they are and gives the figures this script printed. Each row times the
engine as it is and with that one fast path switched off (the plain code put back for the
duration), in interleaved rounds, and prints medians and their ratio:

- the `passes` rule (primitives.py): add's gradient handed on without a call, against a rule
  that returns g when called; the per-op chain of bench_overhead.py, forward and backward;
- `ndarray.dot` for 2-D products against `np.matmul`, in linear's forward and vjp (every
  product of the Elman step is a linear): an Elman training step;
- `np.matmul`, not `ndarray.dot`, for a stack of matrices (ndarray.dot of a (T, B, K) array
  does not call BLAS): nn.Linear over the whole input sequence (T, B, N), forward and
  backward;
- the hoisted input projection (nn/input_projection.py) against one linear per step: the same
  step, `hoist_input=False`;
- the vectorized squared-error loss terms (nn/sequence_loss.py) against one mse node computed
  per step: the same step;
- a leaf's small shares added in blocks (autodiff.Sums) against one in-place add per share:
  the add chain (its shared leaf gets one share per op) and the Elman step;
- a slice's gradient kept as a Scatter (shares.py) and added into its tensor's sum in
  place (autodiff.Sums) against one dense array of the tensor's shape per slice: the Elman
  step with `checkpoint_every=10`, whose loss reads its outputs a step at a time;
- linear's weight gradient kept as a Product (shares.py) and multiplied out for a block of
  steps at once (autodiff.Sums) against one product per step: the Elman step.
"""
import argparse
import importlib
import sys
from contextlib import contextmanager

import numpy as np
from bench_overhead import make_add_chain_engine
from engine_step import build_elman, elman_bptt_engine
from harness import format_ms, interleaved_medians, markdown_table
from reference_numpy import make_problem

from tinygrad_rnn import Tensor, autodiff, nn
from tinygrad_rnn.primitives import PRIMITIVES
from tinygrad_rnn.shares import Product, Scatter

# the module, not the function of the same name that tinygrad_rnn.nn exports
sequence_loss = importlib.import_module("tinygrad_rnn.nn.sequence_loss")


@contextmanager
def replaced(row, **attributes):
    """The ops-table row `row` with some of its attributes replaced for the duration."""
    prim = PRIMITIVES[row]
    saved = {name: getattr(prim, name) for name in attributes}
    for name, value in attributes.items():
        setattr(prim, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(prim, name, value)


def _identity(g, out, a, b):
    return g


def _called_rules(g, out, parents, params):
    """add's vjp as a row of two called rules would build it."""
    a, b = parents
    return _identity(g, out, a._data, b._data), _identity(g, out, a._data, b._data)


def plain_add():
    """add with rules that are called (each returns g), not the `passes` marker."""
    return replaced("add", vjp=_called_rules)


def _linear_matmul(x, W, b=None):
    return np.matmul(x, W.T) if b is None else np.matmul(x, W.T) + b


def _linear_vjp_matmul(g, out, parents, params):
    """linear's vjp with np.matmul, computing (as the engine's does) only the gradients of the
    inputs that require grad."""
    x, W = parents[0]._data, parents[1]._data
    flat_g, flat_x = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
    wanted = [parent.requires_grad for parent in parents]
    return ((np.matmul(g, W) if wanted[0] else None,
             np.matmul(flat_g.T, flat_x) if wanted[1] else None)
            + ((g if wanted[2] else None,) if len(parents) == 3 else ()))


@contextmanager
def plain_matmul():
    """linear's products (forward and vjp) through np.matmul instead of ndarray.dot."""
    with replaced("linear", forward=_linear_matmul, vjp=_linear_vjp_matmul):
        yield


def _linear_dot(x, W, b=None):
    return x.dot(W.T) if b is None else x.dot(W.T) + b


def _linear_vjp_dot(g, out, parents, params):
    """linear's vjp with ndarray.dot for the input's gradient whatever its rank."""
    x, W = parents[0], parents[1]
    return ((g.dot(W._data) if x.requires_grad else None,
             Product(g, x._data, W._data.shape) if W.requires_grad else None)
            + ((g if parents[2].requires_grad else None,) if len(parents) == 3 else ()))


def dot_for_stacks():
    """linear's products through ndarray.dot for a stack of matrices too."""
    return replaced("linear", forward=_linear_dot, vjp=_linear_vjp_dot)


def make_sequence_linear(xs, width):
    """nn.Linear(N, width) over a whole (T, B, N) sequence that requires grad, forward and
    backward of the sum of squares: a run returns (loss, {"W", "b", "x": gradients})."""
    layer = nn.Linear(xs.shape[-1], width, seed=0)
    x = Tensor(xs, requires_grad=True)

    def run():
        layer.zero_grad()
        x.grad = None
        loss = (layer(x) ** 2).sum()
        loss.backward()
        return loss.item(), {"W": layer.W.grad, "b": layer.b.grad, "x": x.grad}

    return run


@contextmanager
def per_step_losses():
    """Each R[t] computed by its own mse call instead of a block of steps at once."""
    vectorized = sequence_loss._squared_error_terms
    sequence_loss._squared_error_terms = lambda *args: None
    try:
        yield
    finally:
        sequence_loss._squared_error_terms = vectorized


@contextmanager
def share_by_share():
    """Every share of a leaf added into its sum as it arrives, none waiting in a block."""
    small = autodiff.SMALL_SHARE
    autodiff.SMALL_SHARE = 0
    try:
        yield
    finally:
        autodiff.SMALL_SHARE = small


def _dense_slice_vjp(g, out, parents, params):
    return (np.asarray(Scatter(g, params["index"], parents[0].shape)),)


def dense_slices():
    """getitem's gradient written out as a dense array of its input's shape."""
    return replaced("getitem", vjp=_dense_slice_vjp)


_LINEAR_VJP = PRIMITIVES["linear"].vjp


def _dense_weight_vjp(g, out, parents, params):
    return tuple(np.asarray(share) if share.__class__ is Product else share
                 for share in _LINEAR_VJP(g, out, parents, params))


def dense_products():
    """linear's weight gradient multiplied out at every step, not kept as a Product."""
    return replaced("linear", vjp=_dense_weight_vjp)


def check_same_result(fast, plain):
    """The fast and the plain run must give the same loss and gradients (to rounding) before
    either is timed. A run returns (loss, {name: gradient})."""
    (loss_a, grads_a), (loss_b, grads_b) = fast(), plain()
    assert np.isclose(loss_a, loss_b, rtol=1e-12, atol=0), (loss_a, loss_b)
    for name in grads_a:
        np.testing.assert_allclose(grads_b[name], grads_a[name], rtol=1e-10, atol=1e-14,
                                   err_msg=name)


def switched(run, switch):
    """run(), with the fast path switched off for the duration of each call."""
    def plain():
        with switch():
            return run()
    return plain


def measure(size, ops, warmup, repeats):
    """[(fast path, what is timed, median with it, median without it)] in seconds."""
    params, xs, vs = make_problem(size)
    hoisted, unhoisted = build_elman(params), build_elman(params)
    unhoisted.hoist_input = False

    def step():
        return elman_bptt_engine(hoisted, xs, vs)

    def checkpointed_step():
        return elman_bptt_engine(hoisted, xs, vs, checkpoint_every=10)

    chain = make_add_chain_engine(ops)
    sequence_linear = make_sequence_linear(xs, params["W1"].shape[0])
    cases = [("passes (add)", f"add chain of {ops} ops", chain, switched(chain, plain_add)),
             ("ndarray.dot", f"Elman step, {size}", step, switched(step, plain_matmul)),
             ("matmul for a stack", f"nn.Linear over xs {xs.shape}, {size}", sequence_linear,
              switched(sequence_linear, dot_for_stacks)),
             ("hoisted input projection", f"Elman step, {size}", step,
              lambda: elman_bptt_engine(unhoisted, xs, vs)),
             ("vectorized loss terms", f"Elman step, {size}", step,
              switched(step, per_step_losses)),
             ("leaf shares in blocks", f"add chain of {ops} ops", chain,
              switched(chain, share_by_share)),
             ("leaf shares in blocks", f"Elman step, {size}", step, switched(step, share_by_share)),
             ("slice gradients added in place", f"checkpointed Elman step, {size}",
              checkpointed_step, switched(checkpointed_step, dense_slices)),
             ("weight gradients multiplied out in blocks", f"Elman step, {size}", step,
              switched(step, dense_products))]
    rows = []
    for name, timed, fast, plain in cases:
        check_same_result(fast, plain)
        medians = interleaved_medians({"fast": fast, "plain": plain}, warmup=warmup,
                                      repeats=repeats)
        rows.append((name, timed, medians["fast"], medians["plain"]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny size, 2 repeats")
    args = parser.parse_args(argv)
    size, ops, repeats = ("tiny", 50, 2) if args.quick else (args.size, 1000, args.repeats)
    rows = measure(size, ops, warmup=1, repeats=repeats)
    print(f"### fast paths on and off, medians of {repeats} interleaved rounds\n")
    print(markdown_table(["fast path", "timed", "with (ms)", "without (ms)", "without / with"],
                         [[name, timed, format_ms(fast), format_ms(plain), f"{plain / fast:.2f}x"]
                          for name, timed, fast, plain in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
