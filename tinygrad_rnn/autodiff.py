"""Reverse mode: count each node's consumers, then one loop over a dict of pending gradients.

No recursion anywhere (an unrolled RNN is a chain as deep as the sequence is long). A first
walk counts, for every node the root's gradient reaches, the edges it is consumed through;
the main loop then runs a node's vjps once every consumer has added its share to the node's
pending gradient (Kahn's order, backwards): a value used twice (h[t] feeds y[t] and step t+1;
`x * x`) gets the sum, and each vjp runs once. Leaves have no vjps, so they wait for nothing:
their gradients add up as they arrive and are written to .grad when the walk is done. The
walk's bookkeeping (counts, pending gradients, which of them it may add into in place) lives
in the walk; nothing is stored on the nodes but the final .grad of leaves and of nodes that
retain_grad().
"""
from operator import attrgetter

import numpy as np

from .context import recording
from .errors import BackwardError, NumericalError, ShapeError, shapes_of, where_in_time
from .primitives import SAME, unbroadcast

_value = attrgetter("data")


def count_consumers(root):
    """For every op node root's gradient reaches, how many of its consumers it reaches it
    through (an edge counts once per use: x * x consumes x twice). Depth-first with an
    explicit stack. Leaves are not counted: they have no vjps to hold back.

    Only parents that require grad carry a gradient. A cut's output never requires grad, so
    the walk stops at every cut and never enters the truncated past. Nodes are their own
    dict keys: Tensor keeps identity equality and hashing."""
    consumers = {root: 0}
    stack = [root]
    while stack:
        for parent in stack.pop()._parents:
            if parent.requires_grad and parent._prim is not None:     # a leaf waits for nothing
                if parent in consumers:
                    consumers[parent] += 1
                else:
                    if parent._consumed:
                        raise _second_pass(parent)
                    consumers[parent] = 1
                    stack.append(parent)
    return consumers


def _second_pass(node):
    return BackwardError(
        f"backward through the graph a second time: the {node.op!r} node of shape {node.shape}"
        f"{where_in_time(node._meta)} was already walked by an earlier backward(). Pass "
        f"retain_graph=True to the first backward() to walk it again, or detach() a state "
        f"you carry from one sequence into the next.")


def _seed(root, grad):
    if grad is None:
        if root.data.size != 1:
            raise BackwardError(f"backward: a root of shape {root.shape} is not a scalar; pass "
                                f"grad= (an array of shape {root.shape}) or reduce it first "
                                f"(.sum(), .mean()){where_in_time(root._meta)}")
        return np.ones(root.shape, dtype=root.dtype)
    grad = np.asarray(grad.data if hasattr(grad, "_prim") else grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ShapeError(f"backward: grad of shape {grad.shape} does not match the root's "
                         f"shape {root.shape}")
    return grad


def backward(root, grad=None, retain_graph=False):
    """Accumulate the gradient of `root` (seeded with `grad`) into the leaves' .grad.

    Kahn's order in reverse: a node is ready once every consumer has passed it its share,
    so each node's vjps run exactly once, on the summed gradient."""
    if not root.requires_grad:
        what = "is the output of a cut" if root._prim is not None else "is a leaf"
        raise BackwardError(f"backward: this tensor of shape {root.shape} does not require "
                            f"grad (it {what} with requires_grad=False), so there is no graph "
                            f"to differentiate{where_in_time(root._meta)}")
    if root._consumed:
        raise _second_pass(root)
    waiting = count_consumers(root)
    pending = {root: _seed(root, grad)}
    owned = set()       # parents whose pending gradient is an array this walk made: += is safe
    ready = [root] if root._prim is not None else []
    anomaly, consume = recording.anomaly, not retain_graph
    while ready:
        node = ready.pop()
        g = pending.pop(node)
        prim = node._prim
        if node._retains_grad:
            _accumulate(node, g)
        node._consumed = consume
        parents, params = node._parents, node._params
        passes = prim.passes_through        # add: every input's gradient is g, as it is
        if not passes:
            out, vjps, into = node.data, prim.vjps, prim.into
            arrays = tuple(map(_value, parents))
            every = None if prim.vjp_all is None else prim.vjp_all(g, out, *arrays, **(params or {}))
        for i, parent in enumerate(parents):
            if not parent.requires_grad:
                continue
            if passes:
                gi = g
            elif into is not None:      # a slice adds its share into the parent's buffer itself
                _add_into(pending, owned, parent, into, g, out, arrays, params)
                gi = None
            elif every is not None:
                gi = every[i]
            else:
                vjp = vjps[i]
                if vjp is SAME:
                    gi = g                  # d(a - b)/da: the gradient passes unchanged
                elif params is None:
                    gi = vjp(g, out, *arrays)
                else:
                    gi = vjp(g, out, *arrays, **params)
            if gi is not None:
                earlier = pending.get(parent)
                if earlier is None:     # a leaf keeps a broadcast gradient: see _match_shapes
                    if gi.shape != parent.data.shape and parent._prim is not None:
                        gi = unbroadcast(gi, parent.data.shape)
                    pending[parent] = gi        # may be a view (add passes g on): not owned
                else:
                    if earlier.shape != gi.shape:
                        gi, earlier = _match_shapes(parent, gi, earlier, pending, owned)
                    if parent in owned:
                        earlier += gi
                    else:   # asarray: a 0-d sum is a numpy scalar, and += on it is no in-place add
                        pending[parent] = np.asarray(earlier + gi)
                        owned.add(parent)
            if anomaly:
                _check_gradient(node, i, pending[parent])
            if parent._prim is None:
                continue        # a leaf: its .grad is written once the walk is done
            left = waiting[parent] - 1
            waiting[parent] = left
            if not left:
                ready.append(parent)
    for leaf, g in pending.items():     # what is still pending is the leaves' gradients
        _accumulate(leaf, g)


def _match_shapes(parent, gi, earlier, pending, owned):
    """Two gradients of different shapes for one parent: sum both down to its shape.

    A leaf (a bias used at every step) keeps its pending gradient in the broadcast shape
    while more of the same shape arrive, and it is summed down once, when the walk is done
    with it: one reduction per backward instead of one per use. Anything else is summed
    down as it arrives, so only a leaf's pending gradient can be the one out of shape."""
    shape = parent.data.shape
    if earlier.shape != shape:
        earlier = pending[parent] = np.asarray(unbroadcast(earlier, shape))   # fresh: owned
        owned.add(parent)
    return unbroadcast(gi, shape), earlier


def _add_into(pending, owned, parent, into, g, out, arrays, params):
    """Add a slice's gradient into the parent's pending buffer in place (made if needed)."""
    buffer = pending.get(parent)
    if buffer is None or parent not in owned:
        fresh = np.zeros(parent.data.shape, dtype=g.dtype)
        if buffer is not None:
            fresh += buffer
        buffer = pending[parent] = fresh
        owned.add(parent)
    into(buffer, g, out, *arrays, **(params or {}))


def _accumulate(node, g):
    """Add g into node.grad, as an array of the node's own dtype that nothing else shares."""
    g = unbroadcast(g, node.data.shape)
    if node.grad is None:
        node.grad = np.array(g, dtype=node.data.dtype, copy=True)
    else:
        node.grad = (node.grad + g).astype(node.data.dtype, copy=False)


def _check_gradient(node, i, gi):
    if not np.all(np.isfinite(gi)):
        raise NumericalError(f"backward of {node.op} produced NaN or Inf in the gradient of "
                             f"operand {i} (operand shapes {shapes_of(node._parents)})"
                             f"{where_in_time(node._meta)}")
