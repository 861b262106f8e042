"""Tensor: a numpy array that records the graph of ops that produced it.

Every op result is a node: its primitive (the op name), its ordered parents (`x * x` has x
twice), its non-tensor params (axis, index, ...) and the metadata current when it was made
(time step, scope, role; see context.py). A result records its parents when some parent
requires grad (as in PyTorch) or is itself a recorded node (downstream of a cut, so the edges a
truncation drops stay drawable); it always takes the metadata, so a constant x[t] still knows
its step.

The read-only protocol other code (the visualizer) reads: `op` (None for a leaf), `parents`,
`params`, `meta`, `is_leaf`, `data`, `grad`, `name`, `requires_grad`.
"""
from operator import attrgetter
from types import MappingProxyType

import numpy as np

from .arguments import (
    as_array,
    axes_of,
    flag,
    one_axis,
    permutation_of,
    plain_index,
    shape_of,
)
from .context import recording
from .conversions import NumberConversions
from .errors import (
    DTypeError,
    NumericalError,
    ShapeError,
    TensorIndexError,
    shapes_of,
    where_in_time,
)
from .memory import ReleasedValue
from .primitives import PRIMITIVES

_ndarray = np.ndarray
_EMPTY = MappingProxyType({})
_new = object.__new__
_requires_grad = attrgetter("requires_grad")


def _binary_operator(name, reflected=False):
    """Tensor.__add__ (reflected: __radd__) and the like: the engine's hottest path, so the
    primitive is looked up once here and each call runs its forward itself and goes
    straight to _node. A number or array operand becomes a constant (a Python number takes
    the tensor's dtype)."""
    prim = PRIMITIVES[name]
    forward = prim.forward

    def operator(self, other):
        if not isinstance(other, Tensor):
            other = _constant(other, self)
        a, b = (other, self) if reflected else (self, other)
        try:
            out = forward(a.data, b.data)
        except (ValueError, TypeError) as exc:
            raise _forward_error(prim, (a.data, b.data), None, exc) from None
        return _node(prim, (a, b), out, None, a.requires_grad or b.requires_grad)

    operator.__name__ = f"__{'r' if reflected else ''}{name}__"
    return operator


