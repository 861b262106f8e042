"""Tensor: a numpy array that records the graph of ops that produced it.

Every op result is a node: its primitive (the op name), its ordered parents (`x * x` has x
twice), its non-tensor params (axis, index, ...) and the metadata current when it was made
(time step, scope, role; see context.py). A result records its parents when some parent
requires grad (as in PyTorch) or is itself a recorded node (downstream of a cut, so the edges a
truncation drops stay drawable); it always takes the metadata, so a constant x[t] still knows
its step. Every tensor, leaf or node, is made by one constructor, `make_tensor`, and every op
is recorded by `apply` (or the operators, its fast form).

A Tensor is a GraphNode (node.py: the value, the graph protocol the visualizer reads, backward)
with the ops of the table as methods, the conversions to Python numbers (conversions.py) and
the PyTorch user's comparisons and shape spellings (habits.py).
"""
from operator import attrgetter

import numpy as np

from .arguments import (
    as_array,
    axes_of,
    flag,
    grad_flag,
    int_too_large,
    one_axis,
    permutation_of,
    rectangular,
    shape_of,
    tensor_dtype,
    tensor_name,
)
from .context import recording
from .conversions import NumberConversions
from .errors import (
    BackwardError,
    DTypeError,
    SettingError,
    TensorIndexError,
    where_in_time,
)
from .habits import PyTorchHabits, values_and_indices
from .inplace import fingerprint, may_be_written, memory_owner, stamp
from .memory import is_released, read_released
from .node import GraphNode, in_place_error
from .op_errors import check_finite, forward_error
from .primitives import PRIMITIVES
from .shape_spellings import ShapeSpellings
from .spellings import ALL_AXES, LAST_AXIS, NOT_GIVEN, NOT_KEPT, Default, either
from .tracked import TrackedArray

_ndarray = np.ndarray
_new = object.__new__
_value, _requires_grad, _recorded = (attrgetter(name) for name in
                                     ("_data", "_requires_grad", "_prim"))


def _operator(name, reflected=False):
    """Tensor.__add__ (reflected: __radd__) and the other arithmetic operators: a number or
    array on either side is a constant, a Python number of the tensor's dtype."""
    prim = PRIMITIVES[name]
    forward = prim.forward

    def operator(self, other):
        other = other if isinstance(other, Tensor) else operand(other, self)
        a, b = (other, self) if reflected else (self, other)
        try:
            out = forward(a._data, b._data)
        except (ValueError, TypeError, MemoryError) as exc:
            raise forward_error(prim, (a._data, b._data), None, exc) from None
        requires_grad = a._requires_grad or b._requires_grad
        if not requires_grad and (out.dtype.kind != "f" or out.dtype.itemsize < 4):
            out = _floating_result(prim, (a._data, b._data), {}, out)     # as apply does
        return make_tensor(out, prim, (a, b), None, requires_grad)

    operator.__name__ = f"__{'r' if reflected else ''}{name}__"
    return operator


