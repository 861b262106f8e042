"""Reverse mode: one loop over the graph in reverse topological order.

`graph.topological_order` lists every node the root's gradient reaches, expanding only the
nodes that require grad (a cut's output does not, so the walk stops at every cut and never
enters the truncated past; a constant joins the order, with nothing to expand), parents before
children. Reversed, each node comes after all of its consumers, so when the loop reaches a
node, `pending` holds the sum of the shares its consumers passed it, and its vjp runs once, on
that sum: a value used twice (h[t] feeds y[t] and step t+1; x * x) gets the sum. No recursion
anywhere: an unrolled RNN is a chain as deep as the sequence is long. Adding a share into a sum
happens in one place, `Sums`.

The leaves' sums (and the gradients of nodes that retain_grad()) are written to .grad when the
walk is done, so a backward that fails half-way changes no .grad (one exception: a checkpoint's
recomputation runs a backward of its own, which writes the .grad of the parameters its function
reads when it is done; see checkpoint.py). The walk's bookkeeping lives in the walk; nothing is
stored on the nodes but .grad of leaves and of nodes that retain_grad(), and the mark that a
graph was consumed.
"""
import numpy as np

from .context import recording
from .errors import BackwardError, DTypeError, NumericalError, ShapeError, shapes_of, where_in_time
from .graph import topological_order
from .inplace import check_intact, check_outside
from .primitives import unbroadcast
from .shares import Product, Scatter

SMALL_SHARE = 4096      # bytes: a leaf's shares smaller than this wait to be added in blocks
LEAF_BLOCK = 64         # shares at most in a block
PRODUCT_BLOCK = 2       # a block of Products holds rows of at most twice its weight's bytes


def backward(root, grad=None, retain_graph=False):
    """Accumulate the gradient of `root` (seeded with `grad`) into the leaves' .grad.
    retain_graph=None is False, PyTorch's default spelled out."""
    if retain_graph is None:
        retain_graph = False
    if not isinstance(retain_graph, (bool, np.bool_)):
        raise DTypeError(f"backward: retain_graph must be True or False, got {retain_graph!r}")
    sums = Sums(root, _seed(root, grad))
    results = []            # (leaf or retained node, its gradient, walk-made), written at the end
    take, add = sums.pending.pop, sums.add
    writes, anomaly, consumed = recording.writes, recording.anomaly, not retain_graph
    order = topological_order([root], gradient_inputs)
    leaves = [node for node in order if node._prim is None]
    check_outside(leaves)                   # before anything is walked: the constants' arrays
    _check_grads([leaf for leaf in leaves if leaf._requires_grad])   # and a .grad set by hand
    for node in reversed(order):
        prim = node._prim
        if prim is None:                    # a leaf: its sum is written at the end
            if node._requires_grad:         # (a constant got no share)
                g, owned = sums.pop_leaf(node)
                if g is not None:
                    results.append((node, g, owned))
            continue
        g = take(node, None)
        if g is None:                       # no gradient reaches it (behind a cut, say)
            continue
        if node._consumed:
            raise _second_pass(node)
        if node._born != writes:            # something was written since node was made
            check_intact(node)
        if node._retains_grad:              # written with the leaves', at the end
            results.append((node, g, False))
        parents = node._parents
        shares = prim.vjp(g, node._data, parents, node._params)
        if anomaly:
            _check_gradients(node, shares)
        add(parents, shares)
        node._consumed = consumed
    _check_grads([node for node, _, _ in results if node._prim is not None])   # retained
    for node, g, owned in results:
        _write_grad(node, g, owned)


def gradient_inputs(node):
    """The inputs a gradient may flow back to: none from a node that does not require grad
    (a cut, a constant), so the walk never enters the truncated past."""
    return node._parents if node._requires_grad else ()


