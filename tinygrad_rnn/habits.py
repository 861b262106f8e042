"""The PyTorch user's habits on a Tensor that are not ops of their own: elementwise comparisons
giving bool masks and ~ & | ^ combining them, argmax/argmin, max/min along one dim as the pair
(values, indices), size() (a callable int), numel(), dim(), to/float/double/type_as/clone,
requires_grad_, torch's names pow/matmul/mm, var and std, all and any, masked_fill and tolist.
(The shape spellings, view to repeat: shape_spellings.py.) A mixin of Tensor: its methods reach
the engine through the tensor's own methods (sum, where, astype, ...) and `_mask` (a leaf
outside any graph)."""
import math
from collections import namedtuple

import numpy as np

from .arguments import axes_of, flag, int_too_large, one_axis, rectangular, tensor_dtype
from .context import recording
from .errors import DTypeError, SettingError, ShapeError, TinygradRNNError, where_in_time
from .shape_spellings import one_dim
from .spellings import ALL_AXES, NOT_GIVEN, NOT_KEPT, either


def _comparison(ufunc, symbol):
    """Tensor.__lt__ and the like: elementwise, as torch's, giving a bool tensor that is a
    leaf outside any graph (a comparison has no gradient). None, strings and other things that
    are not numbers are NotImplemented, so t == None is False, as in PyTorch."""
    def compare(self, other):
        if other is None or isinstance(other, str):
            return NotImplemented
        theirs = other._data if isinstance(other, PyTorchHabits) else other
        if hasattr(theirs, "__array__") and not isinstance(theirs, np.ndarray):
            theirs = _foreign_array(symbol, theirs)
        if symbol not in ("==", "!=") and _complex(theirs):
            raise DTypeError(f"{symbol}: complex numbers have no order; compare with a real "
                             f"number (numpy would compare real parts first, then imaginary)")
        try:
            result = ufunc(self._data, theirs)
        except TinygradRNNError as exc:         # a released value: ours already
            raise type(exc)(f"{symbol}: {exc}") from None
        except ValueError as exc:
            raise ShapeError(f"{symbol}: operands of shapes {self.shape} and {_shape(theirs)} "
                             f"do not fit: {exc}{where_in_time(recording.meta)}") from None
        except OverflowError:                       # a Python int beyond float64
            raise int_too_large(symbol, max(np.ravel(np.asarray(theirs, dtype=object)),
                                            key=abs)) from None
        except TypeError:
            return NotImplemented
        if result is NotImplemented:
            return NotImplemented
        return self._mask(np.asarray(result))

    compare.__name__ = f"__{ufunc.__name__}__"
    return compare


