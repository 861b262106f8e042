"""Catching in-place edits of values a recorded graph still needs.

Backward reads values saved during forward (x in d(x * x)/dx = 2x). Were one of them written
between forward and backward (`x.data[...] = 10`, `opt.step()`, `load_state_dict()`,
`x.data = new`, an edit of an op's output), the gradient would silently be that of other
numbers. As PyTorch does with version counters, every write is stamped, and backward refuses
a node whose inputs, or whose own value when its vjp reads it, were written after the node
was recorded: a BackwardError naming the tensor, its op, shape and time step.

The stamps: a global count of writes, `recording.writes`; for each piece of memory, the count
at its last write (`_written`, kept on the tensor that owns the memory: a view op's result, a
detached tensor and an unroll's input rows name their source in `_memory`); a tensor's own
`_written` also records that it was given other memory (`x.data = new`) or released its value;
for each node, the count when it was made (`_born`). A node is intact while no input was
written after its `_born`. Checking is one comparison per node unless some write happened
after it.

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
memory and its stamps, and a writable numpy array that a constant wraps without a copy (an
operand, an input sequence) gets a fingerprint, a checksum of its bytes that backward compares
once per constant (an array wrapped by two constants is summed twice). Writing when no graph
waits on the value (backward, step, zero_grad, forward) costs one stamp and raises nothing.
"""
import zlib

import numpy as np

from .arguments import as_array
from .context import recording
from .errors import BackwardError, DTypeError, where_in_time

# numpy functions that write into their first argument, and that argument's keyword name
_WRITES_FIRST_ARGUMENT = {np.copyto: "dst", np.put: "a", np.place: "arr", np.putmask: "a",
                          np.fill_diagonal: "a", np.put_along_axis: "arr"}
_flags_of = np.ndarray.flags.__get__        # numpy's own flags of an array (TrackedArray's differ)
_flat_of = np.ndarray.flat.__get__


def memory_owner(tensor):
    """The tensor whose memory `tensor`'s value shows: itself, or the one it is a view of
    (`_memory`, set only on views)."""
    owner = getattr(tensor, "_memory", None)
    return tensor if owner is None else owner


def last_write(tensor):
    """The write count when `tensor`'s value last changed (0: never): the last write of its
    memory, or of the tensor itself (given other memory, released). `_written` is set only by
    a write."""
    own = getattr(tensor, "_written", 0)
    owner = getattr(tensor, "_memory", None)
    return own if owner is None else max(own, getattr(owner, "_written", 0))


def stamp(tensor):
    """Record a write of `tensor`'s memory (it and every view of it)."""
    recording.writes += 1
    memory_owner(tensor)._written = recording.writes


def stamp_own(tensor):
    """Record that `tensor` itself changed value without its memory being written: it was given
    other memory (rebind) or released its value. The stamp is the one its memory's writes use
    (`_written`), so a node that reads a view of its old memory is refused too, although that
    memory still holds its values: an error, never a wrong gradient."""
    recording.writes += 1
    tensor._written = recording.writes


def made_before_write(node, tensor):
    """True when `node` was recorded before `tensor`'s value last changed."""
    return written_since(tensor, node._born)


def written_since(tensor, clock):
    """True when `tensor`'s value changed after the write clock read `clock`
    (recording.writes)."""
    return getattr(memory_owner(tensor), "_written", 0) > clock