class Sums:
    """Each node's gradient so far: the sum of the shares its consumers passed it.

    A share may come in the broadcast shape; it is summed down to the node's shape. A node's
    first share is kept as it is, possibly a view of another node's gradient (add hands g on
    unchanged); a second makes a new sum that the walk owns, and later ones are added into it
    in place. A leaf (a weight used at every step) gets its shares as the walk goes and needs
    its sum only at the end: its small shares wait in a list and are added LEAF_BLOCK at a
    time, one numpy call instead of one per share (benchmarks/NOTES.md). So do the Products
    of a weight (linear's g^T x, not multiplied out) while the rows of g and x they hold are
    no more than PRODUCT_BLOCK times the weight's bytes (the memory of two of the (O, I)
    products they stand for): a block is multiplied out as one matmul. Any other share is
    added as it comes. A slice's share (getitem's Scatter: g at x[index]) is added into x's
    sum in place, so the T slices of a (T, B, H) tensor cost one array of that shape, not T."""

    __slots__ = ("pending", "owned", "waiting")

    def __init__(self, root, seed):
        self.pending = {root: seed}     # node -> its sum so far
        self.owned = set()              # nodes whose sum is an array the walk made
        self.waiting = {}               # leaf -> its shares not yet added, as they came

    def add(self, parents, shares):
        """Add each parent's share (None adds nothing: the vjp gives None to every input that
        does not require grad)."""
        pending, waiting = self.pending, self.waiting
        for parent, share in zip(parents, shares):
            if share is None:
                continue
            kind = share.__class__
            if kind is Scatter:
                self._add_scatter(parent, share)
                continue
            if parent._prim is None and (
                    share.nbytes < SMALL_SHARE if kind is not Product
                    else share.nbytes <= PRODUCT_BLOCK * parent._data.nbytes):
                queue = waiting.get(parent)
                if queue is None:
                    waiting[parent] = [share]
                    continue
                queue.append(share)
                if len(queue) <= LEAF_BLOCK and (
                        kind is not Product or
                        len(queue) * share.nbytes <= PRODUCT_BLOCK * parent._data.nbytes):
                    continue
                del waiting[parent]               # a block is full: its sum joins the total
                share = self._sum_waiting(parent, queue)
            elif kind is Product:
                share = np.asarray(share)
            shape = parent._data.shape
            if share.shape != shape:
                share = unbroadcast(share, shape)
            total = pending.get(parent)
            if total is None:
                pending[parent] = share
            elif parent in self.owned:
                total += share
            else:   # asarray: a 0-d sum is a numpy scalar, which += would not change in place
                pending[parent] = np.asarray(total + share)
                self.owned.add(parent)

    def _add_scatter(self, parent, share):
        """A slice's share (getitem's Scatter): added in place into a sum the walk made, or
        written out as the one it makes."""
        total = self.pending.get(parent)
        if total is not None and parent in self.owned:
            share.add_into(total)
            return
        dense = np.asarray(share)
        if total is not None:
            dense += total
        self.pending[parent] = dense
        self.owned.add(parent)

    @staticmethod
    def _sum_waiting(node, shares):
        """The sum of a leaf's waiting shares, in its shape. They may differ in broadcast shape
        (a bias gets (B, H) from one op and (H,) from another) and be Products: each kind and
        shape is summed in one call, the usual block (plain arrays of one shape) at once."""
        shape = shares[0].shape
        if all(share.__class__ is not Product and share.shape == shape for share in shares):
            return unbroadcast(np.add.reduce(shares) if len(shares) > 1 else shares[0],
                               node._data.shape)
        by_shape, products = {}, []
        for share in shares:
            if share.__class__ is Product:
                products.append(share)
            else:
                by_shape.setdefault(share.shape, []).append(share)
        shape = node._data.shape
        total = unbroadcast(Product.sum_of(products), shape) if products else None
        for same in by_shape.values():
            part = unbroadcast(np.add.reduce(same), shape)
            total = part if total is None else total + part
        return total

    def pop_leaf(self, leaf):
        """(a leaf's gradient, whether it is an array the walk made), once the walk is past
        every consumer: its sum so far plus the shares still waiting ((None, False) if no
        consumer passed one)."""
        total, waiting = self.pending.pop(leaf, None), self.waiting.pop(leaf, None)
        owned = leaf in self.owned
        if waiting is not None:
            rest = self._sum_waiting(leaf, waiting)
            total, owned = (rest, len(waiting) > 1) if total is None else (total + rest, True)
        return total, owned


def _write_grad(node, g, owned):
    """Add g into node.grad, as an array of the node's own dtype that nothing else shares (a
    .grad set by hand to a Tensor or a list is read as its values; a 0-d sum, which numpy
    gives as a scalar, becomes a 0-d array)."""
    dtype = node._data.dtype
    if node.grad is None:
        node.grad = (g if owned and g.__class__ is np.ndarray and g.dtype == dtype
                     else np.array(g, dtype=dtype))
    else:
        node.grad = np.asarray(np.asarray(node.grad) + g).astype(dtype, copy=False)


def _check_grads(leaves):
    """Every .grad the walk will add into must be an array of real numbers of its tensor's
    shape (a user may have set one by hand): checked before any is written, so a refusal
    changes none."""
    for leaf in leaves:
        grad = leaf.grad
        if grad is None:
            continue
        named = f" {leaf.name!r}" if leaf.name is not None else ""
        try:
            kind = np.asarray(grad).dtype.kind
        except (TypeError, ValueError):
            kind = "O"
        if kind not in "biuf":
            raise DTypeError(f"backward: the .grad of the tensor{named} of shape {leaf.shape} "
                             f"holds {type(grad).__name__} {grad!r:.40}, not numbers; set it to "
                             f"None (zero_grad()) or to an array before backward()")
        if np.shape(grad) != leaf._data.shape:
            raise ShapeError(f"backward: the .grad of the tensor{named} of shape {leaf.shape} "
                             f"holds shape {np.shape(grad)}; set it to None (zero_grad()) or to "
                             f"an array of the tensor's shape before backward()")


def _seed(root, grad):
    """The gradient backward starts from: 1 for a scalar root, else `grad` of root's shape."""
    if not root._requires_grad:
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
        given = np.asarray(grad)
        if given.dtype.kind not in "biuf":       # complex would lose its imaginary part,
            raise TypeError(given.dtype)         # None would become NaN
        seed = np.array(given, dtype=root.dtype)
    except (TypeError, ValueError):
        raise DTypeError(f"backward: grad must be numeric (real numbers), an array or Tensor of "
                         f"shape {root.shape}, got {type(grad).__name__} {grad!r:.60}") from None
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


def _check_gradients(node, shares):
    """Anomaly mode: the gradients node's vjp gives its inputs must be finite."""
    for position, (parent, gradient) in enumerate(zip(node._parents, shares)):
        if gradient.__class__ is Scatter:       # its values are g's: no need to write it out
            gradient = gradient.g
        elif gradient.__class__ is Product:
            gradient = np.asarray(gradient)
        if gradient is not None and parent._requires_grad and not np.all(np.isfinite(gradient)):
            raise NumericalError(f"backward of {node.op} produced NaN or Inf in the gradient of "
                                 f"operand {position} (operand shapes "
                                 f"{shapes_of(node._parents)}){where_in_time(node._meta)}")
