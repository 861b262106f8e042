"""The one loop that unrolls every recurrent model through time.

A cell is anything with
    initial_state(batch, dtype) -> the state entering step 1
    enter(carry, t)             -> the state entering step t, from the carry step t-1 left
    step(x, state, t)           -> (y[t], carry)
    input_size, and describe_state(batch) (a string for error messages)
For Elman the carry is h[t] and entering is the identity; for Jordan the carry is
(s[t], y[t]) and entering computes s[t+1] = mu s[t] + y[t]. Stacked cells and the generic
state-space cell follow the same protocol, so every architecture is unrolled by this loop.

Each step runs inside `step(t)` (t = 1..T), so every node it creates carries its time step for
the visualizer and for error messages. The truncation policy decides which entering states are
cut (see truncation.py); cuts never change forward values.
"""
import numpy as np

from ..context import step as time_step
from ..errors import NumericalError, ShapeError
from ..functional import stack
from ..tensor import Tensor
from ..truncation import resolve


def as_sequence(xs, model_name, input_size):
    """xs as a (T, B, N) Tensor, or a ShapeError / NumericalError that says what is wrong."""
    xs = xs if isinstance(xs, Tensor) else Tensor(xs)
    if xs.ndim != 3:
        raise ShapeError(f"{model_name}: expected inputs of shape (T, B, {input_size}) "
                         f"(time, batch, features), got {xs.shape}")
    if xs.shape[0] == 0:
        raise ShapeError(f"{model_name}: the sequence is empty (T = 0, inputs of shape {xs.shape}); "
                         f"it needs at least one time step")
    if input_size is not None and xs.shape[2] != input_size:
        raise ShapeError(f"{model_name}: expected inputs of shape (T, B, {input_size}), got "
                         f"{xs.shape}: {xs.shape[2]} features per step, not {input_size}")
    finite = np.isfinite(xs.data)
    if not finite.all():
        t, b, n = np.argwhere(~finite)[0]
        raise NumericalError(f"{model_name}: the inputs hold {xs.data[t, b, n]} at time step "
                             f"t={t + 1} (x[{t + 1}], batch {b}, feature {n})")
    return xs


def cut_state(state):
    """Cut a state (a Tensor or a tuple of them): identity forward, no gradient."""
    if isinstance(state, tuple):
        return tuple(cut_state(s) for s in state)
    return state.cut()


def unroll(cell, xs, state=None, truncation="full"):
    """Run `cell` over xs (T, B, N): returns (ys of shape (T, B, O), the final carry).

    `state` is a carry from an earlier call (continue a sequence) or None (start from the
    cell's initial state). Under window(h) the recurrence runs on h chains; see truncation.py.
    """
    name = type(cell).__name__
    policy = resolve(truncation)
    xs = as_sequence(xs, name, cell.input_size)
    steps, batch = xs.shape[0], xs.shape[1]
    if state is None:
        start = cell.initial_state(batch, xs.dtype)
    else:
        cell.check_state(state, batch)
        start = None
    chains = min(policy.chains, steps + 1)
    carries = [state] * chains
    outputs = []
    for t in range(1, steps + 1):
        with time_step(t):
            x = xs[t - 1].annotate(role="input", name=f"x[{t}]")
            for chain in range(chains):
                entering = start if t == 1 and start is not None else cell.enter(carries[chain], t)
                if policy.cuts_before(t, chain):
                    entering = cut_state(entering)
                y, carries[chain] = cell.step(x, entering, t)
                if chain == policy.chain_for_output(t):
                    outputs.append(y)
    return stack(outputs), carries[policy.chain_for_output(steps)]
