"""Reverse mode: count each node's consumers, then one loop over a stack of ready nodes.

No recursion anywhere (an unrolled RNN is a chain as deep as the sequence is long). A first
walk counts, for every node the root's gradient reaches, the edges it is consumed through;
the main loop then runs a node's vjps once every consumer has passed it its share (Kahn's
order, backwards): the shares of all but the last consumer wait in a dict, and the last one
puts the node on the ready stack with their sum. A value used twice (h[t] feeds y[t] and step
t+1; `x * x`) gets the sum, and each vjp runs once. Leaves have no vjps, so they wait for
nothing: their gradients add up as they arrive and are written to .grad when the walk is
done. The walk's bookkeeping (counts, waiting shares, which sums it may add into in place)
lives in the walk; nothing is stored on the nodes but the final .grad of leaves and of
nodes that retain_grad().
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
            if parent._prim is not None and parent.requires_grad:     # a leaf waits for nothing
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
    seed = _seed(root, grad)
    if root._prim is None:
        _accumulate(root, seed)
        return
    waiting = count_consumers(root)
    pending = {}        # the summed shares of a node's consumers, until its last one
    leaf_grads = {}     # each leaf's gradient so far, summed as its shares arrive
    owned = set()       # nodes and leaves whose sum is an array this walk made: += is safe
    ready = [(root, seed)]
    anomaly, consume = recording.anomaly, not retain_graph
    while ready:
        node, g = ready.pop()
        prim = node._prim
        if node._retains_grad:
            _accumulate(node, g)
        node._consumed = consume
        parents, params = node._parents, node._params
        passes = prim.passes_through        # add: every input's gradient is g, as it is
        if not passes:
            out, vjps, into = node.data, prim.vjps, prim.into
            arrays = tuple(map(_value, parents))
            every = (None if prim.vjp_all is None
                     else prim.vjp_all(g, out, *arrays, **(params or {})))
        i = -1
        for parent in parents:      # a counter, not enumerate(): its tuple per edge costs more
            i += 1
            if not parent.requires_grad:
                continue
            is_leaf = parent._prim is None
            if passes:
                gi = g
            elif into is not None:      # a slice adds its share into the parent's buffer itself
                buffers = leaf_grads if is_leaf else pending
                _add_into(buffers, owned, parent, into, g, out, arrays, params)
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
            if is_leaf:     # a leaf waits for nothing: its .grad is written once the walk is done
                if gi is not None:
                    total = leaf_grads.get(parent)
                    if total is None:   # a copy, in the leaf's dtype, that the walk owns
                        leaf_grads[parent] = np.array(gi, dtype=parent.data.dtype)
                        owned.add(parent)
                    elif total.shape == gi.shape:
                        total += gi
                    else:   # a bias: its gradient is kept in the broadcast shape; see _sum_down
                        leaf_grads[parent] = _sum_down(parent, total, gi)
                if anomaly:
                    _check_gradient(node, i, leaf_grads[parent])
                continue
            if gi is not None and gi.shape != parent.data.shape:
                gi = unbroadcast(gi, parent.data.shape)
            earlier = pending.pop(parent, None)
            if earlier is not None:         # add the shares passed before
                if gi is None:
                    gi = earlier            # a slice already added its share into it
                elif parent in owned:
                    earlier += gi
                    gi = earlier
                else:   # asarray: a 0-d sum is a numpy scalar, and += on it is no in-place add
                    gi = np.asarray(earlier + gi)
                    owned.add(parent)
            if anomaly:
                _check_gradient(node, i, gi)
            left = waiting[parent] - 1
            if left:
                waiting[parent] = left
                pending[parent] = gi        # may be a view (add passes g on): owned or not
            else:
                ready.append((parent, gi))
    for leaf, g in leaf_grads.items():
        _accumulate(leaf, g)


def _sum_down(leaf, total, gi):
    """Gradients of two shapes for one leaf (a bias that add hands (B, H) and linear (H,)):
    sum both down to the leaf's shape.

    A leaf keeps its gradient in the broadcast shape while more of the same shape arrive,
    and it is summed down once, when the walk is done with it: one reduction per backward
    instead of one per use. Op nodes' gradients are summed down as they arrive, since their
    vjps must see the node's own shape."""
    shape = leaf.data.shape
    if total.shape != shape:
        total = np.asarray(unbroadcast(total, shape))      # a fresh sum: the walk's own
    total += unbroadcast(gi, shape)
    return total


def _add_into(buffers, owned, parent, into, g, out, arrays, params):
    """Add a slice's gradient into the parent's pending buffer in place (made if needed)."""
    shape = parent.data.shape
    buffer = buffers.get(parent)
    if buffer is None or parent not in owned or buffer.shape != shape:
        fresh = np.zeros(shape, dtype=g.dtype)
        if buffer is not None:
            fresh += unbroadcast(buffer, shape)
        buffer = buffers[parent] = fresh
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