def rebind(tensor, value):
    """`tensor.data = value`: the tensor holds `value` from now on, a write of the tensor.

    A view of another tensor's memory (`y.data`, a Tensor turned into one by the setter) is
    shared, as in PyTorch, and its writes stay seen: the tensor becomes a view of y's memory. A
    numpy array (or number, or list) is copied, so no array outside the engine's sight shares
    its memory. An in-place operator (x.data -= v) rebinds the tracked view it wrote through:
    the memory is the same, the write already stamped."""
    if isinstance(value, TrackedArray) and value._tensor is tensor and _same_memory(
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


def lend(tensor):
    """What to give back to `tensor` after a check borrows it (gradcheck perturbs a copy of its
    value in its place): its value, the memory it names, its write stamp, and a checksum of the
    value."""
    return (tensor._data, getattr(tensor, "_memory", None), getattr(tensor, "_written", 0),
            fingerprint(tensor._data))


def give_back(tensor, lent):
    """Put back what lend() saved. The write stamp goes back too while the value's memory holds
    what it held when lent (the borrower wrote only its copy), so a graph recorded before the
    check still runs backward; a write into that memory meanwhile is a write, stamped."""
    value, memory, written, checksum = lent
    tensor._data, tensor._memory = value, memory
    if fingerprint(value) == checksum:
        tensor._written = written
    else:
        stamp_own(tensor)


def may_be_written(array):
    """Whether `array`'s memory may be written: it is writable, or it views (through .base)
    an array or buffer that is. Only memory nothing writable reaches cannot change."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return True
        array = array.base
    return array is not None and not isinstance(array, bytes)   # a bytearray, an mmap


def fingerprint(array):
    """A checksum of an array's values (CRC-32 of its bytes), for memory outside the engine's
    sight: a numpy array a constant wraps without a copy. A view larger than the array it
    views (a broadcast) is checksummed through that array: the same values decide it, and a
    (2000, 2000) broadcast of 2000 numbers would otherwise be written out to be summed."""
    base = array
    while isinstance(base.base, np.ndarray):
        base = base.base
    return zlib.crc32(np.ascontiguousarray(base if base.nbytes < array.nbytes else array))


def check_outside(leaves):
    """BackwardError if a numpy array that constants among `leaves` wrap (or view) was written
    since they were made: its fingerprint differs. Each constant's array is checked once (its
    views share it), before backward walks anything, so the graph can be walked once the
    array holds its values again."""
    checked = set()
    for leaf in leaves:
        owner = memory_owner(leaf)
        expected = getattr(owner, "_fingerprint", None)
        if expected is None or id(owner) in checked:
            continue
        checked.add(id(owner))
        if fingerprint(owner._data) != expected:
            raise BackwardError(
                f"backward: the numpy array of shape {owner.shape} (dtype {owner.dtype}) that the "
                f"graph reads as a constant (an input sequence, a target, an operand) was "
                f"written after the graph was recorded, so the gradient would be that of values "
                f"the graph never computed. Call backward() before reusing the array, or pass a "
                f"copy (np.array(a)).")


def _same_memory(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype)


def check_intact(node):
    """BackwardError unless every value node's vjp may read is as it was when node was made.
    A released input (memory.py) the vjp does not read is no obstacle."""
    born, prim = node._born, node._prim
    for position, parent in enumerate(node._parents):
        if last_write(parent) > born and (prim.reads_input(position)
                                           or not parent.value_released):
            raise _edited(node, parent, f"its input {position}")
    if prim.reads_output and last_write(node) > born:
        raise _edited(node, node, "its output")


def _edited(node, tensor, which):
    named = f"{tensor.name!r} " if tensor.name is not None else ""
    made_by = f"the {tensor.op!r} result" if tensor._prim is not None else "the leaf"
    what = f"{which}, {made_by} {named}of shape {tensor.shape}{where_in_time(tensor._meta)}"
    if tensor.value_released:
        return BackwardError(
            f"backward: {what}, was released (release_value()) after the {node.op!r} node"
            f"{where_in_time(node._meta)} that reads it was recorded; release only values no "
            f"vjp reads (memory.release_unread picks them), or run the forward pass again.")
    return BackwardError(
        f"backward: {what}, was modified in place after the {node.op!r} node"
        f"{where_in_time(node._meta)} that needs it was recorded (by x.data[...] = ..., "
        f"an optimizer step, load_state_dict or x.data = ...), so the gradient would be that of "
        f"values the graph never computed. Call backward() before changing it, or run the "
        f"forward pass again after the change.")


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
                recording.writes += 1
                array._owner._written = recording.writes
        for array in self.opened:
            array.setflags(write=False)


def _plain(array):
    return array.view(np.ndarray) if isinstance(array, TrackedArray) else array
