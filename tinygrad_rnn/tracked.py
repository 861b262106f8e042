"""The view `Tensor.data` hands out, which stamps its tensor for every write through it, and
`x.data = v`, a write too (the stamps and the checks are inplace.py's).

How writes are seen: `Tensor.data` (and `.numpy()`) hands out a `TrackedArray`, a view of the
value that stamps its tensor when something writes through it: item assignment, in-place
operators and ufuncs with out=, `.flat`, `np.copyto`/`np.put`/..., and the writing methods
(fill, sort, ...). Rebinding (`x.data = other`) is a write too, and so is every update the
engine makes itself (optimizers, load_state_dict). A write the view cannot see is refused
rather than missed: the view is marked read-only for numpy (its own writes are let through and
stamped), so a plain array made from it (`np.asarray(x.data)`, `.view(np.ndarray)`, a
memoryview) refuses writes with numpy's "assignment destination is read-only", and so does
`np.asarray(t)`, a read-only view too (as PyTorch refuses np.asarray of a tensor that requires
grad). `x.data.flags.writeable` still says whether the memory itself can be written. (One numpy
function ignores the read-only mark, `ufunc.at`: np.add.at(np.asarray(t), ...) writes unseen,
where np.add.at(t.data, ...) is seen.) Values never leave a graph's reach unseen the other way
either: `x.data = array` takes a copy of a numpy array, `x.data = y` (or `y.data`) shares y's
memory and its stamps (memory outside the engine's sight gets a fingerprint: inplace.py).
Writing when no graph
waits on the value (backward, step, zero_grad, forward) costs one stamp and raises nothing.
"""
import numpy as np

from .arguments import as_array
from .errors import DTypeError
from .inplace import memory_owner, same_memory, stamp, stamp_own

# numpy functions that write into their first argument, and that argument's keyword name
_WRITES_FIRST_ARGUMENT = {np.copyto: "dst", np.put: "a", np.place: "arr", np.putmask: "a",
                          np.fill_diagonal: "a", np.put_along_axis: "arr"}
_flags_of = np.ndarray.flags.__get__        # numpy's own flags of an array (TrackedArray's differ)
_flat_of = np.ndarray.flat.__get__


def rebind(tensor, value):
    """`tensor.data = value`: the tensor holds `value` from now on, a write of the tensor.

    A view of another tensor's memory (`y.data`, a Tensor turned into one by the setter) is
    shared, as in PyTorch, and its writes stay seen: the tensor becomes a view of y's memory. A
    numpy array (or number, or list) is copied, so no array outside the engine's sight shares
    its memory. An in-place operator (x.data -= v) rebinds the tracked view it wrote through:
    the memory is the same, the write already stamped."""
    if isinstance(value, TrackedArray) and value._tensor is tensor and same_memory(
            value, tensor._data):
        return
    owner, array = tensor, None
    if isinstance(value, TrackedArray) and value._owner is not None:
        array = np.ndarray.view(value, np.ndarray)
        try:
            array.setflags(write=True)        # writable when the memory is
            owner = value._owner
        except ValueError:
            array = None                      # read-only memory (a released value): a copy
    if array is None or array.dtype.kind not in "fb":
        array = as_array(value)               # a copy; numbers become floats, as in Tensor(...)
        owner = tensor
    if tensor._requires_grad and array.dtype.kind != "f":   # its gradient would be a bool mask
        raise DTypeError(f"x.data = v: this tensor requires grad, so it must hold floating "
                         f"data; v holds {array.dtype}. Set requires_grad = False first, or "
                         f"give floats")
    tensor._data = array
    tensor._memory = None if owner is tensor else owner
    stamp_own(tensor)


