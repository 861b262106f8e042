"""GraphNode: what every Tensor is, apart from the ops it runs: its value, its place in the
recorded graph, and the read-only protocol other code (the visualizer) reads.

The protocol: `op` (None for a leaf), `primitive`, `parents`, `params`, `meta`, `is_leaf`,
`data`, `grad`, `name`, `requires_grad`, `retains_grad`, `value_released`. `.data` is a view
that records writes (inplace.py); the engine's own modules read and write the plain array in
`_data`. Tensor (tensor.py) adds the ops and the constructor that fills these slots.
"""
from types import MappingProxyType

import numpy as np

from . import autodiff
from .arguments import grad_flag
from .context import recording
from .errors import BackwardError, DTypeError, ShapeError, TensorIndexError
from .inplace import stamp, stamp_own
from .memory import ReleasedValue, released
from .tracked import TrackedArray, rebind

_EMPTY = MappingProxyType({})


class GraphNode:
    """A value, its gradient and the op that made it (see the module docstring). tensor.make_tensor
    fills every slot but four that most tensors never need and that are read with a default:
    `_role`, `_memory` (set on views), `_written` and `_fingerprint` (inplace.py)."""

    __slots__ = ("_data", "grad", "_requires_grad", "name", "_prim", "_parents",
                 "_params", "_meta", "_role", "_retains_grad", "_consumed", "_memory", "_written",
                 "_born", "_fingerprint", "__weakref__")
    __array_ufunc__ = None    # ndarray + Tensor calls Tensor.__radd__ instead of looping in numpy

    @property
    def requires_grad(self):
        """Whether backward computes this tensor's gradient (a leaf's .grad) or passes one
        through it (a node)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        """A leaf's flag may be set (True or False; only a floating leaf can require grad); a
        node's is fixed by the graph that made it, as in PyTorch: turning it off would silently
        drop every path through the node."""
        value = grad_flag("Tensor.requires_grad", value, self._data.dtype)
        if self._prim is not None and value != self._requires_grad:
            raise BackwardError(f"requires_grad: only a leaf's flag can change; this is the "
                                f"{self.op!r} result of shape {self.shape}. To use its value "
                                f"without a gradient, take x.detach() (or x.cut(), which stays "
                                f"in the graph)")
        self._requires_grad = value

    # --- the value: read freely, written through a tracked view (see inplace.py) ---
    @property
    def data(self):
        """The value as a numpy array sharing this tensor's memory. Writing into it is allowed
        and recorded: backward refuses a graph that needs a value written after it was made."""
        return TrackedArray.of(self)

    @data.setter
    def data(self, value):
        """x.data = y (a Tensor) or y.data shares y's memory, as in PyTorch; an array, list or
        number is copied (see inplace.rebind). A write of x either way."""
        rebind(self, TrackedArray.of(value) if isinstance(value, GraphNode) else value)

    def numpy(self):
        """The value as a numpy array (shared, not copied, as torch's .numpy()); writes through
        it are seen, as through .data."""
        return TrackedArray.of(self)

    # --- the read-only graph protocol ---
    @property
    def op(self):
        """The primitive's name ("add", "matmul", "cut", ...), or None for a leaf."""
        return None if self._prim is None else self._prim.name

    @property
    def primitive(self):
        """The ops-table entry that made this tensor (primitives.Primitive), or None."""
        return self._prim

    @property
    def parents(self):
        """The ordered input tensors of the op that made this one (() for a leaf)."""
        return self._parents

    @property
    def params(self):
        """The op's non-tensor arguments (axis, index, shape, ...), read-only."""
        return _EMPTY if self._params is None else MappingProxyType(self._params)

    @property
    def meta(self):
        """Tags from the context it was made in, "step", "scope", "role", ..., with its own
        annotations over them (read-only)."""
        role = getattr(self, "_role", None)            # set only by annotate()
        own = {key: value for key, value in (("role", role), ("name", self.name))
               if value is not None}
        return MappingProxyType({**self._meta, **own}) if own else self._meta

    @property
    def is_leaf(self):
        return self._prim is None

    @property
    def retains_grad(self):
        """True when retain_grad() asked to keep this non-leaf's gradient in .grad."""
        return self._retains_grad

    @property
    def value_released(self):
        """True when the value was released to save memory (no vjp reads it; see memory.py)."""
        return isinstance(self._data, ReleasedValue)

    def release_value(self):
        """Drop the value to save memory: a NaN placeholder of its shape and dtype takes its
        place, the node stays in the graph. Returns the bytes freed. For values no vjp reads
        (memory.release_unread decides which): a backward that would read it is refused,
        as for a value written in place (inplace.py)."""
        freed = self._data.nbytes
        self._data = released(self._data)
        stamp_own(self)
        return freed

    def annotate(self, name=None, role=None, **tags):
        """Name this node and tag it alone (the unroll marks h[t] with role="state"); returns
        self. The name and role are kept apart from the shared context tags, so the common
        call costs two stores rather than a merged dict per node."""
        if name is not None:
            self.name = name
        if role is not None:
            self._role = role
        if tags:
            self._meta = MappingProxyType({**self._meta, **tags})
        return self

    # --- numpy-like attributes ---
    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)      # (size: habits.py, also torch's size())
    T = property(lambda self: self.transpose())

    def __len__(self):
        if self._data.ndim == 0:
            raise DTypeError("len() of a 0-d tensor: it has no first dimension")
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise DTypeError("iteration over a 0-d tensor: it has no first dimension")
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        body = (f"<value released, shape {self.shape}>" if self.value_released else
                np.array2string(self._data, precision=4, separator=", ", prefix="Tensor("))
        extras = [f"op={self.op!r}"] if self._prim is not None else []
        extras += [f"name={self.name!r}"] if self.name is not None else []
        extras += ["requires_grad=True"] if self.requires_grad else []
        extras += [f"dtype={self.dtype}"] if self.dtype != np.float64 else []
        return f"Tensor({body}{''.join(', ' + e for e in extras)})"

    # --- gradients ---
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's .grad that requires grad.

        `grad` seeds the pass (default 1 for a scalar; required otherwise). The graph is
        consumed unless retain_graph=True: a second backward through it is a BackwardError,
        as in PyTorch, which catches the classic bug of carrying an RNN state into the next
        batch without detach() (its old graph would be walked again with updated weights).
        """
        autodiff.backward(self, grad._data if isinstance(grad, GraphNode) else grad,
                          retain_graph)

    def retain_grad(self):
        """Keep this non-leaf's gradient in .grad after backward (as in PyTorch)."""
        self._retains_grad = True
        return self

    def zero_grad(self):
        self.grad = None

    # --- in place: x -= v updates the value, outside any graph (optimizer code) ---
    def __iadd__(self, other): return self._update(np.add, other)
    def __isub__(self, other): return self._update(np.subtract, other)
    def __imul__(self, other): return self._update(np.multiply, other)
    def __itruediv__(self, other): return self._update(np.true_divide, other)
    def __ipow__(self, other): return self._update(np.power, other)

    def _update(self, ufunc, other):
        """self = ufunc(self, other) in self's own memory, as a write (see inplace.py). Only
        outside the graph: a recorded result, or a leaf that requires grad while grad mode is
        on, would have the gradient of values it no longer holds. The result keeps self's
        dtype (a float32 parameter stays float32); a value that does not fit it is refused."""
        self._writable(f"in-place {ufunc.__name__}", other)
        try:
            ufunc(self._data, other._data if isinstance(other, GraphNode) else other,
                  out=self._data, casting="same_kind")
        except (ValueError, TypeError, OverflowError) as exc:     # (refused before any write)
            raise in_place_error(f"in-place {ufunc.__name__}", self, other, exc) from None
        stamp(self)
        return self

    def _writable(self, what, value=None):
        """BackwardError unless self may be written in place with `value`: see _update. A
        tensor inside a list written (x[0:1] = [w * 2]) is checked as one written alone."""
        if isinstance(value, (list, tuple)) and recording.grad_enabled:
            value = _tensor_with_grad(value)
        if isinstance(value, GraphNode) and value._requires_grad and recording.grad_enabled:
            kind = (f"the {value.op!r} result" if value._prim is not None
                    else "a leaf that requires grad")
            raise BackwardError(f"{what}: the value written is {kind} of shape {value.shape}; "
                                f"the graph records no in-place ops, so its gradient would be "
                                f"lost. Build the result from the parts (stack, concatenate, "
                                f"where), or write its values under `with no_grad():` (or "
                                f"v.detach()) to drop the gradient on purpose")
        if not self._data.flags.writeable:
            why = "was released to save memory" if self.value_released else "is read-only"
            raise BackwardError(f"{what}: the value of this tensor of shape {self.shape} {why}; "
                                f"it cannot be written in place")
        if self._prim is not None or (self._requires_grad and recording.grad_enabled):
            kind = (f"the {self.op!r} result" if self._prim is not None
                    else "a leaf that requires grad")
            raise BackwardError(f"{what} on {kind} of shape {self.shape}: the graph records no "
                                f"in-place ops. Update a parameter inside `with no_grad():` (as "
                                f"an optimizer does), or write x = x + v")


