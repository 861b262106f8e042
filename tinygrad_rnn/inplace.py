"""Catching in-place edits of values a recorded graph still needs.

Backward reads values saved during forward (x in d(x * x)/dx = 2x). Were one of them written
between forward and backward (`x.data[...] = 10`, `opt.step()`, `load_state_dict()`,
`x.data = new`, an edit of an op's output), the gradient would silently be that of other
numbers. As PyTorch does with version counters, every write is stamped, and backward refuses
a node whose inputs, or whose own value when its vjp reads it, were written after the node
was recorded: a BackwardError naming the tensor, its op, shape and time step.

The stamps: a global count of writes, `recording.writes`; for each piece of memory, the count
at its last write (`_written`, kept on the tensor that owns the memory: a view op's result, a
detached tensor and an unroll's input rows share their source's `_base`); for each node, the
count when it was made (`_born`). A node is intact while every input's `_base._written` is not
past its `_born`. Checking is one comparison per node unless some write happened after it.

How writes are seen: `Tensor.data` hands out a `TrackedArray`, a view of the value that stamps
its tensor when something writes through it: item assignment, in-place operators and ufuncs
with out=, `np.copyto`/`np.put`/..., and the writing methods (fill, sort, ...). Rebinding
(`x.data = other`) is a write too, and so is every update the engine makes itself (optimizers,
load_state_dict). Writes that bypass the view are not seen: through `np.asarray(x.data)` or
`x.data.flat`, through a memoryview, or into the numpy array a constant was made from without
a copy. Writing when no graph waits on the value (backward, step, zero_grad, forward) costs
one stamp and raises nothing.
"""
import numpy as np

from .arguments import as_array
from .context import recording
from .errors import BackwardError, where_in_time

# numpy functions that write into their first argument
_WRITES_FIRST_ARGUMENT = frozenset({np.copyto, np.put, np.place, np.putmask, np.fill_diagonal,
                                    np.put_along_axis})


def memory_owner(tensor):
    """The tensor whose memory `tensor`'s value shows: itself, or the one it is a view of
    (`_memory`, set only on views)."""
    owner = getattr(tensor, "_memory", None)
    return tensor if owner is None else owner


def last_write(tensor):
    """The write count when `tensor`'s memory was last written (0: never; `_written` is set
    only by a write)."""
    return getattr(memory_owner(tensor), "_written", 0)


def stamp(tensor):
    """Record a write of `tensor`'s memory (it and every view of it)."""
    recording.writes += 1
    memory_owner(tensor)._written = recording.writes


def rebind(tensor, value):
    """`tensor.data = value`: the tensor holds `value` from now on, a write of its memory. An
    in-place operator (x.data -= v) rebinds the tracked view it wrote through: the memory is
    the same, the write already stamped."""
    if isinstance(value, TrackedArray) and value._tensor is tensor and _same_memory(
            value, tensor._data):
        return
    array = value.view(np.ndarray) if isinstance(value, TrackedArray) else np.asarray(value)
    if array.dtype.kind not in "fb":
        array = as_array(array)         # numbers become floats, as in Tensor(...)
    tensor._data = array
    tensor._memory = None              # the new array is its own memory
    stamp(tensor)


def _same_memory(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype)


def check_intact(node):
    """BackwardError unless every value node's vjp may read is as it was when node was made."""
    born = node._born
    for position, parent in enumerate(node._parents):
        if last_write(parent) > born:
            raise _edited(node, parent, f"its input {position}")
    if node._prim.reads_output and last_write(node) > born:
        raise _edited(node, node, "its output")


def _edited(node, tensor, which):
    named = f"{tensor.name!r} " if tensor.name is not None else ""
    made_by = f"the {tensor.op!r} result" if tensor._prim is not None else "the leaf"
    return BackwardError(
        f"backward: {which}, {made_by} {named}of shape {tensor.shape}"
        f"{where_in_time(tensor._meta)}, was modified in place after the {node.op!r} node"
        f"{where_in_time(node._meta)} that needs it was recorded (by x.data[...] = ..., "
        f"an optimizer step, load_state_dict or x.data = ...), so the gradient would be that of "
        f"values the graph never computed. Call backward() before changing it, or run the "
        f"forward pass again after the change.")


class TrackedArray(np.ndarray):
    """A view of a tensor's value that stamps the tensor when something writes through it.

    What `Tensor.data` returns: an ndarray for every purpose (its results are plain arrays),
    which remembers whose memory it shows. See the module docstring for what counts as a write.
    """

    _tensor = None

    @classmethod
    def of(cls, tensor):
        view = tensor._data.view(cls)
        view._tensor = tensor
        return view

    def __array_finalize__(self, source):
        # a view of a tracked view (x.data[0], x.data.T) shows the same tensor's memory; a copy
        # (x.data.copy(), x.data.astype(...)) is nobody's
        self._tensor = getattr(source, "_tensor", None) if self.base is not None else None

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
        written = [args[0]] if func in _WRITES_FIRST_ARGUMENT and args else []
        with _writing(*written, kwargs.get("out")):
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


class _writing:
    """Stamp the tensors of the tracked arrays among `arrays` once the write is done (or has
    failed half-way); an array numpy refuses to write (read-only) is not stamped."""

    __slots__ = ("arrays",)

    def __init__(self, *arrays):
        self.arrays = arrays

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for array in self.arrays:
            if isinstance(array, TrackedArray) and array._tensor is not None \
                    and array.flags.writeable:
                stamp(array._tensor)


def _plain(array):
    return array.view(np.ndarray) if isinstance(array, TrackedArray) else array
