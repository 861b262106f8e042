"""A Tensor as a Python number, a truth value, an index or a numpy array: one element only,
as in PyTorch (float(t), int(t), bool(t), t.item(), range(t), [..][t], f"{t:.3f}").

    >>> bool(Tensor([0.0])), float(Tensor([[2.5]])), int(Tensor(-2.7)), [10, 20][Tensor(1.0)]
    (False, 2.5, -2, 20)
    >>> bool(Tensor([1.0, 2.0]))     # ShapeError: the truth value ... is ambiguous

Any other number of elements is a ShapeError naming the shape; int() of NaN or Inf is a
NumericalError; an index must be a whole number (the engine stores integers as floats) or a
bool. np.asarray(t) gives the values as a read-only view (t.numpy() and t.data are the
writable, watched ones). A value released to save memory (memory.py) converts to nothing: each
conversion here is a BackwardError; only t.data and t.numpy() show its NaN placeholder.
"""
import sys

import numpy as np

from .errors import DTypeError, NumericalError, ShapeError, TensorIndexError
from .memory import is_released, read_released


class NumberConversions:
    """The conversions of Tensor, which holds its values in `.data` (a numpy array)."""

    __slots__ = ()

    def item(self):
        """The one element as a Python number (a ShapeError for any other size)."""
        return self._only_element("item()")

    def __float__(self):
        return float(self._only_element("float()"))

    def __int__(self):
        """int() truncates toward zero, as int(2.7) == 2; NaN and Inf have no int."""
        value = self._only_element("int()")
        if not np.isfinite(value):
            raise NumericalError(f"int() of a tensor holding {value}: NaN and Inf have no "
                                 f"integer value")
        return int(value)

    def __index__(self):
        """Use as a list index or a size (range(t)): a one-element tensor holding a whole
        number (the engine stores integers as floats) or a bool; 2.5 or NaN is refused."""
        value = self._only_element("__index__")
        if isinstance(value, bool):
            return int(value)
        if not (np.isfinite(value) and float(value).is_integer()):
            raise DTypeError(f"a tensor holding {value} cannot be used as an index: only whole "
                             f"numbers can")
        if not -sys.maxsize - 1 <= value <= sys.maxsize:     # Python's IndexError otherwise
            raise TensorIndexError(f"a tensor holding {value} cannot be used as an index or a "
                                   f"size: beyond {sys.maxsize}, the largest one")
        return int(value)

    def __bool__(self):
        """The truth value of a one-element tensor; more elements (or none) are ambiguous."""
        if self._data.size != 1:
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} with "
                             f"{self._data.size} elements is ambiguous; reduce it to one element "
                             f"first (.sum(), .max(), or compare its .data with numpy's any/all)")
        return bool(self._data.item())

    def __array__(self, dtype=None, copy=None):
        """np.asarray(t): the values, as a read-only view (a copy if asked or converted).

        Read-only because numpy's plain array could write the tensor's memory unseen, where a
        recorded graph may still need the old values (inplace.py); PyTorch refuses np.asarray
        of a tensor that requires grad outright. Write through t.data (seen), or take a
        writable copy with np.array(t). A released value (memory.py) is refused, as every
        other conversion of it is."""
        if is_released(self._data):
            raise read_released()
        if dtype is None or np.dtype(dtype) == self._data.dtype:
            if copy:
                return self._data.copy()
            view = self._data.view()
            view.setflags(write=False)
            return view
        if copy is False:
            raise ValueError(f"np.asarray(tensor, dtype={dtype}, copy=False): converting the "
                             f"{self._data.dtype} values to {dtype} needs a copy")
        return self._data.astype(dtype)

    def __format__(self, spec):
        """f"{loss:.4f}" formats a one-element tensor's value; without a spec, or with a spec
        of a string (f"{t:>40}"), str(t). A number's spec for more elements is a ShapeError,
        as torch refuses it: format t.tolist() or each element."""
        if spec and self._data.size == 1:
            return format(self._data.item(), spec)
        try:
            return format(str(self), spec)
        except ValueError as exc:
            raise ShapeError(f"format spec {spec!r}: only a one-element tensor formats as a "
                             f"number; this one has shape {self.shape} ({self._data.size} "
                             f"elements): format t.tolist() or each element ({exc})") from None

    def _only_element(self, op):
        if self._data.size != 1:
            raise ShapeError(f"{op}: only a one-element tensor converts to a Python number; "
                             f"this one has shape {self.shape} ({self._data.size} elements)")
        return self._data.item()
