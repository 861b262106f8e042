"""Keeping only the values backward reads, as PyTorch keeps only its saved tensors.

Every node holds its value, but most values inside an RNN step are never read again: the
pre-activation a = W1 x + Wm h + b1 is consumed by tanh, whose vjp reads tanh's own output,
not a. The ops table says which values each vjp reads (`Primitive.reads`), so at the end of a
step the unroll loop can release every value created in the step that no vjp reads and that
the step does not hand on (its output and carry). Full BPTT then stores what hand-written
BPTT stores: h[t] and y[t].

A released value is replaced by `ReleasedValue`: same shape and dtype, NaN, read-only, no
storage. The graph keeps every node, so it still draws; the visualizer shows no value summary
for such nodes (`tensor.value_released`).

    >>> with collecting() as created:
    ...     h = (x @ W.T + b).tanh()
    >>> release_unread(created, keep=[h])     # frees x @ W.T and the sum, keeps h
"""
import numpy as np

from .context import recording
from .errors import BackwardError


class ReleasedValue(np.ndarray):
    """Stands in for a value released to save memory: NaN, read-only, zero-strided. Computing
    with it (a later step reading a node a cell kept from an earlier one) or converting it is a
    BackwardError, not NaN: numpy hands every ufunc and array function on it to the methods
    below, and its own dot, indexing, item and tolist refuse too. Numpy would copy it, or take
    it as another array's operand (W.dot(released)), without asking it; the engine's own
    copies ask `is_released` first (tensor.make_tensor, arguments.as_array), and its products
    take ndarray.dot only for a plain ndarray operand, np.matmul (which asks it) otherwise.
    Its shape, dtype and nbytes stay readable, and `.data` shows the NaN."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise read_released()

    def __array_function__(self, func, types, args, kwargs):
        raise read_released()

    def dot(self, *args, **kwargs):
        raise read_released()

    def __getitem__(self, index):
        raise read_released()

    def item(self, *args):
        raise read_released()

    def tolist(self):
        raise read_released()


def is_released(array):
    """Whether `array` is a released value or a view of one (t.data of a released t)."""
    while isinstance(array, np.ndarray):
        if isinstance(array, ReleasedValue):
            return True
        array = array.base
    return False


def read_released():
    """The error for a computation or conversion that reads a released value."""
    return BackwardError("an operand is a value that was released to save memory (no vjp reads "
                         "it, so an unroll frees it at the end of its step); a cell that uses a "
                         "node of an earlier step must hand it on in its carry (or release "
                         "nothing: see memory.py)")


_PLACEHOLDERS = {}


def released(array):
    """A ReleasedValue with the shape and dtype of `array` (and no storage of its own).
    Read-only, so one placeholder per shape and dtype serves every released node."""
    key = (array.shape, array.dtype)
    placeholder = _PLACEHOLDERS.get(key)
    if placeholder is None:
        nan = np.array(np.nan, dtype=array.dtype)
        nan.setflags(write=False)          # no view of a placeholder can be made writable
        placeholder = _PLACEHOLDERS[key] = np.broadcast_to(nan, array.shape).view(ReleasedValue)
    return placeholder


class collecting:
    """Collect every node recorded inside into a list (nested collections each get theirs,
    and the enclosing one gets them too). A class, not a generator: it runs once per step."""

    __slots__ = ("created", "previous")

    def __enter__(self):
        self.previous = recording.created
        self.created = []
        recording.watch(recording.anomaly, self.created)
        return self.created

    def __exit__(self, *exc):
        recording.watch(recording.anomaly, self.previous)
        if self.previous is not None:
            self.previous.extend(self.created)


def release_unread(created, keep=()):
    """Release the values of the nodes in `created` that no vjp reads, except those in `keep`
    (and those whose gradient is retained). Returns how many bytes that frees."""
    read = set(map(id, keep))
    for node in created:
        prim = node.primitive
        if prim is None:
            continue
        if prim.reads_output:
            read.add(id(node))
        for position, parent in enumerate(node.parents):
            if prim.reads_input(position):
                read.add(id(parent))
    freed = 0
    for node in created:       # (no vjp reads these: unlike release_value(), no write stamp)
        if (node.primitive is not None and id(node) not in read and not node.retains_grad
                and not node.value_released):
            freed += node._data.nbytes
            node._data = released(node._data)
    return freed
