"""The one loop that unrolls every recurrent model through time.

A cell is anything with
    initial_state(batch, dtype) -> the state entering step 1
    enter(carry, t)             -> the state entering step t, from the carry step t-1 left
    step(x, state, t)           -> (y[t], carry)
    check_state(state, batch)   -> raises ShapeError for a state the cell cannot continue from
    input_size
For Elman the carry is h[t] and entering is the identity; for Jordan the carry is
(s[t], y[t]) and entering computes s[t+1] = mu s[t] + y[t]. Stacked cells and the generic
state-space cell follow the same protocol, so every architecture is unrolled by this loop.

Each step runs inside `step(t)` (t = 1..T), so every node it creates carries its time step for
the visualizer and for error messages. The truncation policy decides which entering states are
cut (see truncation.py); cuts never change forward values.
"""
import weakref
from contextlib import nullcontext
from itertools import count

import numpy as np

from .. import settings
from ..checkpoint import checkpoint, flatten
from ..context import step as time_step
from ..context import tagged
from ..errors import NumericalError, SettingError, ShapeError
from ..functional import concatenate, stack
from ..inplace import memory_owner
from ..memory import collecting, release_unread
from ..tensor import constant, leaf, precomputed
from ..truncation import resolve

# Value release goes on after the first step only while a step frees at least this many bytes
# (a page): below that, the bookkeeping costs more than the memory it saves (bench_memory.py).
RELEASE_AT_LEAST = 4096
_NOT_COLLECTING = nullcontext()


def as_sequence(xs, model_name, input_size):
    """xs as a (T, B, N) Tensor, or a ShapeError / NumericalError that says what is wrong."""
    xs = constant(xs)        # an array is read, not copied: it may be a long recording
    if xs.ndim != 3:
        raise ShapeError(f"{model_name}: expected inputs of shape (T, B, {input_size}) "
                         f"(time, batch, features), got {xs.shape}")
    if xs.shape[0] == 0:
        raise ShapeError(f"{model_name}: the sequence is empty (T = 0, inputs of shape "
                         f"{xs.shape}); it needs at least one time step")
    if xs.shape[1] == 0:
        raise ShapeError(f"{model_name}: the batch is empty (B = 0, inputs of shape "
                         f"{xs.shape}); it needs at least one sequence")
    if input_size is not None and xs.shape[2] != input_size:
        raise ShapeError(f"{model_name}: expected inputs of shape (T, B, {input_size}), got "
                         f"{xs.shape}: {xs.shape[2]} features per step, not {input_size}")
    # min and max are NaN if any value is, and +-inf if any is: no input-sized mask is made
    # (a long recording's mask would cost more memory than its whole graph)
    if not (np.isfinite(xs._data.min()) and np.isfinite(xs._data.max())):
        t, b, n = np.argwhere(~np.isfinite(xs._data))[0]
        raise NumericalError(f"{model_name}: the inputs hold {xs._data[t, b, n]} at time step "
                             f"t={t + 1} (x[{t + 1}], batch {b}, feature {n})")
    return xs


def cut_state(state):
    """Cut a state (a Tensor or a tuple of them): identity forward, no gradient."""
    if isinstance(state, tuple):
        return tuple(cut_state(s) for s in state)
    return state.cut()


def unroll(cell, xs, state=None, truncation="full", checkpoint_every=None, step=None):
    """Run `cell` over xs (T, B, N): returns (ys of shape (T, B, O), the final carry).

    `state` is a carry from an earlier call (continue a sequence) or None (start from the
    cell's initial state). Under window(h) the recurrence runs on h chains; see truncation.py.
    The boundary between two calls is one like any other: with the carry this cell returned
    passed back in, elman and chunked(k) cut it (chunks count from each call's first step),
    full keeps it, and window(h) refuses it (pass state.detach()); any other state enters
    uncut, as an initial state does; see _continued.
    checkpoint_every=k stores one state per k steps and recomputes each segment of k steps
    during backward (checkpoint.py): the same gradients, a fraction of the memory. `step`
    replaces cell.step, e.g. by the same step bound to inputs projected ahead of time.
    """
    name = type(cell).__name__
    policy = resolve(truncation)
    xs = as_sequence(xs, name, cell.input_size)
    step = cell.step if step is None else step
    steps, batch = xs.shape[0], xs.shape[1]
    if state is None:
        start = cell.initial_state(batch, xs.dtype)
    else:
        state = as_state(state)
        cell.check_state(state, batch)
        _check_finite_state(name, state)
        start = None
    with tagged(unroll=next(_CALLS)):   # which call made a node: window(h)'s copies of h[t]
        if state is not None:
            state = _continued(cell, name, state, policy)
        if checkpoint_every is not None:  # share it, another call's h[t] does not
            ys, carry = _unroll_in_segments(cell, step, xs, start, state, policy,
                                            checkpoint_every)
        else:
            chains = min(policy.chains, steps + 1)
            outputs, carries = _run_steps(cell, step, xs, 1, start, [state] * chains, policy)
            ys, carry = outputs.stacked(), carries[policy.chain_for_output(steps)]
    for tensor in _tensors([carry]):
        _remember_carry(tensor, cell)
    return ys, carry