def _foreign_array(symbol, value):
    """Another library's array (a torch tensor) as numpy's, read as an operand of arithmetic
    is: numpy would hand the comparison's result back to the other library, whose uint8 "mask"
    indexes as positions 0 and 1."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:    # (a torch tensor requiring grad)
        raise DTypeError(f"{symbol}: cannot compare with {type(value).__name__} data as an "
                         f"array ({exc})") from None


def _complex(value):
    """Whether a comparison's other operand holds complex numbers: a number, an array or a list
    of them (a ragged list is left to the comparison, which refuses its shape)."""
    try:
        return np.iscomplexobj(value)
    except ValueError:
        return False


def _shape(value):
    """np.shape(value), or "ragged" for a list whose rows differ in length."""
    try:
        return np.shape(value)
    except ValueError:
        return "ragged"


def _logical(ufunc, symbol):
    """Tensor.__and__ and the like: ~, &, | and ^ of bool masks, elementwise, giving a mask
    (as torch's on bool tensors). On numbers they would be bitwise in numpy and have no
    gradient: a DTypeError."""
    def logical(self, *other):
        if other and (other[0] is None or isinstance(other[0], str)):
            return NotImplemented
        operands = [self, *other]
        try:
            arrays = [x._data if isinstance(x, PyTorchHabits) else np.asarray(x)
                      for x in operands]
        except ValueError as exc:           # a ragged list
            raise ShapeError(f"{symbol}: the other operand is not a mask of one shape: "
                             f"{exc}{where_in_time(recording.meta)}") from None
        if not all(a.dtype == bool for a in arrays):
            kinds = " and ".join(str(a.dtype) for a in arrays)
            raise DTypeError(f"{symbol}: logical ops take bool masks (t > 0), got {kinds}; for "
                             f"numbers use *, + or where()")
        try:
            result = ufunc(*arrays)
        except TinygradRNNError as exc:
            raise type(exc)(f"{symbol}: {exc}") from None
        except ValueError as exc:
            shapes = " and ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"{symbol}: masks of shapes {shapes} do not fit: {exc}"
                             f"{where_in_time(recording.meta)}") from None
        return self._mask(np.asarray(result))

    logical.__name__ = f"__{ufunc.__name__}__"
    return logical


class PyTorchHabits:
    """Comparisons (< <= > >= == !=) are elementwise, as in PyTorch, and give bool tensors
    without a gradient; hashing stays by identity, so tensors remain dict keys (backward keys
    its bookkeeping by node)."""

    __slots__ = ()
    __hash__ = object.__hash__      # == is elementwise: tensors stay dict keys by identity
    __lt__ = _comparison(np.less, "<")
    __le__ = _comparison(np.less_equal, "<=")
    __gt__ = _comparison(np.greater, ">")
    __ge__ = _comparison(np.greater_equal, ">=")
    __eq__ = _comparison(np.equal, "==")
    __ne__ = _comparison(np.not_equal, "!=")
    __invert__ = _logical(np.logical_not, "~")
    __and__ = __rand__ = _logical(np.logical_and, "&")
    __or__ = __ror__ = _logical(np.logical_or, "|")
    __xor__ = __rxor__ = _logical(np.logical_xor, "^")

    def argmax(self, axis=ALL_AXES, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
        """Index of the largest value along axis (of the flattened tensor when axis is None),
        an int64 tensor without gradient: t.argmax(dim=-1) picks a class from logits."""
        return _arg_reduction("argmax", np.argmax, self, axis, keepdims, dim, keepdim)

    def argmin(self, axis=ALL_AXES, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
        """Index of the smallest value along axis; see argmax."""
        return _arg_reduction("argmin", np.argmin, self, axis, keepdims, dim, keepdim)

    @property
    def size(self):
        """The number of elements, numpy's int, which is also torch's size(): t.size() is the
        shape and t.size(d) its length along dim d (see Size)."""
        return Size(self._data.shape)

    def numel(self):
        """The number of elements, as torch's numel() (numpy's t.size)."""
        return self._data.size

    def dim(self):
        """The number of axes, as torch's dim() (numpy's t.ndim)."""
        return self._data.ndim

    def tolist(self):
        """The value as (nested) Python numbers."""
        return self._data.tolist()

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad (a leaf's only, as the property) and return self, as torch's."""
        self.requires_grad = requires_grad
        return self

    # --- dtypes, as torch spells them (astype underneath) ---
    def to(self, dtype):
        """This tensor in `dtype` (np.float32, "float64", another tensor's dtype), or itself
        when it already is (as torch's to()); "cpu" is itself too: numpy computes on the CPU."""
        if isinstance(dtype, str) and dtype.split(":")[0] in ("cpu", "cuda", "mps"):
            if dtype.split(":")[0] != "cpu":
                raise SettingError(f"to({dtype!r}): tinygrad_rnn computes with numpy on the "
                                   f"CPU; there is no {dtype!r} device")
            return self
        if dtype is not None and tensor_dtype(dtype, "to") == self.dtype:
            return self
        return self.astype(dtype)

    def float(self):
        """to(np.float32)."""
        return self.to(np.float32)

    def double(self):
        """to(np.float64)."""
        return self.to(np.float64)

    def type_as(self, other):
        """to(other.dtype)."""
        return self.to(other.dtype)

    def clone(self):
        """A copy recorded in the graph (its gradient flows back to this tensor), as torch's;
        a bool mask's copy is a mask (no gradient)."""
        if self.dtype == bool:
            return self._mask(self._data.copy())
        return self.astype(self.dtype)

    # --- torch's names for ops the tensor has under numpy's or Python's ---
    def pow(self, exponent):
        """self ** exponent."""
        return self ** exponent

    def matmul(self, other):
        """self @ other."""
        return self @ other

    def mm(self, other):
        """self @ other for two matrices (2-D both, as torch's mm; matmul broadcasts)."""
        for x in (self, other):
            if np.ndim(x) != 2:
                raise ShapeError(f"mm: both operands must be 2-D (use matmul or @ for others), "
                                 f"got shapes {np.shape(self)} and {np.shape(other)}")
        return self @ other

    def var(self, dim=None, unbiased=NOT_GIVEN, keepdim=False, *, correction=NOT_GIVEN):
        """The variance along dim (all elements when None): sum (x - mean)^2 / (N - correction),
        N the elements reduced; correction=1 (torch's default, unbiased=True) or 0 (unbiased=
        False). The arguments in torch's order: x.var(1, False) is unbiased=False, as in torch,
        and unbiased with correction is refused. N <= correction leaves no degrees of freedom:
        a ShapeError (torch gives NaN)."""
        if unbiased is not NOT_GIVEN and correction is not NOT_GIVEN:
            raise SettingError(f"var: give unbiased= or correction=, not both: got unbiased="
                               f"{unbiased!r} and correction={correction!r}")
        if unbiased is not NOT_GIVEN:
            correction = int(flag(unbiased, "var", "unbiased"))
        elif correction is NOT_GIVEN:
            correction = 1
        if isinstance(correction, bool) or not isinstance(correction, (int, np.integer)) or \
                correction < 0:
            raise SettingError(f"var: correction must be an int >= 0, got {correction!r}")
        keepdim = flag(keepdim, "var", "keepdim")
        axes = axes_of(dim, self.ndim, "var", self.shape)
        count = math.prod(self.shape[a] for a in (range(self.ndim) if axes is None else axes))
        if count <= correction:              # (count: the elements behind each result)
            raise ShapeError(f"var: {count} element(s) along the reduced axes of shape "
                             f"{self.shape} leave no degrees of freedom with correction="
                             f"{correction}{where_in_time(recording.meta)}")
        centred = self - self.mean(dim, keepdims=True)
        return (centred * centred).sum(dim, keepdims=keepdim) / (count - correction)

    def std(self, dim=None, unbiased=NOT_GIVEN, keepdim=False, *, correction=NOT_GIVEN):
        """The standard deviation, var(...).sqrt() (the arguments as var's). Where the spread
        is 0 the gradient is 0, as torch's subgradient there (sqrt's slope at 0 is inf, and
        inf * 0, the centred values, would be NaN)."""
        variance = self.var(dim, unbiased, keepdim, correction=correction)
        spread = variance._data != 0
        # sqrt where the spread is positive; where it is 0, the variance itself: 0, and its
        # gradient, 2 (x - mean) / (N - correction), is 0 there
        return variance.where(spread, 1.0).sqrt().where(spread, variance)

    def all(self):
        """Whether every element is true (nonzero), a 0-d bool tensor without gradient."""
        return self._mask(np.asarray(np.all(self._data)))

    def any(self):
        """Whether some element is true (nonzero), a 0-d bool tensor without gradient."""
        return self._mask(np.asarray(np.any(self._data)))

    def masked_fill(self, mask, value):
        """value where mask holds (broadcast), self elsewhere, as torch's; the gradient flows
        to self where mask is false. `mask` must be a bool mask (a comparison's result)."""
        condition = (mask._data if isinstance(mask, PyTorchHabits) else
                     rectangular("masked_fill", "the mask", mask))
        if condition.dtype != bool:
            raise DTypeError(f"masked_fill: mask must be a bool mask (t > 0 gives one), got "
                             f"dtype {condition.dtype}")
        return self.where(~condition, value)

