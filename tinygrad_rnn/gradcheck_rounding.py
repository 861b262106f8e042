"""What a finite difference cannot resolve: the rounding of fn's value, r = ROUNDING 2 M / step
(gradcheck_report.py explains the tolerance), and M, the largest |value| on the way to f.

M counts every op result made while fn runs and backward walks (Watch sees them as they are
made: an unroll releases values no vjp reads, and a checkpoint computes its inside unrecorded),
and for a sum or a matrix product the sum of its terms' |values| (_scale: terms that cancel
leave a value far smaller than the partial sums on the way to it). Per loss term, each term's
own M when fn stacks the terms (nn.loss_vector does).
"""
import numpy as np

from .context import recording
from .gradcheck_report import ROUNDING


class Watch(list):
    """Shown every op result made while fn runs and backward walks (the protocol of
    memory.collecting, which it stands in for: append one, extend many; it keeps none). Notes
    each result's scale (_scale) as it is made: an unroll releases the values no vjp reads at
    the end of each step, and a checkpoint computes its inside unrecorded. And keeps the .grad
    of every other leaf that requires grad, as found, to put back on exit: backward adds to
    them, a checkpoint's recomputation to those of the parameters its fn closes over too (they
    are not in the graph, and are first seen as its results' parents, before its backward)."""

    def __init__(self, inputs):
        super().__init__()
        self.checked = set(map(id, inputs))
        self.scales = {}           # id(node) -> its scale when made
        self.largest = 0.0         # of every result, a checkpoint's inside too
        self.kept = {}             # id(leaf) -> (leaf, its .grad as found)

    def __enter__(self):
        self.previous = recording.created
        recording.watch(recording.anomaly, self)
        return self

    def __exit__(self, *exc):
        recording.watch(recording.anomaly, self.previous)
        for leaf, grad in self.kept.values():
            leaf.grad = grad

    def append(self, node):
        if self.previous is not None:       # an enclosing collection still sees it
            self.previous.append(node)
        self.scales[id(node)] = _scale(node)
        self.largest = max(self.largest, self.scales[id(node)])
        for parent in node.parents:
            self.keep(parent)

    def extend(self, nodes):
        for node in nodes:
            self.append(node)

    def keep(self, node):
        if node.is_leaf and node.requires_grad and id(node) not in self.checked:
            self.kept.setdefault(id(node), (node, node.grad))

    def scale(self, node):
        """A node's scale as it was made; a checkpoint's, the largest of every result (its
        inside among them); a leaf's, or that of a node made before gradcheck, as it is now."""
        if node.op == "checkpoint":
            return self.largest
        if node.is_leaf or id(node) not in self.scales:
            return _scale(node)
        return self.scales[id(node)]


def magnitudes(out, order, per_step, scale=None):
    """M, the largest finite |value| on the way to fn's output `out` (`order`: its graph,
    parents first), which f's rounding scales with (cancellation can leave f far smaller than
    its parts): the largest of its nodes' scales (`scale(node)`, _scale by default). per_step,
    one M per loss term: when fn stacked the terms (nn.loss_vector does), R[t]'s own, the
    largest on the way to R[t] alone (the values of the other terms do not round it); else
    every term's is the largest on the way to any."""
    scale = scale or _scale
    below = {}                     # node -> the largest scale of the node and its ancestors
    for node in order:
        below[node] = max([scale(node)] + [below[p] for p in node.parents])
    terms = stacked_terms(out) if per_step else None
    if terms is not None:
        return np.array([below[term] for term in terms])
    return np.full(out.shape[0], below[out]) if per_step else below[out]


_SUMS = ("sum", "mean", "matmul", "linear")     # ops whose value is a sum of many terms


def _scale(node):
    """The largest |value| a node's value is rounded at: its own, and for a sum of terms (a
    sum, a matrix product) that of the sums of their |values|: terms that cancel leave a value
    far smaller than the partial sums on the way to it (0 for a released value)."""
    scale = _largest_value(node.data) if _has_value(node) and node.dtype.kind == "f" else 0.0
    if node.op in _SUMS and all(map(_has_value, node.parents)):
        with np.errstate(over="ignore", invalid="ignore"):
            terms = node.primitive.forward(*(np.abs(p.data) for p in node.parents),
                                           **node.params)
        scale = max(scale, _largest_value(terms))
    return scale


def _has_value(node):
    return not node.value_released and node.size > 0


def _largest_value(values):
    """The largest finite |value| of an array."""
    values = np.abs(values)
    return float(np.max(values, where=np.isfinite(values), initial=0.0))


def stacked_terms(out):
    """The loss terms' own nodes R[1..T] when fn stacked them (a (T,) stack of scalars), else
    None."""
    if out.op == "stack" and out.params["axis"] == 0 and len(out.parents) == out.shape[0] \
            and all(term.shape == () for term in out.parents):
        return out.parents
    return None


def rounding_of(plus, minus, magnitude, step):
    """What a difference quotient cannot resolve: f's rounding (gradcheck_report.ROUNDING at
    the largest value on the way to it), twice, over the step."""
    return ROUNDING * 2 * np.maximum(magnitude, np.maximum(np.abs(plus), np.abs(minus))) / step
