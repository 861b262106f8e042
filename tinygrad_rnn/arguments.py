"""Arguments as the engine takes them: data as a floating (or boolean) array, axes as sorted
non-negative tuples, shapes and permutations as tuples of ints. Each error names the op and
the value."""
import operator

import numpy as np

from .context import recording
from .errors import DTypeError, ShapeError, where_in_time
from .memory import is_released, read_released


def tensor_dtype(dtype, who="Tensor"):
    """numpy's dtype for an explicit `dtype=`: a floating one, or bool for a mask. Integer
    dtypes are refused: the engine would compute in them with fractions cut."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"{who}: dtype={dtype!r} is not a dtype ({exc})") from None
    if resolved.kind not in "fb":
        raise DTypeError(f"{who}: dtype={dtype!r} is not supported; a Tensor holds floating "
                         f"numbers (np.float64, np.float32, ...) or booleans (a mask), and "
                         f"integer data is stored as float64")
    return resolved


def as_array(data, dtype=None, copy=True):
    """`data` (number, nested list, array) as a numpy array the engine computes with:
    floating dtypes are kept, integers become float64, booleans stay a bool mask (as in
    PyTorch); an explicit `dtype` must be floating or bool; anything else is a DTypeError.
    A released value (memory.py), or a view of one, is a BackwardError."""
    if dtype is not None and not (isinstance(dtype, np.dtype) and dtype.kind in "fb"):
        dtype = tensor_dtype(dtype)     # (an operand's own dtype, the common case, is fine)
    if is_released(data):           # numpy would copy its NaN placeholder as values
        raise read_released()
    try:        # (RuntimeError: a torch tensor that requires grad refuses numpy())
        if dtype is not None:       # read as it is first: under a dtype, numpy would make None
            array = np.asarray(data)            # NaN and parse the string '1.5' as 1.5
        else:
            array = np.array(data, copy=copy) if copy else np.asarray(data)
    except (TypeError, ValueError, OverflowError, RuntimeError) as exc:
        raise DTypeError(f"Tensor: cannot make a numeric array from {type(data).__name__} "
                         f"data ({exc})") from None
    kind = array.dtype.kind
    if kind == "O" and array.size and not isinstance(data, np.ndarray) and \
            all(map(_is_int_or_float, array.flat)):   # ints beyond int64 (and floats beside
        array, kind = large_ints(array, "Tensor"), "f"  # them), kept as objects
    if kind not in "biuf":
        raise DTypeError(f"Tensor: data must be numeric (bool, integer or floating), got dtype "
                         f"{array.dtype} from {type(data).__name__}")
    if dtype is not None:
        return np.array(array, dtype=dtype, copy=copy) if copy else array.astype(dtype,
                                                                                  copy=False)
    if kind in "iu":
        return array.astype(np.float64)
    return array


def rectangular(op, what, value):
    """np.asarray(value) for an argument read as numpy reads it (a condition, class targets);
    a ragged list, whose rows differ in length, is a ShapeError naming the op."""
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise ShapeError(f"{op}: {what} is not a rectangular array (a ragged list?): {exc}"
                         f"{where_in_time(recording.meta)}") from None


def large_ints(array, who):
    """An array of Python ints beyond int64 (numpy keeps them, and floats beside them, as
    objects) as float64, which holds them up to about 1.8e308; a larger one is a DTypeError
    (int_too_large)."""
    try:
        return array.astype(np.float64)
    except OverflowError:
        raise int_too_large(who, max(array.flat, key=abs)) from None


def int_too_large(who, number):
    """The error for a Python int beyond float64's range: no tensor holds it (PyTorch refuses
    ints beyond int64), where numpy raises a bare OverflowError."""
    return DTypeError(f"{who}: an int of {abs(number).bit_length()} bits is beyond the range of "
                      f"float64 (about 1.8e308), the widest dtype a tensor holds; write "
                      f"float('inf') if infinity is meant{where_in_time(recording.meta)}")


def grad_flag(who, requires_grad, dtype):
    """requires_grad as a bool: True or False (numpy's too), and True only for floating data
    (a mask or an index has no gradient)."""
    if not isinstance(requires_grad, (bool, np.bool_)):
        raise DTypeError(f"{who}: requires_grad must be True or False, got {requires_grad!r} "
                         f"({type(requires_grad).__name__})")
    if requires_grad and np.dtype(dtype).kind != "f":
        raise DTypeError(f"{who}: only floating tensors can require grad; this one holds "
                         f"{dtype} data (a mask has no gradient)")
    return bool(requires_grad)


def tensor_name(who, name):
    """A tensor's name: a str or None."""
    if name is not None and not isinstance(name, str):
        raise DTypeError(f"{who}: name must be a str or None, got {name!r} "
                         f"({type(name).__name__})")
    return name


def whole_numbers(values):
    """True when an array holds whole numbers only: integers, or floats that are all finite
    and integral (inf passes np.round(x) == x, and would wrap when cast to an integer)."""
    if values.dtype.kind in "iu":
        return True
    return values.dtype.kind == "f" and bool(np.all(np.isfinite(values))) and \
        np.array_equal(values, np.round(values))


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_int_or_float(value):
    return _is_int(value) or isinstance(value, (float, np.floating))


def _who(op):
    return f"{op}: " if op else ""


def axes_of(axis, ndim, op=None, shape=None):
    """axis=None, an int or a tuple/list of ints, as None or a sorted tuple of distinct
    non-negative axes. `op` and `shape` only name the op and its operand in the message."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not _is_int(a):
            raise DTypeError(f"{_who(op)}axis must be an int or a tuple of ints, got {axis!r} "
                             f"({type(axis).__name__}){where_in_time(recording.meta)}")
        if not -ndim <= a < ndim:
            of = f" of shape {tuple(shape)}" if shape is not None else ""
            raise ShapeError(f"{_who(op)}axis {a} is out of range for a tensor{of} with {ndim} "
                             f"dimension(s){where_in_time(recording.meta)}")
    normal = tuple(sorted(int(a) % ndim for a in axes))
    if len(set(normal)) != len(normal):
        raise ShapeError(f"{_who(op)}axis {axis!r} names the same axis twice"
                         f"{where_in_time(recording.meta)}")
    return normal


def one_axis(axis, tensor, op):
    """The single axis an op runs along (softmax, argmax), as a non-negative int."""
    if not _is_int(axis):
        raise DTypeError(f"{op}: axis must be one int (this op runs along a single axis), got "
                         f"{axis!r} ({type(axis).__name__}) for shape {tensor.shape}"
                         f"{where_in_time(recording.meta)}")
    return axes_of(axis, tensor.ndim, op, tensor.shape)[0]


def flag(value, op, argument):
    """A bool argument of an op (keepdims): True or False, never a truthy string."""
    if not isinstance(value, (bool, np.bool_)):
        raise DTypeError(f"{op}: {argument} must be True or False, got {value!r} "
                         f"({type(value).__name__})")
    return bool(value)


def shape_of(shape, op="reshape"):
    """reshape's arguments (ints, or one tuple/list of them) as a tuple of ints."""
    dims = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    try:
        if any(isinstance(d, (bool, np.bool_)) for d in dims):
            raise TypeError("a bool is not a size")
        sizes = tuple(operator.index(d) for d in dims)
    except TypeError:
        raise DTypeError(f"{op}: the shape must be ints (or one tuple of ints), got "
                         f"{shape if len(shape) != 1 else shape[0]!r}") from None
    if any(n < -1 for n in sizes):      # numpy reads any negative size as -1; PyTorch refuses
        raise ShapeError(f"{op}: sizes must be >= 0, or -1 for the one size inferred, got "
                         f"{sizes}{where_in_time(recording.meta)}")
    return sizes


def permutation_of(axes, ndim, shape):
    """transpose's axes as a permutation of 0..ndim-1 (a tuple of non-negative ints): two ints
    swap those two axes, as torch's transpose(dim0, dim1) (numpy would read (0, 1) as the
    identity, a silent no-op for a matrix); none reverse them all; a tuple or list, or more
    than two ints, is the permutation itself, as numpy's. Negative axes count from the end."""
    if len(axes) == 2 and all(_is_int(a) for a in axes):
        first, second = (axes_of(int(a), ndim, "transpose", shape)[0] for a in axes)
        order = list(range(ndim))
        order[first], order[second] = second, first
        return tuple(order)
    axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    if not axes:
        return tuple(reversed(range(ndim)))
    if not all(_is_int(a) for a in axes):
        raise DTypeError(f"transpose: axes must be ints, got {axes!r}")
    normal = tuple(int(a) % ndim if -ndim <= a < ndim else None for a in axes) if ndim else ()
    if len(axes) != ndim or None in normal or sorted(normal) != list(range(ndim)):
        raise ShapeError(f"transpose: axes {axes} are not a permutation of the {ndim} axes of "
                         f"shape {tuple(shape)}{where_in_time(recording.meta)}")
    return normal
