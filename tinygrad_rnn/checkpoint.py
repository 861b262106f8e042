"""Gradient checkpointing: trade compute for memory by recomputing a piece of the graph.

    outputs = checkpoint(fn, *inputs)

runs fn(*inputs) without recording its inside and records one `checkpoint` node in its place,
which stores only its inputs and outputs. When backward reaches that node it runs fn again
with recording on (on fresh leaves holding the same input values), backpropagates the node's
output gradient through that small graph, hands the inputs' gradients on, and lets the small
graph go. Unrolling T steps in segments of k steps this way stores T/k states plus one
segment's graph at a time instead of T steps of graph: exact BPTT over sequences far too long
to keep whole (the lecture's 77,587-frame talk).

Rules:
- fn returns a Tensor or a tuple of Tensors, and is deterministic (it runs twice);
- tensors fn uses without taking them as inputs must be leaves (parameters): the inner
  backward accumulates their gradients directly. A non-leaf must be passed as an input
  (checked during the recomputation: it would otherwise be walked twice).
"""
import numpy as np

from .autodiff import backward
from .context import enable_grad, no_grad
from .errors import BackwardError, ShapeError
from .memory import collecting
from .primitives import PRIMITIVES, defprim
from .tensor import Tensor, _record, constant, leaf


def _as_tuple(outputs):
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    if not outputs or not all(isinstance(o, Tensor) for o in outputs):
        raise ShapeError("checkpoint: fn must return a Tensor or a non-empty tuple of Tensors")
    return outputs


def _forward(*arrays, fn, requires, layout):
    with no_grad():
        outputs = _as_tuple(fn(*(leaf(a, r) for a, r in zip(arrays, requires))))
    layout[:] = [(o.shape, o.dtype) for o in outputs]
    return np.concatenate([o.data.reshape(-1) for o in outputs])


def _vjp_all(g, out, *arrays, fn, requires, layout):
    """Recompute fn with recording on, seed its outputs with the pieces of g, walk back."""
    inputs = [leaf(a, r) for a, r in zip(arrays, requires)]
    with enable_grad(), collecting() as created:
        outputs = _as_tuple(fn(*inputs))
        seeded, start = None, 0
        for output, (shape, _) in zip(outputs, layout):
            size = int(np.prod(shape))
            if output.requires_grad:
                term = (output * Tensor(g[start:start + size].reshape(shape))).sum()
                seeded = term if seeded is None else seeded + term
            start += size
    if seeded is not None:
        _refuse_outer_nodes(created)
        backward(seeded)
    return tuple(None if not x.requires_grad else
                 np.zeros(x.shape, dtype=x.dtype) if x.grad is None else x.grad for x in inputs)


def _refuse_outer_nodes(created):
    """The recomputed graph may reach outside only at leaves; an outer op node would be
    walked again by this inner backward and then by the outer one."""
    inner = {id(node) for node in created}
    for node in created:
        for parent in node.parents:
            if id(parent) not in inner and not parent.is_leaf and parent.requires_grad:
                raise BackwardError(f"checkpoint: fn uses the {parent.op!r} node of shape "
                                    f"{parent.shape} from outside without taking it as an input; "
                                    f"pass it to checkpoint(fn, ..., tensor) instead")


defprim("checkpoint", _forward, vjp_all=_vjp_all, reads=("inputs",))    # it reruns fn on them


def checkpoint(fn, *inputs):
    """fn(*inputs), stored as one node that recomputes its inside during backward.

    >>> h_end, ys = checkpoint(lambda h, xs: run_steps(h, xs), h_start, xs_segment)
    """
    inputs = tuple(map(constant, inputs))
    requires = tuple(x.requires_grad for x in inputs)
    layout = []
    node = _record(PRIMITIVES["checkpoint"], inputs, [x.data for x in inputs],
                   {"fn": fn, "requires": requires, "layout": layout}, True)
    pieces, start = [], 0
    for shape, _ in layout:
        size = int(np.prod(shape))
        pieces.append(node[start:start + size].reshape(shape))
        start += size
    return pieces[0] if len(pieces) == 1 else tuple(pieces)