_CALLS = count(1)       # numbers the unroll calls of this process (meta["unroll"])
# id of each carry an unroll returned -> (a weak reference to it, the cell that returned it):
# only a cell's own carry passed back in continues its sequence (an encoder's final state
# entering a decoder does not). Keyed by id: a Tensor's == is elementwise, no dict key.
_CARRIES = {}


def _remember_carry(tensor, cell):
    key = id(tensor)
    _CARRIES[key] = (weakref.ref(tensor, lambda _, key=key: _CARRIES.pop(key, None)), cell)


def _carried_by(tensor):
    """The cell whose unroll returned `tensor` as (part of) its carry, or None."""
    entry = _CARRIES.get(id(tensor))
    return entry[1] if entry is not None and entry[0]() is tensor else None


class _Rows:
    """The outputs y[t] of an unroll, moved as they come into one (T, ...) array: each y[t]
    keeps a view of its row (same values), so stacking them into ys copies nothing and every
    y[t] is stored once, not twice. All of them share the memory of the first y, so a write
    into any row (or into ys) is seen by every node that reads one (inplace.py)."""

    def __init__(self, steps):
        self.steps, self.array, self.outputs = steps, None, []

    def add(self, y):
        value = y._data
        if not self.outputs:
            self.array = np.empty((self.steps,) + value.shape, dtype=value.dtype)
        if self.array is not None and value.shape == self.array.shape[1:] and \
                value.dtype == self.array.dtype:
            row = self.array[len(self.outputs)]
            row[...] = value
            y._data = row                    # the same values, now in the stack's memory
            if self.outputs:
                y._memory = memory_owner(self.outputs[0])
        else:
            self.array = None       # outputs of varying shape: stack() will copy them
        self.outputs.append(y)

    def stacked(self):
        if self.array is None:
            return stack(self.outputs)
        return precomputed("stack", self.outputs, self.array, memory_of=self.outputs[0], axis=0)


def _run_steps(cell, step, xs, first, start, carries, policy):
    """Steps first .. first + len(xs) - 1 of the loop (xs holds just those rows). `start` is
    the state entering step `first` if it is the sequence's initial state, else None and the
    carries (one per chain) are entered. Returns the outputs (_Rows) and the carries after
    the last step."""
    outputs, carries = _Rows(xs.shape[0]), list(carries)
    release = getattr(cell, "releases_values", False)
    for t in range(first, first + xs.shape[0]):
        with time_step(t), collecting() if release else _NOT_COLLECTING as created:
            x = _row(xs, t - first).annotate(role="input", name=f"x[{t}]")
            for chain in range(len(carries)):
                entering = (start if t == first and start is not None
                            else cell.enter(carries[chain], t))
                if policy.cuts_before(t, chain):
                    entering = cut_state(entering)
                y, carries[chain] = step(x, entering, t)
                if chain == 0:
                    first_y = y
                else:
                    _check_same_draw(cell, policy, t, chain, (first_y, carries[0]),
                                     (y, carries[chain]))
                if chain == policy.chain_for_output(t):
                    outputs.add(y)
        if release:
            freed = release_unread(created, keep=[outputs.outputs[-1], *_tensors(carries)])
            release = t != first or freed >= RELEASE_AT_LEAST
    return outputs, carries


