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

How writes are seen is tracked.py's: `.data` hands out a view that stamps its tensor
when something writes through it, and `x.data = v` is a write too. Memory outside the
engine's sight (a numpy array a constant wraps without a copy: an operand, an input
sequence) gets a fingerprint instead, a checksum of its bytes that backward compares.
"""
import zlib

import numpy as np

from .context import recording
from .errors import BackwardError, where_in_time


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
    (recording.writes): its memory was written, or it was given other memory."""
    return last_write(tensor) > clock


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


def same_memory(a, b):
    """Whether two arrays are the same view of the same memory."""
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
