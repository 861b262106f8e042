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
import numpy as np

from .context import recording
from .errors import BackwardError, DTypeError, NumericalError, ShapeError, shapes_of, where_in_time
from .graph import topological_order
from .inplace import check_intact
from .primitives import unbroadcast

_NO_PARAMS = {}


def backward(root, grad=None, retain_graph=False):
    """Accumulate the gradient of `root` (seeded with `grad`) into the leaves' .grad."""
    if not isinstance(retain_graph, (bool, np.bool_)):
        raise DTypeError(f"backward: retain_graph must be True or False, got {retain_graph!r}")
    pending = {root: _seed(root, grad)}     # each node's summed gradient, until its turn
    owned = set()                           # nodes whose sum is an array the walk made
    leaves = []                             # (leaf, its gradient), written at the end
    writes, anomaly = recording.writes, recording.anomaly
    for node in reversed(topological_order([root], gradient_inputs)):
        g = pending.pop(node, None)
        if g is None:                       # no gradient reaches it (a constant, say)
            continue
        if node._prim is None:
            leaves.append((node, g))
            continue
        if node._consumed:
            raise _second_pass(node)
        if node._born != writes:            # something was written since node was made
            check_intact(node)
        if node._retains_grad:
            _write_grad(node, g, owned=False)
        parents = node._parents
        accumulate(pending, owned, parents,
                   node._prim.vjp(g, node._data, parents, node._params or _NO_PARAMS))
        if anomaly:
            _check_gradients(node, pending)
        node._consumed = not retain_graph
    _check_grads(leaves)
    for leaf, g in leaves:
        _write_grad(leaf, g, leaf in owned)


def gradient_inputs(node):
    """The inputs a gradient may flow back to: none from a node that does not require grad
    (a cut, a constant), so the walk never enters the truncated past."""
    return node._parents if node.requires_grad else ()


def accumulate(pending, owned, parents, shares):
    """Add each parent's share of a node's gradient into that parent's pending sum.

    A share may come in the broadcast shape: it is summed down to the parent's shape here.
    A parent's first share is kept as it is, possibly a view of another node's gradient (add
    hands g on unchanged); a second makes a new sum that the walk owns, and later ones are
    added into it in place. None, or a parent that does not require grad, adds nothing."""
    for parent, share in zip(parents, shares):
        if share is None or not parent.requires_grad:
            continue
        shape = parent._data.shape
        if share.shape != shape:
            share = unbroadcast(share, shape)
        total = pending.get(parent)
        if total is None:
            pending[parent] = share
        elif parent in owned:
            total += share
        else:   # asarray: a 0-d sum is a numpy scalar, which += would not change in place
            pending[parent] = np.asarray(total + share)
            owned.add(parent)


def _write_grad(node, g, owned):
    """Add g into node.grad, as an array of the node's own dtype that nothing else shares."""
    dtype = node._data.dtype
    if node.grad is None:
        node.grad = g if owned and g.dtype == dtype else np.array(g, dtype=dtype)
    else:
        node.grad = (node.grad + g).astype(dtype, copy=False)


def _check_grads(leaves):
    """Every .grad the walk will add into must be an array of its tensor's shape (a user may
    have set one by hand): checked before any is written, so a refusal changes none."""
    for leaf, _ in leaves:
        grad = leaf.grad
        if grad is not None and np.shape(grad) != leaf._data.shape:
            named = f" {leaf.name!r}" if leaf.name is not None else ""
            raise ShapeError(f"backward: the .grad of the tensor{named} of shape {leaf.shape} "
                             f"holds shape {np.shape(grad)}; set it to None (zero_grad()) or to "
                             f"an array of the tensor's shape before backward()")


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