class Tensor(NumberConversions):
    """A numpy array with a gradient and the graph that produced it.

    >>> w = Tensor([[1.0, 2.0]], requires_grad=True, name="w")
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    array([[2., 4.]])

    Tensors compare and hash by identity (there is no elementwise ==): backward keys its
    bookkeeping by node, as a dict of pending gradients.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_prim", "_parents", "_params",
                 "_meta", "_role", "_retains_grad", "_consumed", "__weakref__")
    __array_ufunc__ = None    # ndarray + Tensor calls Tensor.__radd__ instead of looping in numpy

    def __init__(self, data, requires_grad=False, name=None, dtype=None):
        """`data` keeps a floating dtype, integers become float64 and booleans a bool mask
        (which can index, but not require grad); `dtype=` may name a floating dtype or bool,
        never an integer one (DTypeError)."""
        self.data = as_array(data.data if isinstance(data, Tensor) else data, dtype)
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise DTypeError(f"Tensor: requires_grad must be True or False, got "
                             f"{requires_grad!r} ({type(requires_grad).__name__})")
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"Tensor: only floating tensors can require grad; this one holds "
                             f"{self.data.dtype} data (a mask has no gradient)")
        if name is not None and not isinstance(name, str):
            raise DTypeError(f"Tensor: name must be a str or None, got {name!r} "
                             f"({type(name).__name__})")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._prim = None
        self._parents = ()
        self._params = None
        self._meta = recording.meta
        self._role = None
        self._retains_grad = False
        self._consumed = False

    # --- the read-only graph protocol ---
    @property
    def op(self):
        """The primitive's name ("add", "matmul", "cut", ...), or None for a leaf."""
        return None if self._prim is None else self._prim.name

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
        own = {key: value for key, value in (("role", self._role), ("name", self.name))
               if value is not None}
        return MappingProxyType({**self._meta, **own}) if own else self._meta

    @property
    def is_leaf(self):
        return self._prim is None

    @property
    def value_released(self):
        """True when the value was released to save memory (no vjp reads it; see memory.py)."""
        return isinstance(self.data, ReleasedValue)

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
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    T = property(lambda self: self.transpose())

    def __len__(self):
        if self.data.ndim == 0:
            raise DTypeError("len() of a 0-d tensor: it has no first dimension")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise DTypeError("iteration over a 0-d tensor: it has no first dimension")
        return (self[i] for i in range(len(self)))

    def numpy(self):
        """The value as a numpy array (shared, not copied, as torch's .numpy())."""
        return self.data

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
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
        from .autodiff import backward
        backward(self, grad, retain_graph)

    def retain_grad(self):
        """Keep this non-leaf's gradient in .grad after backward (as in PyTorch)."""
        self._retains_grad = True
        return self

    def detach(self):
        """A new leaf sharing this tensor's data, outside any graph."""
        return leaf(self.data, name=self.name)

    def zero_grad(self):
        self.grad = None

    # --- arithmetic (numbers and arrays on either side) ---
    __add__, __radd__ = _binary_operator("add"), _binary_operator("add", reflected=True)
    __sub__, __rsub__ = _binary_operator("sub"), _binary_operator("sub", reflected=True)
    __mul__, __rmul__ = _binary_operator("mul"), _binary_operator("mul", reflected=True)
    __truediv__, __rtruediv__ = _binary_operator("div"), _binary_operator("div", reflected=True)
    __pow__, __rpow__ = _binary_operator("pow"), _binary_operator("pow", reflected=True)
    __matmul__, __rmatmul__ = _binary_operator("matmul"), _binary_operator("matmul", reflected=True)

    def __neg__(self):
        return _unary("neg", self)

    # --- elementwise functions ---
    def exp(self): return _unary("exp", self)
    def log(self): return _unary("log", self)
    def tanh(self): return _unary("tanh", self)
    def sigmoid(self): return _unary("sigmoid", self)
    def relu(self): return _unary("relu", self)
    def sqrt(self): return _unary("sqrt", self)
    def abs(self): return _unary("abs", self)
    def softplus(self): return _unary("softplus", self)

    # --- reductions ---
    def sum(self, axis=None, keepdims=False):
        return _unary("sum", self, axis=axes_of(axis, self.ndim, "sum", self.shape),
                     keepdims=flag(keepdims, "sum", "keepdims"))

    def mean(self, axis=None, keepdims=False):
        return _unary("mean", self, axis=axes_of(axis, self.ndim, "mean", self.shape),
                     keepdims=flag(keepdims, "mean", "keepdims"))

    def max(self, axis=None, keepdims=False):
        return _unary("max", self, axis=axes_of(axis, self.ndim, "max", self.shape),
                     keepdims=flag(keepdims, "max", "keepdims"))

    def logsumexp(self, axis=-1, keepdims=False):
        return _unary("logsumexp", self, axis=axes_of(axis, self.ndim, "logsumexp", self.shape),
                     keepdims=flag(keepdims, "logsumexp", "keepdims"))

    def softmax(self, axis=-1):
        return _unary("softmax", self, axis=one_axis(axis, self, "softmax"))

    def log_softmax(self, axis=-1):
        return _unary("log_softmax", self, axis=one_axis(axis, self, "log_softmax"))

    # --- shape ---
    def reshape(self, *shape):
        return _unary("reshape", self, shape=shape_of(shape))

    def transpose(self, *axes):
        """Permute axes as numpy does: transpose() reverses them, transpose(1, 0, 2) permutes."""
        return _unary("transpose", self, axes=permutation_of(axes, self.ndim, self.shape))

    def __getitem__(self, index):
        return _unary("getitem", self, index=plain_index(index))

    def cut(self):
        """Identity forward, zero gradient: a truncation that stays in the graph as a node."""
        return _unary("cut", self)


def leaf(array, requires_grad=False, name=None):
    """A leaf Tensor around `array` itself (no copy, no dtype conversion): for engine code that
    already holds a float array, like detach() and checkpoint's recomputation."""
    t = _new(Tensor)
    t.data, t.grad, t.requires_grad, t.name = array, None, requires_grad, name
    t._prim, t._parents, t._params = None, (), None
    t._meta, t._role = recording.meta, None
    t._retains_grad = t._consumed = False
    return t


