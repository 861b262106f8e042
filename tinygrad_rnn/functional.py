"""Ops that take several tensors or read best as functions: stack, concatenate, where,
maximum, the softmax family and cut. Each records one primitive of the ops table."""
import numpy as np

from .arguments import axes_of
from .errors import DTypeError
from .spellings import FIRST_AXIS, LAST_AXIS, NOT_GIVEN, NOT_KEPT, either
from .tensor import Tensor, apply, constant, operand


def stack(tensors, axis=FIRST_AXIS, *, dim=NOT_GIVEN):
    """Stack same-shape tensors along a new axis: T tensors of (B, H) -> (T, B, H) at axis 0."""
    axis = either("stack", "axis", axis, "dim", dim)
    tensors = _sequence("stack", tensors)
    if tensors:
        axis = _joining_axis("stack", axis, tensors[0].ndim + 1, tensors[0].shape)
    return apply("stack", *tensors, axis=axis)


def concatenate(tensors, axis=FIRST_AXIS, *, dim=NOT_GIVEN):
    """Join tensors along an existing axis: (B, N) and (B, H) -> (B, N + H) at axis=-1."""
    axis = either("concatenate", "axis", axis, "dim", dim)
    tensors = _sequence("concatenate", tensors)
    if tensors:
        axis = _joining_axis("concatenate", axis, tensors[0].ndim, tensors[0].shape)
    return apply("concatenate", *tensors, axis=axis)


def _joining_axis(op, axis, ndim, shape):
    """The one axis stack or concatenate joins along, as a non-negative int. A tuple would name
    several (numpy's None flattens first, which torch.cat does not): a DTypeError."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise DTypeError(f"{op}: axis must be one int (the tensors are joined along a single "
                         f"axis), got {axis!r} ({type(axis).__name__}) for tensors of shape "
                         f"{shape}")
    return axes_of(axis, ndim, op, shape)[0]


def _sequence(op, tensors):
    """The tensors of stack or concatenate (a list, tuple or any iterable of tensors, arrays
    or numbers), as Tensors."""
    if isinstance(tensors, (str, bytes)) or not hasattr(tensors, "__iter__"):
        raise DTypeError(f"{op}: takes a sequence of tensors (a list or tuple), got "
                         f"{type(tensors).__name__} {tensors!r:.60}")
    return [constant(x) for x in tensors]


def cut(x):
    """Identity forward, zero gradient; the truncation stays in the graph as a node. A number
    or array is cut as a constant."""
    return constant(x).cut()


def where(condition, x, y):
    """x where condition holds, else y (broadcast); the gradient follows the chosen side.
    `condition` is a boolean array (or a Tensor / array read as `!= 0`); it gets no gradient.
    (Tensor.where, torch's x.where(condition, y), with x and y made tensors first.)"""
    x, y = _pair(x, y)
    return x.where(condition, y)


def maximum(x, y):
    """Elementwise max of two tensors (broadcast); ties split the gradient evenly."""
    return apply("maximum", *_pair(x, y))


def _pair(x, y):
    """Two operands as tensors, a Python number taking the other's dtype (as x * 2.0 does)."""
    if isinstance(x, Tensor) or not isinstance(y, Tensor):
        x = constant(x)
        return x, operand(y, x)
    return operand(x, y), y


def softmax(x, axis=LAST_AXIS, *, dim=NOT_GIVEN):
    """exp(x) / sum(exp(x)) along `axis`, computed stably."""
    return constant(x).softmax(axis, dim=dim)


def log_softmax(x, axis=LAST_AXIS, *, dim=NOT_GIVEN):
    """x - logsumexp(x) along `axis`, computed stably."""
    return constant(x).log_softmax(axis, dim=dim)


def logsumexp(x, axis=LAST_AXIS, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
    """log(sum(exp(x))) along `axis`, computed stably (the max is subtracted first)."""
    return constant(x).logsumexp(axis, keepdims, dim=dim, keepdim=keepdim)


def linear(x, W, b=None):
    """x @ W.T + b in one node (PyTorch's F.linear): x (..., I), W (O, I), b (O,) or (..., O)."""
    return apply("linear", x, W) if b is None else apply("linear", x, W, b)