class Size(int):
    """A tensor's .size: the number of elements, an int as numpy's is (t.size == 6, range(t.size),
    np.zeros(t.size)), and callable as torch's size(): t.size() is the shape, a tuple as
    torch.Size is, and t.size(d) its length along dim d (negative counts from the end; a dim
    out of range is a ShapeError). Pickled, copied or computed with, it is a plain int."""

    def __new__(cls, shape):
        size = super().__new__(cls, math.prod(shape))
        size.shape = shape
        return size

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        if not self.shape:
            raise ShapeError(f"size({dim!r}): a 0-d tensor has no dims (size() is its shape, ())")
        return self.shape[one_dim("size", dim, len(self.shape), self.shape)]

    def __reduce__(self):
        return int, (int(self),)


ValuesAndIndices = namedtuple("ValuesAndIndices", ["values", "indices"])
ValuesAndIndices.__doc__ = """t.max(dim) and t.min(dim), as torch's: `values` (with the gradient)
and `indices`, the positions along dim where they are (an int64 tensor without gradient)."""


def values_and_indices(x, op, dim, keepdims):
    """max or min of x along the one axis dim, as the pair (values, indices). values[i] is
    x[i, indices[i]] (for dim 1 of a matrix) and is recorded as that pick, so its gradient goes
    to the one position indices names, ties too, as torch's max(dim)."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise DTypeError(f"{op}: dim must be one int, got {dim!r} ({type(dim).__name__}) for "
                         f"shape {x.shape}: {op}(dim) gives (values, indices) along one axis, "
                         f"as torch's; the {op} over several axes is {op}(axis={dim!r})")
    axis = one_axis(dim, x, op)
    indices = _arg_reduction(f"arg{op}", np.argmax if op == "max" else np.argmin, x, axis,
                             keepdims, NOT_GIVEN, NOT_GIVEN)
    picks = list(np.indices(indices.shape, sparse=True))   # every other axis's own positions
    if keepdims:
        picks[axis] = indices._data
    else:
        picks.insert(axis, indices._data)
    return ValuesAndIndices(x[tuple(picks)], indices)


def _arg_reduction(op, function, x, axis, keepdims, dim, keepdim):
    """argmax / argmin: an int64 leaf without gradient."""
    axis = either(op, "axis", axis, "dim", dim)
    keepdims = flag(either(op, "keepdims", keepdims, "keepdim", keepdim), op, "keepdims")
    if axis is not None:
        axis = one_axis(axis, x, op)
    if x.shape[axis] == 0 if axis is not None else x.size == 0:    # (another axis may be 0)
        raise ShapeError(f"{op}: the tensor of shape {x.shape} is empty"
                         f"{'' if axis is None else f' along axis {axis}'}; it has no "
                         f"{op[3:]}imum{where_in_time(recording.meta)}")
    return x._mask(np.asarray(function(x._data, axis=axis, keepdims=keepdims), dtype=np.int64))