class Tensor(GraphNode, NumberConversions, PyTorchHabits, ShapeSpellings):
    """A numpy array with a gradient and the graph that produced it.

    >>> w = Tensor([[1.0, 2.0]], requires_grad=True, name="w")
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    array([[2., 4.]])
    """

    __slots__ = ()

    def __new__(cls, data, requires_grad=False, name=None, dtype=None):
        """`data` keeps a floating dtype, integers become float64 and booleans a bool mask
        (which can index, but not require grad); `dtype=` may name a floating dtype or bool,
        never an integer one (DTypeError)."""
        value = as_array(data._data if isinstance(data, Tensor) else data, dtype)
        requires_grad = grad_flag("Tensor", requires_grad, value.dtype)
        return make_tensor(value, requires_grad=requires_grad, name=tensor_name("Tensor", name))

    def __reduce__(self):
        """copy, deepcopy and pickle make a leaf with copies of the value and gradient (as
        PyTorch, only a leaf can be copied: a recorded result would lose its graph)."""
        if self._prim is not None:
            raise BackwardError(f"cannot copy or pickle the {self.op!r} result of shape "
                                f"{self.shape}: it is part of a recorded graph; detach() it "
                                f"first to copy its value")
        grad = None if self.grad is None else np.array(self.grad)
        return _restore, (np.array(self._data), self.requires_grad, self.name, grad)

    def detach(self):
        """A new leaf sharing this tensor's data (and its writes), outside any graph."""
        return make_tensor(self._data, name=self.name, memory_of=self)

    def astype(self, dtype):
        """This tensor's values in `dtype`, np.float32 or np.float64, copied and recorded (the
        gradient comes back in this tensor's dtype). Its own dtype (float16 too) gives a copy,
        as clone()."""
        # (None is refused, not read as numpy reads it, float64)
        dtype = None if dtype is None else tensor_dtype(dtype, "astype")
        if dtype is None or dtype.kind != "f" or dtype not in (np.float32, np.float64, self.dtype):
            raise DTypeError(f"astype: dtype must be np.float32 or np.float64 (a tensor "
                             f"computes in those), got {dtype}")
        return apply("astype", self, dtype=dtype)

    def where(self, condition, other):
        """self where condition holds, else other (broadcast), as torch's x.where(condition, y);
        the gradient follows the chosen side. `condition` is a boolean array (or a Tensor /
        array read as `!= 0`); it gets no gradient."""
        condition = (condition._data if isinstance(condition, Tensor) else
                     rectangular("where", "the condition", condition))
        if condition.dtype.kind not in "biuf":
            raise DTypeError(f"where: the condition must hold booleans or numbers, got "
                             f"{condition.dtype} values")
        return apply("where", self, operand(other, self),
                     condition=condition.astype(bool, copy=False))

    @staticmethod
    def _mask(array):
        """A result without a gradient (a comparison's bool mask, argmax's positions): a leaf
        around `array`, outside any graph."""
        return make_tensor(array)

    # --- arithmetic (numbers and arrays on either side) ---
    __add__, __radd__ = _operator("add"), _operator("add", reflected=True)
    __sub__, __rsub__ = _operator("sub"), _operator("sub", reflected=True)
    __mul__, __rmul__ = _operator("mul"), _operator("mul", reflected=True)
    __truediv__, __rtruediv__ = _operator("div"), _operator("div", reflected=True)
    __pow__, __rpow__ = _operator("pow"), _operator("pow", reflected=True)
    __matmul__, __rmatmul__ = _operator("matmul"), _operator("matmul", reflected=True)

    def __neg__(self):
        return apply("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return apply("abs", self)

    def __setitem__(self, index, value):
        """x[index] = v writes into x's memory, as torch's x[index] = v: an in-place update with
        the rules of x += v (node.py)."""
        self._writable("x[index] = v", value)
        if value is None:                   # numpy would store NaN
            raise DTypeError(f"x[index] = None into the {self.dtype} tensor of shape "
                             f"{self.shape}: None is not a number (torch refuses it too); write "
                             f"float('nan') if a missing value is meant")
        index = _plain_index(index)
        if isinstance(value, Tensor):
            written = value._data
        elif value.__class__ is float:
            written = value
        else:       # numbers only, read as Tensor(v) reads them: numpy would parse '1e3', drop
            written = _written_value(self, value)     # an imaginary part, store None as NaN
        try:
            self._data[index] = written
        except (ValueError, TypeError, IndexError, OverflowError) as exc:    # (before any write)
            raise in_place_error("x[...] =", self, value, exc) from None
        stamp(self)

    # --- elementwise functions ---
    def exp(self): return apply("exp", self)
    def log(self): return apply("log", self)
    def tanh(self): return apply("tanh", self)
    def sigmoid(self): return apply("sigmoid", self)
    def relu(self): return apply("relu", self)
    def sqrt(self): return apply("sqrt", self)
    def abs(self): return apply("abs", self)
    def softplus(self): return apply("softplus", self)

    # --- reductions ---
    # (every axis= is also dim=, every keepdims= also keepdim=: PyTorch's spelling; spellings.py)
    def sum(self, axis=ALL_AXES, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
        return self._reduce("sum", axis, keepdims, dim, keepdim)

    def mean(self, axis=ALL_AXES, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
        return self._reduce("mean", axis, keepdims, dim, keepdim)

    def max(self, dim=ALL_AXES, keepdim=NOT_KEPT, *, axis=ALL_AXES, keepdims=NOT_KEPT):
        """The largest value: of every element (t.max()) or over numpy's axis= (an int or a
        tuple), the values only. Along a dim given as torch's, t.max(1) or t.max(dim=1), the
        pair (values, indices), as torch's: values, indices = logits.max(dim=1)."""
        return self._extreme("max", dim, keepdim, axis, keepdims)

    def logsumexp(self, axis=LAST_AXIS, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
        return self._reduce("logsumexp", axis, keepdims, dim, keepdim)

    def _reduce(self, op, axis, keepdims, dim, keepdim):
        axis = either(op, "axis", axis, "dim", dim)
        keepdims = flag(either(op, "keepdims", keepdims, "keepdim", keepdim), op, "keepdims")
        return apply(op, self, axis=axes_of(axis, self.ndim, op, self.shape), keepdims=keepdims)

    def softmax(self, axis=LAST_AXIS, *, dim=NOT_GIVEN):
        axis = either("softmax", "axis", axis, "dim", dim)
        return apply("softmax", self, axis=one_axis(axis, self, "softmax"))

    def log_softmax(self, axis=LAST_AXIS, *, dim=NOT_GIVEN):
        axis = either("log_softmax", "axis", axis, "dim", dim)
        return apply("log_softmax", self, axis=one_axis(axis, self, "log_softmax"))

    # --- shape ---
    def reshape(self, *shape):
        return apply("reshape", self, shape=shape_of(shape))

    def transpose(self, *axes):
        """transpose(dim0, dim1) swaps two axes, as torch's (of a matrix: its transpose);
        transpose() reverses them all; a tuple, or three or more axes, permutes them as numpy
        does: transpose((1, 0, 2)), transpose(1, 0, 2), and torch's permute(1, 0, 2)."""
        return apply("transpose", self, axes=permutation_of(axes, self.ndim, self.shape))

    def __getitem__(self, index):
        return apply("getitem", self, index=_plain_index(index))

    def cut(self):
        """Identity forward, zero gradient: a truncation that stays in the graph as a node."""
        return apply("cut", self)

    def norm(self, p=2, axis=ALL_AXES, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
        """The p-norm (sum |x|^p)^(1/p) over axis (every element when None): one node for any
        0 < p < inf (p = 2 is also "fro"), whose gradient is 0 where x or the norm is 0 (as
        torch's); p = 1 and p = inf are sum and max of |x|."""
        axis = either("norm", "axis", axis, "dim", dim)
        keepdims = flag(either("norm", "keepdims", keepdims, "keepdim", keepdim), "norm",
                        "keepdims")
        if isinstance(p, (bool, np.bool_)) or not (isinstance(p, (int, float, np.number))
                                                   or isinstance(p, str) and p == "fro"):
            raise SettingError(f"norm: p must be a positive number, inf or 'fro', got {p!r}")
        if p == "fro":
            p = 2
        if p == 1:
            return self.abs().sum(axis=axis, keepdims=keepdims)
        if p == float("inf"):
            return self.abs().max(axis=axis, keepdims=keepdims)
        if not 0 < p < float("inf"):
            raise SettingError(f"norm: p must be a positive number, inf or 'fro', got {p!r}")
        return apply("norm", self, p=2 if p == 2 else float(p),
                     axis=axes_of(axis, self.ndim, "norm", self.shape), keepdims=keepdims)

    # --- more of the PyTorch user's toolbox (comparisons, argmax, view, ...: habits.py) ---
    def min(self, dim=ALL_AXES, keepdim=NOT_KEPT, *, axis=ALL_AXES, keepdims=NOT_KEPT):
        """The smallest value; the values only, or the pair (values, indices): see max."""
        return self._extreme("min", dim, keepdim, axis, keepdims)

    def _extreme(self, op, dim, keepdim, axis, keepdims):
        """max or min: the pair (values, indices) when a dim is given (torch's spelling, also
        positional), else the values over numpy's axis= (all axes when None)."""
        if isinstance(dim, Default) or dim is None:
            return self._reduce(op, axis, keepdims, dim, keepdim)
        either(op, "axis", axis, "dim", dim)                # (both given: refused)
        keepdims = flag(either(op, "keepdims", keepdims, "keepdim", keepdim), op, "keepdims")
        return values_and_indices(self, op, dim, keepdims)

    def clamp(self, min=None, max=None):
        """Values limited to [min, max] (numbers; either may be None). The gradient is 1 inside
        the interval, bounds included (as torch.clamp), and 0 outside."""
        low, high = (_bound("clamp", name, value) for name, value in (("min", min), ("max", max)))
        if low is None and high is None:
            raise SettingError("clamp: give min=, max= or both (numbers); got neither")
        return apply("clamp", self, low=low, high=high)

    clip = clamp

    def sin(self): return apply("sin", self)
    def cos(self): return apply("cos", self)
    def square(self): return apply("square", self)

def _written_value(tensor, value):
    """The value of x[index] = value (a number, list or array) as an array of numbers; into an
    integer tensor (an argmax), integers as they are (as_array would read them as float64,
    and 2**53 + 1 would be written as 2**53)."""
    try:
        checked = as_array(value, copy=False)
        if tensor.dtype.kind in "iu" and np.asarray(value).dtype.kind in "iu":
            return np.asarray(value)
        return checked
    except DTypeError as exc:       # (an int's repr may be too long to make: 2**20000)
        shown = "an int" if isinstance(value, int) else f"{value!r:.40}"
        raise DTypeError(f"x[...] = {shown}: the {tensor.dtype} tensor of shape "
                         f"{tensor.shape} takes numbers only ({exc})") from None


def _bound(op, name, value):
    """A bound of clamp as a Python float (which keeps a float32 tensor float32, where a numpy
    float64 or int64 would promote it), or None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) or \
            value != value:                         # (NaN; np.isnan refuses a huge int)
        raise SettingError(f"{op}: {name} must be a number (or None), got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise int_too_large(f"{op}: {name}", value) from None


def _restore(value, requires_grad, name, grad):
    """A copied or unpickled leaf (Tensor.__reduce__)."""
    t = make_tensor(value, requires_grad=requires_grad, name=name)
    t.grad = grad
    return t


def make_tensor(value, prim=None, parents=(), params=None, requires_grad=False, name=None,
                memory_of=None, record_constants=False):
    """The one constructor of tensors: a leaf around `value` (prim None), or the node of
    primitive `prim` on `parents` holding its result `value`.

    A node records its parents while grad mode is on and some parent requires grad or is a
    recorded node itself (a result downstream of a cut joins the graph, so the edge the cut
    drops can be drawn: mu * cut(s[t]) in Jordan's s[t+1]), or record_constants is set (an op
    on constants only whose inputs a picture should show: the windowed MLP's window of
    x[t]); otherwise it is a leaf. `value`
    is kept as it is, never copied. `memory_of` names the tensor whose memory `value` views
    (a detached tensor, a row of a sequence), so writes to either are seen by both; a view op
    (reshape, slicing, cut) shares its input's memory by itself.
    """
    t = _new(Tensor)
    t._data = value if value.__class__ is _ndarray else _plain_array(value)
    t.grad = t.name = None
    t._meta = recording.meta
    t._retains_grad = t._consumed = False
    t._born = recording.writes
    if prim is None:
        t._prim, t._parents, t._params = None, (), None
        t._requires_grad = requires_grad
    else:
        if recording.grad_enabled and (requires_grad or record_constants or
                                       any(map(_recorded, parents))):
            t._prim = prim
            t._parents = parents
            t._params = params
            t._requires_grad = requires_grad and prim.differentiable
        else:
            t._prim, t._parents, t._params = None, (), None
            t._requires_grad = False
        if prim.view:
            memory_of = parents[0]
        if recording.watching:
            _watch(t, prim, parents)
    if name is not None:
        t.name = name
    if memory_of is not None:        # (unset on most tensors: memory_owner reads a default)
        t._memory = memory_owner(memory_of)
    return t


def _plain_array(value):
    """A value that is not a plain ndarray (a numpy scalar, a subclass) as one; a released
    value (memory.py) is refused: its NaN would pass for the value (a detach, a cut, a
    checkpoint's input of a node an unroll released)."""
    if is_released(value):
        raise read_released()
    return np.asarray(value)


def _watch(t, prim, parents):
    """What detect_anomaly() and memory.collecting() ask of every op result."""
    if recording.anomaly:
        check_finite(prim, [p._data for p in parents], t._data)
    if recording.created is not None:
        recording.created.append(t)


def leaf(array, requires_grad=False, name=None, memory_of=None):
    """A leaf Tensor around `array` itself (no copy, no dtype conversion): for engine code that
    already holds a float array, like checkpoint's recomputation and an unroll's input rows."""
    return make_tensor(array, requires_grad=requires_grad, name=name, memory_of=memory_of)


def constant(value, dtype=None, recorded=None):
    """A number, list or array operand as a constant leaf; a Tensor is returned as it is.

    Unlike Tensor(...), an array of a floating dtype is wrapped without a copy: an operand is
    read, never owned (an input sequence may be a long recording). A graph that records the
    constant may read it in backward, after the caller has changed the array, so a write
    must not go unseen: a view of a tensor's value (x.data) shares that tensor's memory and
    its write stamps, and a numpy array that may be written (itself, or the array it views: a
    read-only np.asarray(t) of a tensor, a broadcast view) gets a fingerprint that backward
    compares (inplace.py), while one may record (grad mode on; `recorded` says more
    precisely)."""
    if isinstance(value, Tensor):
        return value
    array = as_array(value, dtype, copy=False)
    if isinstance(value, TrackedArray) and value._owner is not None and \
            np.may_share_memory(array, value):
        return make_tensor(array, memory_of=value._owner)
    t = make_tensor(array)
    if (recording.grad_enabled if recorded is None else recorded) and \
            isinstance(value, _ndarray) and may_be_written(array) and \
            np.may_share_memory(array, value):
        t._fingerprint = fingerprint(array)
    return t


def operand(value, like):
    """An operand of a binary op as a Tensor: a Python number takes the dtype of the tensor
    `like` it meets (float32 * 2.0 stays float32), anything else as constant() makes it (a
    numpy array is watched for writes when the op records a graph)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and \
            like._data.dtype.kind == "f":
        try:
            return make_tensor(np.asarray(value, dtype=like._data.dtype))
        except OverflowError:       # (float32 takes a number beyond its range as inf)
            raise int_too_large("an operand", value) from None
    return constant(value, recorded=recording.grad_enabled and (
        like._requires_grad or like._prim is not None))


def apply(name, *inputs, **params):
    """Run primitive `name` on `inputs` (Tensors, or numbers and arrays taken as constants)
    and return the result as a node of the graph."""
    for x in inputs:
        if not isinstance(x, Tensor):
            inputs = _operands(inputs)
            break
    try:
        prim = PRIMITIVES[name]
    except (KeyError, TypeError):       # (TypeError: a name that cannot be a key, a list)
        raise SettingError(f"apply: {name!r} is not a primitive; the ops table has "
                           f"{', '.join(PRIMITIVES)}") from None
    arrays = tuple(map(_value, inputs))
    if prim.ufunc_inputs is not None and (len(arrays) != prim.ufunc_inputs or params):
        given = ", ".join(f"{key}=" for key in params)
        raise SettingError(f"apply: {name} takes {prim.ufunc_inputs} input(s) and no "
                           f"parameters, got {len(arrays)} input(s){' and ' if given else ''}"
                           f"{given}: a numpy ufunc takes a further input, or out=, as the "
                           f"array to write its result into")
    try:
        out = prim.forward(*arrays, **params) if params else prim.forward(*arrays)
    except (ValueError, IndexError, TypeError, MemoryError) as exc:
        raise forward_error(prim, arrays, params, exc) from None
    requires_grad = any(map(_requires_grad, inputs))
    if not requires_grad:               # (a result that requires grad is floating already)
        dtype = out.dtype
        if dtype.kind != "f" or dtype.itemsize < 4:
            out = _floating_result(prim, arrays, params, out)
    return make_tensor(out, prim, inputs, params or None, requires_grad)


def _operands(inputs):
    """apply()'s inputs as Tensors, numbers and arrays as constants; an array is watched for
    writes only when the result will be recorded (some Tensor input requires grad or is a
    node), as operand() decides for the operators."""
    recorded = recording.grad_enabled and any(
        x._requires_grad or x._prim is not None for x in inputs if isinstance(x, Tensor))
    return tuple(constant(x, recorded=recorded) for x in inputs)


# ops whose bool result would be a logical one where the op means sums of products: numpy's
# matmul of masks is an OR of ANDs (m @ m is True, not 2); torch refuses a bool matmul too
_NO_LOGICAL_RESULT = frozenset({"matmul", "linear", "lstm_cell"})


def _floating_result(prim, arrays, params, out):
    """The result of an op on bool masks, computed in float64 as other data is: numpy would
    count a mask's sum in int64 and take exp(True) in float16 (PyTorch computes both in its
    default floating dtype). Results on integer data (an argmax) and bool results (a mask's
    max, reshape, mask + mask, logical as in PyTorch) are kept as they are; a product of
    masks (matmul, linear) is refused, as in PyTorch."""
    if any(a.dtype.kind in "iu" for a in arrays):
        return out
    if out.dtype.kind == "b" and prim.name in _NO_LOGICAL_RESULT:
        raise DTypeError(f"{prim.name}: operands of dtypes "
                         f"{' and '.join(str(a.dtype) for a in arrays)}: a product of bool "
                         f"masks would be logical (an OR of ANDs), as torch refuses it; convert "
                         f"a mask to numbers first, mask * 1.0{where_in_time(recording.meta)}")
    if out.dtype.kind in "iu":
        return out.astype(np.float64)
    if out.dtype.kind == "f" and not any(a.dtype.kind == "f" and a.dtype.itemsize < 4
                                         for a in arrays):
        return prim.forward(*[a.astype(np.float64) if a.dtype.kind == "b" else a
                              for a in arrays], **params)
    return out


def precomputed(name, inputs, value, memory_of=None, record_constants=False, **params):
    """Record primitive `name` on `inputs` with its forward value already computed elsewhere.

    For work done for many steps at once: an RNN computes W1 x[t] + b1 for a block of steps in
    one matmul, then records each step's linear(x[t], W1, b1) node with its slice of the
    result. The graph is the one a step-by-step computation records; `value` must be what
    forward would return. record_constants: see make_tensor.
    """
    return make_tensor(value, PRIMITIVES[name], tuple(inputs), params or None,
                       any(map(_requires_grad, inputs)), memory_of=memory_of,
                       record_constants=record_constants)


def _plain_index(index):
    """An index with Tensors replaced by numpy arrays: a bool Tensor is a mask (as a boolean
    numpy array is), a floating one must hold whole numbers; lists become arrays (a list of
    tensors as the tensor of them). The node keeps the index for its vjp, so an array index
    is copied: a later write into the caller's array must not move the gradient."""
    if isinstance(index, tuple):
        return tuple(map(_plain_index, index))
    if isinstance(index, np.ndarray):
        return np.array(index)
    if isinstance(index, Tensor):
        data = index._data
        if data.dtype.kind in "biu":
            return np.array(data)
        positions = np.zeros(data.shape, dtype=np.int64)
        whole = np.isfinite(data)
        positions[whole] = data[whole]
        if not (whole.all() and np.array_equal(positions, data)):
            raise TensorIndexError(f"getitem: a Tensor index must hold whole numbers (or be a "
                                   f"bool mask), got {data.ravel()[:5]}"
                                   f"{'...' if data.size > 5 else ''}")
        return positions
    if isinstance(index, list):
        if any(isinstance(i, Tensor) for i in index):
            return _plain_index(constant(index))
        try:
            array = np.array(index)
        except ValueError as exc:
            raise TensorIndexError(f"getitem: the index list {index!r:.80} is not a "
                                   f"rectangular array of positions or a mask ({exc})") from None
        return array.astype(np.intp) if array.size == 0 else array    # x[[]]: no positions
    return index