def constant(value, dtype=None):
    """A number, list or array operand as a constant leaf. Unlike Tensor(...), an array of a
    floating dtype is wrapped without a copy: an operand is read, never owned (as in numpy)."""
    return value if isinstance(value, Tensor) else leaf(as_array(value, dtype, copy=False))


def _constant(value, like):
    """An operand of a binary op as a constant; Python numbers take the dtype of the tensor
    they meet, so float32 * 2.0 stays float32."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and \
            like.data.dtype.kind == "f":
        return constant(value, like.data.dtype)
    return constant(value)


def apply(name, *inputs, **params):
    """Run primitive `name` on tensors `inputs` (numbers and arrays are wrapped as constants)
    and record the result as a node of the graph."""
    for x in inputs:
        if not isinstance(x, Tensor):     # checked first: constant() is a call per input
            inputs = tuple(map(constant, inputs))
            break
    return _record(PRIMITIVES[name], inputs, [x.data for x in inputs], params or None,
                   any(map(_requires_grad, inputs)))


def _unary(name, x, **params):
    """apply() for a method of a Tensor x: nothing to wrap, one input."""
    return _record(PRIMITIVES[name], (x,), (x.data,), params or None, x.requires_grad)


def precomputed(name, inputs, value, **params):
    """Record primitive `name` on `inputs` with its forward value already computed elsewhere.

    For work hoisted out of a loop: an RNN computes W1 x[t] + b1 for many steps in one matmul,
    then records each step's linear(x[t], W1, b1) node with its slice of the result. The graph
    is the one a step-by-step computation records; `value` must be what forward would return.
    """
    return _node(PRIMITIVES[name], inputs, value, params or None,
                 any(map(_requires_grad, inputs)))


def _record(prim, inputs, arrays, params, any_requires_grad):
    """Run prim's forward on `arrays` (the inputs' values) and return the new node."""
    try:
        out = prim.forward(*arrays, **params) if params else prim.forward(*arrays)
    except (ValueError, IndexError, TypeError) as exc:
        raise _forward_error(prim, arrays, params, exc) from None
    return _node(prim, inputs, out, params, any_requires_grad)


def _forward_error(prim, arrays, params, exc):
    """The project's exception for a numpy error in prim's forward, naming the op, the
    operands' shapes and the time step."""
    if isinstance(exc, TypeError):
        return DTypeError(f"{prim.name}: operands of dtypes "
                          f"{' and '.join(str(a.dtype) for a in arrays)} are not supported: "
                          f"{exc}{where_in_time(recording.meta)}")
    if isinstance(exc, IndexError) and "index" in (params or {}):
        return TensorIndexError(f"{prim.name}: index {params['index']!r} into shape "
                                f"{shapes_of(arrays)}: {exc}{where_in_time(recording.meta)}")
    return ShapeError(f"{prim.name}: operands of shapes {shapes_of(arrays)} do not fit: "
                      f"{exc}{where_in_time(recording.meta)}")


def _node(prim, inputs, out, params, any_requires_grad):
    """The new node holding `out`, prim's value on `inputs`. It is filled in place, not
    through Tensor.__init__: with the forward itself, this is the engine's hottest path."""
    if out.__class__ is not _ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t.data = out
    t.grad = t.name = t._role = None
    t._meta = recording.meta
    t._retains_grad = t._consumed = False
    # Downstream of a cut nothing may require grad, but the node still joins the graph so the
    # edge the cut drops can be drawn (mu * cut(s[t]) in Jordan's s[t+1]).
    if recording.grad_enabled and (any_requires_grad or any(x._prim is not None for x in inputs)):
        t.requires_grad = any_requires_grad and prim.differentiable
        t._prim, t._parents, t._params = prim, inputs, params
    else:
        t.requires_grad = False
        t._prim, t._parents, t._params = None, (), None
    if recording.anomaly:
        _check_finite(prim, [x.data for x in inputs], out)
    if recording.created is not None:
        recording.created.append(t)
    return t


def _check_finite(prim, arrays, out):
    if not np.all(np.isfinite(out)) and all(np.all(np.isfinite(a)) for a in arrays):
        raise NumericalError(f"{prim.name} produced NaN or Inf from finite operands of shapes "
                             f"{shapes_of(arrays)}{where_in_time(recording.meta)}")