def _tensor_with_grad(values):
    """The first tensor that requires grad inside a (nested) list or tuple, else None."""
    for value in values:
        if isinstance(value, GraphNode):
            if value._requires_grad:
                return value
        elif isinstance(value, (list, tuple)):
            found = _tensor_with_grad(value)
            if found is not None:
                return found
    return None


def in_place_error(what, tensor, other, exc):
    """The project's exception for an in-place update numpy refused, naming the operands."""
    try:
        theirs = (repr(other) if isinstance(other, (str, bytes))
                  else f"{type(other).__name__} of shape {np.shape(other)}")
    except ValueError:                  # a ragged list has no shape
        theirs = f"{type(other).__name__} {other!r:.40}"
    if isinstance(exc, OverflowError):                  # a Python int beyond float64
        return DTypeError(f"{what}: {theirs} is beyond the range of the {tensor.dtype} tensor "
                          f"of shape {tensor.shape} ({exc}); write float('inf') if infinity is "
                          f"meant")
    if isinstance(exc, TypeError) or "could not convert" in str(exc):
        return DTypeError(f"{what}: the {tensor.dtype} tensor of shape {tensor.shape} cannot take "
                          f"{theirs} in place ({exc}); the result must keep the tensor's dtype")
    if isinstance(exc, IndexError):
        return TensorIndexError(f"{what}: into shape {tensor.shape}: {exc}")
    return ShapeError(f"{what}: {theirs} does not fit the tensor of shape {tensor.shape} in "
                      f"place: {exc}")
