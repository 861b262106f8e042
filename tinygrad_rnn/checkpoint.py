"""Gradient checkpointing: trade compute for memory by recomputing a piece of the graph.

    ys, carry = checkpoint(fn, *inputs)

runs fn(*inputs) without recording its inside and records one `checkpoint` node in its place,
which stores only its inputs and outputs, and returns fn's outputs in the structure fn
returned them (a Tensor, or nested tuples of Tensors), each a piece of the node's value. When
backward reaches that node it runs fn again with recording on (on fresh leaves holding the
same input values), backpropagates the node's output gradient through that small graph, hands
the inputs' gradients on, and lets the small graph go. Unrolling T steps in segments of k steps
this way stores T/k states plus one segment's graph at a time instead of T steps of graph:
exact BPTT over sequences far too long to keep whole (the lecture's 77,587-frame talk).

Rules:
- fn returns a Tensor or nested tuples of Tensors, and is deterministic (it runs twice): the
  recomputation is compared with the stored outputs, and values that differ (a Dropout
  drawing a new mask, a parameter changed in between) are a BackwardError rather than the
  gradient of another function;
- tensors fn uses without taking them as inputs must be leaves (parameters): the inner
  backward accumulates their gradients directly. A non-leaf must be passed as an input
  (checked during the recomputation: it would otherwise be walked twice).

Both are checked: a tensor fn reads from outside (a parameter it closes over, which the node
does not record as an input) written between forward and backward, and a recomputation whose
outputs differ from the first run's (a random draw inside fn), are refused with a
BackwardError rather than giving the gradient of another computation. PyTorch's checkpoint
restores the random state instead, and does not check.

The recomputation's own backward adds the gradients of the parameters fn reads into their
.grad when it is done, as PyTorch's does: if the outer backward then fails further on, those
additions stay (elsewhere a backward that fails changes no .grad).
"""
from functools import partial

import numpy as np

from .autodiff import backward
from .context import enable_grad, no_grad, recording
from .errors import BackwardError, SettingError, ShapeError
from .inplace import written_since
from .memory import ReleasedValue, collecting
from .primitives import PRIMITIVES
from .tensor import Tensor, constant, leaf, make_tensor


def checkpoint(fn, *inputs):
    """fn(*inputs), stored as one node that recomputes its inside during backward; returns
    fn's outputs in fn's structure.

    >>> h_end, ys = checkpoint(lambda h, xs: run_steps(h, xs), h_start, xs_segment)
    """
    if not callable(fn):
        raise SettingError(f"checkpoint: fn must be a function (something callable), got "
                           f"{fn!r:.60}")
    inputs = tuple(map(constant, inputs))
    requires = tuple(x._requires_grad for x in inputs)
    with no_grad():
        outputs, rebuild = flatten(fn(*[leaf(x._data, r) for x, r in zip(inputs, requires)]))
    shapes = tuple(output.shape for output in outputs)
    value = np.concatenate([output._data.reshape(-1) for output in outputs])
    node = make_tensor(value, PRIMITIVES["checkpoint"], inputs,
                       {"run": partial(_run, fn=fn, requires=requires),
                        "rerun": partial(_rerun, fn=fn, requires=requires, shapes=shapes,
                                         recorded=recording.writes)},
                       requires_grad=True)    # parameters fn closes over need its gradient
    pieces, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        pieces.append(node[start:start + size].reshape(shape))
        start += size
    return rebuild(pieces)


def flatten(tree):
    """A Tensor or nested tuples of Tensors as (a list of its Tensors, a function that builds
    the same nesting from such a list): the structure, passed explicitly."""
    if isinstance(tree, Tensor):
        return [tree], lambda flat: flat[0]
    if not isinstance(tree, tuple) or not tree:
        raise ShapeError(f"checkpoint: fn must return a Tensor or a non-empty (nested) tuple of "
                         f"Tensors, got {type(tree).__name__}")
    parts = [flatten(part) for part in tree]

    def rebuild(flat):
        built, start = [], 0
        for tensors, rebuild_part in parts:
            built.append(rebuild_part(flat[start:start + len(tensors)]))
            start += len(tensors)
        return tuple(built)

    return [tensor for tensors, _ in parts for tensor in tensors], rebuild


