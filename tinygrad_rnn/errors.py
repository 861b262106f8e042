"""The project's exception types.

Every error a user can cause is one of these, so `except tinygrad_rnn.TinygradRNNError`
catches them all, while each still subclasses the builtin a Python user expects
(a shape mismatch is a ValueError, non-numeric data a TypeError, a bad index an IndexError).
Messages name the op, the shapes and, inside an unroll, the time step.
"""


class TinygradRNNError(Exception):
    """Base class of every error tinygrad_rnn raises on purpose."""


class ShapeError(TinygradRNNError, ValueError):
    """Operands whose shapes do not fit the op (broadcasting, matmul, reshape, concatenate...)."""


class TensorIndexError(TinygradRNNError, IndexError):
    """An index out of range for the tensor it indexes."""


class DTypeError(TinygradRNNError, TypeError):
    """Data that is not numeric, or an operand of a type the op cannot take."""


class BackwardError(TinygradRNNError, ValueError):
    """backward() asked for something it cannot do: a non-scalar root without a seed,
    a root that records no graph, or a second pass through a graph already consumed."""


class NumericalError(TinygradRNNError, FloatingPointError):
    """Anomaly mode: an op produced NaN or Inf from finite operands."""


class SettingError(TinygradRNNError, ValueError):
    """An argument the function does not take: an unknown truncation spelling or activation,
    a window of 0, a negative learning rate, an empty parameter list."""


class OutOfMemoryError(TinygradRNNError, MemoryError):
    """An op whose result (a huge broadcast, say) does not fit in memory."""


class StateDictError(TinygradRNNError, ValueError):
    """A saved state that cannot be loaded: names or shapes that do not match the model,
    arrays that are not real numbers, a file that is not a .npz archive of named arrays or is
    corrupt or truncated."""


class FileError(TinygradRNNError, OSError):
    """A path that cannot be read or written as asked: missing, a directory, a FIFO or a
    device, no permission, a name too long. Carries the OS error's errno and the path."""

    def __init__(self, message, errno=None, filename=None):
        super().__init__(message)
        self.errno, self.filename = errno, filename

    def __str__(self):
        return self.args[0]


class TinygradRNNWarning(UserWarning):
    """Base class of every warning tinygrad_rnn gives on purpose."""


class CostWarning(TinygradRNNWarning):
    """A setting that costs far more than it may seem to: window(h) runs h forward chains."""


def where_in_time(meta):
    """' at time step t=3' when `meta` records a step, else ''."""
    step = meta.get("step") if meta else None
    return "" if step is None else f" at time step t={step}"


def shapes_of(arrays):
    """'(3, 4) and (5,)': the shapes of an op's operands, for messages."""
    shapes = [str(tuple(getattr(a, "shape", ()))) for a in arrays]
    if len(shapes) <= 1:
        return "".join(shapes)
    return ", ".join(shapes[:-1]) + " and " + shapes[-1]