def _check_same_draw(cell, policy, t, chain, first, other):
    """Every chain of window(h) must compute the same forward values (only its cuts differ),
    for y[t] is read from chain t % h: a step that draws anew on each run (a Dropout in
    training, any random draw) would give ys that mix h realisations and match none, and
    gradients of no one function. Compared as the checkpoint's recomputation is
    (checkpoint.py): the same numpy calls on the same values give the same bits."""
    for mine, theirs in zip(_tensors([first]), _tensors([other])):
        a, b = mine._data, theirs._data
        if a is b or np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            continue
        raise SettingError(        # the policy does not fit this step
            f"{type(cell).__name__}: under {policy!r} the step runs once per chain and must give "
            f"the same values each time, but chain {chain} computed other values than chain 0 "
            f"at time step t={t} (of shape {a.shape}). A Dropout in training or any random draw "
            f"inside the step draws anew on every chain, so the outputs would mix "
            f"{policy.chains} realisations. Use chunked(k), elman or full (one chain), or "
            f"apply the randomness outside the recurrence, or call model.eval()")


def _continued(cell, name, state, policy):
    """A state passed in, entering step 1 of this call. When it is the carry this cell's own
    unroll returned (and a recorded node that requires grad), the call continues that
    sequence, and the policy treats the calls' meeting as the boundary it is (truncation.py):
    full keeps it, chunked(k) and elman cut it (step 1 of a call starts a chunk), and window(h)
    refuses it: its chains would each reach back into the earlier call's single chain. Any
    other state (an encoder's final state, a learned or computed initial state, arrays,
    state.detach()) enters as it is, as an initial state does: never cut."""
    carried = [t for t in _tensors([state])
               if _carried_by(t) is cell and t.requires_grad and not t.is_leaf]
    if not carried or not (policy.cuts_between_calls or policy.chains > 1):
        return state
    if policy.chains > 1:
        raise SettingError(
            f"{name}: under {policy!r} the gradient of y[t] reaches back exactly "
            f"{policy.chains} steps, but the state passed in is the carry of an earlier call, "
            f"whose one chain of steps cannot be windowed from here. Pass state.detach() (for "
            f"a tuple, each part's) to start the window at this call, or run the whole "
            f"sequence in one call, or use chunked(k) or full")
    with time_step(1):
        return _cut(state, carried)


def _cut(state, carried):
    """The state with each of its tensors in `carried` cut, the rest as they are."""
    if isinstance(state, tuple):
        return tuple(_cut(s, carried) for s in state)
    return state.cut() if any(state is t for t in carried) else state


def _row(xs, i):
    """xs[i]. A constant sequence's row is a constant, so it is made as one directly, a leaf
    on a view of the row: the same tensor xs[i] records, without a getitem node."""
    if xs.is_leaf and not xs.requires_grad:
        return leaf(xs._data[i], memory_of=xs)
    return xs[i]


def _unroll_in_segments(cell, step, xs, start, state, policy, every):
    """unroll() with each segment of `every` steps behind one checkpoint node."""
    every = settings.positive_int("unroll", "checkpoint_every", every)
    if policy.chains > 1:
        raise SettingError(f"{policy!r} runs {policy.chains} chains; checkpointing unrolls one "
                           f"chain (use full, elman or chunked(k))")
    segments = []
    entering, fresh = (start, True) if start is not None else (state, False)
    for first in range(1, xs.shape[0] + 1, every):
        tensors, rebuild = flatten(entering)

        def segment(rows, *tensors, first=first, rebuild=rebuild, fresh=fresh):
            state_in = rebuild(list(tensors))
            outputs, (carry,) = _run_steps(cell, step, rows, first,
                                           state_in if fresh else None,
                                           [None if fresh else state_in], policy)
            return outputs.stacked(), carry

        ys, entering = checkpoint(segment, xs[first - 1:first - 1 + every], *tensors)
        segments.append(ys)
        fresh = False
    return concatenate(segments, axis=0), entering


def _check_finite_state(name, state):
    """A state passed in holding NaN or Inf is refused, as inputs holding them are."""
    for tensor in _tensors([state]):
        values = getattr(tensor, "data", None)
        if isinstance(values, np.ndarray) and values.dtype.kind == "f" and \
                not np.isfinite(values).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
            raise NumericalError(f"{name}: the state passed in holds {values[index]} at index "
                                 f"{index}; it would make every output NaN")


def as_state(state):
    """A state given as arrays (or tuples of them) as constant Tensors, as xs is."""
    if isinstance(state, tuple):
        return tuple(as_state(s) for s in state)
    return constant(state) if isinstance(state, np.ndarray) else state


def _tensors(states):
    """Every Tensor in a (nested) list or tuple of states."""
    for state in states:
        if isinstance(state, (tuple, list)):
            yield from _tensors(state)
        elif state is not None:
            yield state