def _run(*arrays, fn, requires):
    """The node's forward: fn's outputs, flattened and concatenated into one vector."""
    with no_grad():
        outputs, _ = flatten(fn(*(leaf(a, r) for a, r in zip(arrays, requires))))
    return np.concatenate([output._data.reshape(-1) for output in outputs])


def _rerun(g, out, *arrays, fn, requires, shapes, recorded):
    """The node's vjp: recompute fn with recording on, seed its outputs with the pieces of g,
    walk back, and read the inputs' gradients. `recorded` is the write clock when the node was
    made: a tensor fn closes over that was written since is refused."""
    inputs = [leaf(a, r) for a, r in zip(arrays, requires)]
    with enable_grad(), collecting() as created:
        outputs, _ = flatten(fn(*inputs))
        seeded, start = None, 0
        for output, shape in zip(outputs, shapes):
            size = int(np.prod(shape))
            if output.requires_grad:
                term = (output * Tensor(g[start:start + size].reshape(shape))).sum()
                seeded = term if seeded is None else seeded + term
            start += size
    _check_unwritten(created, recorded)
    _check_recomputed(outputs, out)
    if seeded is not None:
        _refuse_outer_nodes(created)
        backward(seeded)
    return tuple(None if not x.requires_grad else
                 np.zeros(x.shape, dtype=x.dtype) if x.grad is None else x.grad for x in inputs)


# How far a recomputed output may stray from the stored one: the same numpy calls on the same
# values give the same bits, but a BLAS kernel may round differently for another block shape.
_RECOMPUTE_TOLERANCE = {2: 1e-2, 4: 1e-4, 8: 1e-9}


def _check_recomputed(outputs, out):
    """fn must give the values it gave in the forward pass (`out`, the node's value)."""
    if isinstance(out, ReleasedValue):
        return
    again = np.concatenate([output._data.reshape(-1) for output in outputs])
    tolerance = _RECOMPUTE_TOLERANCE.get(out.dtype.itemsize, 1e-9)
    if again.shape != out.shape or not np.allclose(again, out, rtol=tolerance, atol=tolerance,
                                                   equal_nan=True):
        differ = (np.argwhere(~np.isclose(again, out, rtol=tolerance, atol=tolerance,
                                          equal_nan=True))[0][0]
                  if again.shape == out.shape else None)
        where = ("" if differ is None else
                 f" (element {differ}: {float(out[differ])!r} in the forward pass, "
                 f"{float(again[differ])!r} "
                 f"recomputed)")
        raise BackwardError(f"checkpoint: fn gave other values when recomputed during "
                            f"backward{where}, so its gradient would be another function's. "
                            f"A checkpointed fn must be deterministic: a Dropout or any random "
                            f"draw inside it draws anew (apply it outside the checkpointed "
                            f"steps, or leave checkpoint_every unset), and the parameters it "
                            f"reads must not change between forward and backward")


def _check_unwritten(created, recorded):
    """The tensors fn reads from outside (parameters, constants) must hold the values they held
    in the forward pass. Comparing the recomputed outputs is not enough: values cached in the
    forward pass (a hoisted input projection) may hide a write that the vjps then read."""
    inner = {id(node) for node in created}
    for node in created:
        for parent in node.parents:
            if id(parent) not in inner and written_since(parent, recorded):
                named = f" {parent.name!r}" if parent.name is not None else ""
                raise BackwardError(f"checkpoint: the tensor{named} of shape {parent.shape} "
                                    f"that the checkpointed fn reads was written after the "
                                    f"forward pass (an optimizer step, x.data = ...), so the "
                                    f"gradient would be that of values the forward pass never "
                                    f"used. Call backward() before changing it")


def _refuse_outer_nodes(created):
    """The recomputed graph may reach outside only at leaves; an outer op node would be
    walked again by this inner backward and then by the outer one."""
    inner = {id(node) for node in created}
    for node in created:
        for parent in node.parents:
            if id(parent) not in inner and not parent.is_leaf and parent.requires_grad:
                raise BackwardError(f"checkpoint: fn uses the {parent.op!r} node of shape "
                                    f"{parent.shape} from outside without taking it as an "
                                    f"input; pass it to checkpoint(fn, ..., tensor) instead")
