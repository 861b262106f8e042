"""Arguments as the engine takes them: data as a floating array, axes as sorted non-negative
tuples. Each error names the op."""
import numpy as np

from .context import recording
from .errors import DTypeError, ShapeError, where_in_time


def as_array(data, dtype=None, copy=True):
    """`data` (number, nested list, array) as a floating numpy array; integers and bools
    become float64, floating dtypes are kept, anything else is a DTypeError."""
    try:
        array = np.array(data, dtype=dtype, copy=copy) if copy else np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"Tensor: cannot make a numeric array from {type(data).__name__} "
                         f"data ({exc})") from None
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise DTypeError(f"Tensor: data must be numeric (bool, integer or floating), got dtype "
                     f"{array.dtype} from {type(data).__name__}")


def axes_of(axis, ndim, op=None, shape=None):
    """axis=None, an int or a tuple, as None or a sorted tuple of non-negative axes.
    `op` and `shape` only name the op and its operand in the error message."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not -ndim <= a < ndim:
            who = f"{op}: " if op else ""
            of = f" of shape {tuple(shape)}" if shape is not None else ""
            raise ShapeError(f"{who}axis {a} is out of range for a tensor{of} with {ndim} "
                             f"dimension(s){where_in_time(recording.meta)}")
    return tuple(sorted(a % ndim for a in axes))


def one_axis(axis, tensor, op):
    """The single axis a softmax runs along, as a non-negative int."""
    if not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{op}: axis must be one int (the axis the probabilities sum over), got "
                         f"{axis!r} for shape {tensor.shape}{where_in_time(recording.meta)}")
    return axes_of(axis, tensor.ndim, op, tensor.shape)[0]
