"""Creation functions, as PyTorch spells them, and the module-level random generator.

    tg.manual_seed(0)                           # every draw below is now reproducible ...
    W = tg.randn(4, 3, requires_grad=True)      # N(0, 1), shape (4, 3)
    b = tg.zeros(4, requires_grad=True)
    model = tg.nn.LSTM(3, 8, 2)                 # ... and so is every model made with seed=None

One numpy Generator serves every draw made without an explicit seed or generator: randn and
rand here, the initial weights of models and layers built with seed=None, and Dropout's masks.
manual_seed(s) replaces it with np.random.default_rng(s), so a script that calls it first gives
the same numbers on every run; until then it is seeded from fresh entropy. A model given its own
seed=... never touches it. Values are float64 (float32 with dtype=np.float32): arange(5) holds
0.0 .. 4.0, not integers as torch.arange does (a Tensor holds floating data or a bool mask).
"""
import numpy as np

from .arguments import as_array, grad_flag, tensor_name
from .errors import DTypeError, OutOfMemoryError, SettingError, ShapeError
from .tensor import Tensor, leaf

_state = {"generator": np.random.default_rng()}


def manual_seed(seed):
    """Seed the module-level generator (see the module docstring); returns it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SettingError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _state["generator"] = np.random.default_rng(int(seed))
    return _state["generator"]


def default_generator():
    """The module-level numpy Generator that draws made without a seed use."""
    return _state["generator"]


def _shape(op, shape):
    """zeros(2, 3), zeros((2, 3)) and zeros([2, 3]) all mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ShapeError(f"{op}: a shape is non-negative integers, got {shape!r}")
    return tuple(int(n) for n in shape)


def _dtype(op, dtype):
    try:
        dtype = np.dtype(np.float64 if dtype is None else dtype)
    except TypeError as exc:
        raise DTypeError(f"{op}: dtype={dtype!r} is not a dtype ({exc})") from None
    if dtype.kind != "f":
        raise DTypeError(f"{op}: dtype must be floating (np.float64 or np.float32), got {dtype}")
    return dtype


def _made(op, make, requires_grad, name, dtype):
    """A leaf around the array make() builds; the arguments are checked first, and an array
    too large to build is the project's error naming the op."""
    requires_grad = grad_flag(op, requires_grad, dtype)
    name = tensor_name(op, name)
    try:
        array = make()
    except MemoryError as exc:
        raise OutOfMemoryError(f"{op}: the tensor does not fit in memory ({exc})") from None
    except ValueError as exc:       # numpy: larger than any array can be
        raise ShapeError(f"{op}: the tensor is too large to make ({exc})") from None
    return leaf(array, requires_grad=requires_grad, name=name)


def _generator(op, generator):
    """The numpy Generator to draw from: the one given, or the module-level one."""
    if generator is None:
        return _state["generator"]
    if not isinstance(generator, (np.random.Generator, np.random.RandomState)):
        raise SettingError(f"{op}: generator must be a numpy Generator "
                           f"(np.random.default_rng(seed)) or None, got {generator!r:.60}")
    return generator


def zeros(*shape, dtype=None, requires_grad=False, name=None):
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    shape, dtype = _shape("zeros", shape), _dtype("zeros", dtype)
    return _made("zeros", lambda: np.zeros(shape, dtype), requires_grad, name, dtype)


def ones(*shape, dtype=None, requires_grad=False, name=None):
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    shape, dtype = _shape("ones", shape), _dtype("ones", dtype)
    return _made("ones", lambda: np.ones(shape, dtype), requires_grad, name, dtype)


def zeros_like(x, dtype=None, requires_grad=False, name=None):
    """Zeros of x's shape (a Tensor or an array) and, unless given, its floating dtype."""
    like = x._data if isinstance(x, Tensor) else as_array(x, copy=False)
    return zeros(like.shape, dtype=like.dtype if dtype is None else dtype,
                 requires_grad=requires_grad, name=name)


def ones_like(x, dtype=None, requires_grad=False, name=None):
    """Ones of x's shape and, unless given, its floating dtype."""
    like = x._data if isinstance(x, Tensor) else as_array(x, copy=False)
    return ones(like.shape, dtype=like.dtype if dtype is None else dtype,
                requires_grad=requires_grad, name=name)


def randn(*shape, dtype=None, requires_grad=False, generator=None, name=None):
    """Standard normal draws, from `generator` or the module-level one (manual_seed)."""
    shape, dtype = _shape("randn", shape), _dtype("randn", dtype)
    rng = _generator("randn", generator)
    return _made("randn", lambda: rng.standard_normal(shape).astype(dtype), requires_grad, name,
                 dtype)


def rand(*shape, dtype=None, requires_grad=False, generator=None, name=None):
    """Uniform draws in [0, 1), from `generator` or the module-level one (manual_seed)."""
    shape, dtype = _shape("rand", shape), _dtype("rand", dtype)
    rng = _generator("rand", generator)
    return _made("rand", lambda: rng.random(shape).astype(dtype), requires_grad, name, dtype)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, name=None):
    """start, start + step, ... up to end (excluded); arange(n) is 0 .. n-1, as float64.

    >>> arange(3).tolist()
    [0.0, 1.0, 2.0]
    """
    start, end = (0, start) if end is None else (start, end)
    for what, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
                not np.isfinite(value):
            raise SettingError(f"arange: {what} must be a finite number, got {value!r}")
    if step == 0:
        raise SettingError("arange: step must not be 0")
    dtype = _dtype("arange", dtype)
    return _made("arange", lambda: np.arange(start, end, step, dtype=dtype), requires_grad,
                 name, dtype)