class TrackedArray(np.ndarray):
    """A view of a tensor's value that stamps the tensor when something writes through it.

    What `Tensor.data` returns: an ndarray for every purpose (its results are plain arrays),
    which remembers whose memory it shows. It is marked read-only for numpy, and lets its own
    writes through (see the module docstring): a plain array made from it cannot write unseen.
    """

    _tensor = None      # the tensor it was taken from
    _owner = None       # the tensor owning the memory it shows (memory_owner when taken)

    @classmethod
    def of(cls, tensor):
        view = tensor._data.view(cls)
        view._tensor, view._owner = tensor, memory_owner(tensor)
        view.setflags(write=False)
        return view

    def __array_finalize__(self, source):
        # a view of a tracked view (x.data[0], x.data.T) shows the same tensor's memory; a copy
        # (x.data.copy(), x.data.astype(...)) is nobody's
        if self.base is not None:
            self._tensor = getattr(source, "_tensor", None)
            self._owner = getattr(source, "_owner", None)

    @property
    def flags(self):
        """numpy's flags, with `writeable` saying whether a write through this view goes
        through (whether the memory can be written), not the read-only mark for numpy."""
        plain = np.ndarray.view(self, np.ndarray)
        if self._owner is not None and _writable(self):
            plain.setflags(write=True)
        return plain.flags

    @property
    def flat(self):
        """numpy's flat iterator, whose writes are stamped."""
        return TrackedFlat(self)

    @flat.setter
    def flat(self, value):
        with _writing(self):
            _flat_of(self)[...] = value

    def __reduce__(self):
        return self.view(np.ndarray).__reduce__()     # pickles as the plain array it shows

    def __setitem__(self, index, value):
        with _writing(self):
            super().__setitem__(index, value)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        written = list(out or ()) + ([inputs[0]] if method == "at" else [])  # x.data += v,
        with _writing(*written):                          # np.exp(a, out=x.data), np.add.at
            if out is not None:
                kwargs["out"] = tuple(map(_plain, out))
            result = getattr(ufunc, method)(*map(_plain, inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result

    def __array_function__(self, func, types, args, kwargs):
        written = _outputs(kwargs.get("out"))
        first = _WRITES_FIRST_ARGUMENT.get(func)
        if first is not None:
            written.append(args[0] if args else kwargs.get(first))
        with _writing(*written):
            return super().__array_function__(func, types, args, kwargs)

    def fill(self, value):
        with _writing(self):
            super().fill(value)

    def sort(self, *args, **kwargs):
        with _writing(self):
            super().sort(*args, **kwargs)

    def partition(self, *args, **kwargs):
        with _writing(self):
            super().partition(*args, **kwargs)

    def put(self, *args, **kwargs):
        with _writing(self):
            super().put(*args, **kwargs)

    def setfield(self, *args, **kwargs):
        with _writing(self):
            super().setfield(*args, **kwargs)

    def byteswap(self, inplace=False):
        with _writing(*([self] if inplace else [])):
            return super().byteswap(inplace)


class TrackedFlat:
    """`x.data.flat`: numpy's flat iterator over a tracked view; a write through it is stamped."""

    __slots__ = ("base",)

    def __init__(self, base):
        self.base = base

    def __getitem__(self, index):
        return _flat_of(self.base)[index]

    def __setitem__(self, index, value):
        with _writing(self.base):
            _flat_of(self.base)[index] = value

    def __iter__(self):
        return iter(_flat_of(self.base))

    def __len__(self):
        return self.base.size

    def __array__(self, dtype=None, copy=None):
        return np.array(_flat_of(self.base), dtype=dtype)

    def copy(self):
        return _flat_of(self.base).copy()


def _writable(array):
    """Whether the memory a tracked view shows may be written: its tensor's value is writable
    (a released value, a read-only constant is not) and numpy would let the view write."""
    if not array._tensor._data.flags.writeable:
        return False
    try:
        np.ndarray.view(array, np.ndarray).setflags(write=True)
    except ValueError:
        return False
    return True


def _outputs(out):
    """The arrays an out= argument names (one array or a tuple of them), as a list."""
    if out is None:
        return []
    return list(out) if isinstance(out, tuple) else [out]


class _writing:
    """Let numpy write into the tracked arrays among `arrays` (each is marked read-only for
    numpy otherwise), and stamp their tensors once the write is done (or has failed half-way).
    An array numpy refuses to write (read-only memory) stays refused and is not stamped."""

    __slots__ = ("arrays", "opened")

    def __init__(self, *arrays):
        self.arrays = [a for a in arrays if isinstance(a, TrackedArray) and a._owner is not None]

    def __enter__(self):
        self.opened = []
        for array in self.arrays:
            if not _flags_of(array).writeable and _writable(array):
                array.setflags(write=True)
                self.opened.append(array)
        return self

    def __exit__(self, *exc):
        for array in self.arrays:
            if _flags_of(array).writeable:
                stamp(array._owner)
        for array in self.opened:
            array.setflags(write=False)


def _plain(array):
    return array.view(np.ndarray) if isinstance(array, TrackedArray) else array
