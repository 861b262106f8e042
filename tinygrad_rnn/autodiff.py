"""Reverse mode: one loop over the graph in reverse topological order.

`graph.topological_order` lists every node the root's gradient reaches, following only the
inputs that require grad (a cut's output never does, so the walk stops at every cut and never
enters the truncated past), parents before children. Reversed, each node comes after all of
its consumers, so when the loop reaches a node, `pending` holds the sum of the shares its
consumers passed it, and its vjp runs once, on that sum: a value used twice (h[t] feeds y[t]
and step t+1; x * x) gets the sum. No recursion anywhere: an unrolled RNN is a chain as deep
as the sequence is long. Adding a share into a sum happens in one place, `accumulate`.

The leaves' sums are written to .grad when the walk is done, so a backward that fails half-way
changes no .grad. The walk's bookkeeping lives in the walk; nothing is stored on the nodes but
.grad of leaves and of nodes that retain_grad(), and the mark that a graph was consumed.
"""
from operator import attrgetter

import numpy as np

from .context import recording
from .errors import BackwardError, DTypeError, NumericalError, ShapeError, shapes_of, where_in_time
from .graph import topological_order
from .inplace import check_intact
from .primitives import unbroadcast

_NO_PARAMS = {}
_requires_grad = attrgetter("requires_grad")


def backward(root, grad=None, retain_graph=False):
    """Accumulate the gradient of `root` (seeded with `grad`) into the leaves' .grad."""
    pending = {root: _seed(root, grad)}     # each node's summed gradient, until its turn
    owned = set()                           # nodes whose sum is an array the walk made
    finished = []                           # (leaf, its gradient), written at the end
    consumed, writes, anomaly = not retain_graph, recording.writes, recording.anomaly
    for node in reversed(topological_order([root], inputs_with_gradient)):
        g = pending.pop(node, None)
        if g is None:                       # every consumer's share was None: no gradient
            continue
        if node._prim is None:
            finished.append((node, g))
            continue
        if node._consumed:
            raise _second_pass(node)
        if node._born != writes:            # something was written since node was made
            check_intact(node)
        if node._retains_grad:
            _write_grad(node, g, owned=False)
        shares = node._prim.vjp(g, node._data, node._parents, node._params or _NO_PARAMS)
        for parent, share in zip(node._parents, shares):
            if share is not None and parent.requires_grad:
                accumulate(pending, owned, parent, share)
        if anomaly:
            _check_gradients(node, pending)
        node._consumed = consumed
    for leaf, g in finished:
        _write_grad(leaf, g, leaf in owned)


def inputs_with_gradient(node):
    """The inputs a gradient flows back to: those that require grad."""
    return filter(_requires_grad, node._parents)


def accumulate(pending, owned, node, share):
    """Add one consumer's share into node's pending gradient, in node's shape.

    A share may come in the broadcast shape: it is summed down here. The first share is kept
    as it is, possibly a view of another node's gradient (add hands g on unchanged); a second
    one makes a new sum that the walk owns, and later ones are added into it in place."""
    shape = node._data.shape
    total = pending.get(node)
    if share.shape != shape:
        share = unbroadcast(share, shape)
    if total is None:
        pending[node] = share
    elif node in owned:
        total += share
    else:   # asarray: a 0-d sum is a numpy scalar, which += would not change in place
        pending[node] = np.asarray(total + share)
        owned.add(node)


def _write_grad(node, g, owned):
    """Add g into node.grad, as an array of the node's own dtype that nothing else shares."""
    dtype = node._data.dtype
    if node.grad is None:
        node.grad = g if owned and g.dtype == dtype else np.array(g, dtype=dtype)
    else:
        node.grad = (node.grad + g).astype(dtype, copy=False)


def _seed(root, grad):
    """The gradient backward starts from: 1 for a scalar root, else `grad` of root's shape."""
    if not root.requires_grad:
        what = "is the output of a cut" if root._prim is not None else "is a leaf"
        raise BackwardError(f"backward: this tensor of shape {root.shape} does not require "
                            f"grad (it {what} with requires_grad=False), so there is no graph "
                            f"to differentiate{where_in_time(root._meta)}")
    if root._consumed:
        raise _second_pass(root)
    if grad is None:
        if root._data.size != 1:
            raise BackwardError(f"backward: a root of shape {root.shape} is not a scalar; pass "
                                f"grad= (an array of shape {root.shape}) or reduce it first "
                                f"(.sum(), .mean()){where_in_time(root._meta)}")
        return np.ones(root.shape, dtype=root.dtype)
    try:
        seed = np.array(grad, dtype=root.dtype)
    except (TypeError, ValueError):
        raise DTypeError(f"backward: grad must be numeric, an array or Tensor of shape "
                         f"{root.shape}, got {type(grad).__name__} {grad!r:.60}") from None
    if seed.shape != root.shape:
        raise ShapeError(f"backward: grad of shape {seed.shape} does not match the root's "
                         f"shape {root.shape}")
    return seed


def _second_pass(node):
    return BackwardError(
        f"backward through the graph a second time: the {node.op!r} node of shape {node.shape}"
        f"{where_in_time(node._meta)} was already walked by an earlier backward(). Pass "
        f"retain_graph=True to the first backward() to walk it again, or detach() a state "
        f"you carry from one sequence into the next.")


def _check_gradients(node, pending):
    """Anomaly mode: the sums node's vjp just added to must be finite."""
    for position, parent in enumerate(node._parents):
        gradient = pending.get(parent)
        if gradient is not None and not np.all(np.isfinite(gradient)):
            raise NumericalError(f"backward of {node.op} produced NaN or Inf in the gradient of "
                                 f"operand {position} (operand shapes "
                                 f"{shapes_of(node._parents)}){where_in_time(node._meta)}")
