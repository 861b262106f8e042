"""The ops table: each primitive's forward and its vector-Jacobian products, side by side.

A primitive is a numpy function `forward(*inputs, **params) -> out` and, for each input i,
a vjp `vjp_i(g, out, *inputs, **params) -> gradient for input i`, where g is the gradient
of the final scalar with respect to `out`. A vjp of None means no gradient flows along that
edge (the `cut` op): the backward walk does not follow it. Ops whose inputs' gradients come
from one computation give them all from one `vjp_all` instead (stack, concatenate,
checkpoint). Gradients may come back in the broadcast shape; the walk sums them down to the
input's shape with `unbroadcast`, so no entry has to.

`reads` says which values a primitive's vjps read ("out" and/or input positions); it is
documentation a user can query, and lets memory-saving code know which values backward needs.

Every entry is tested against finite differences in tests/test_primitives.py, on its own and
through backward().
"""
import numpy as np


class Primitive:
    """One entry of the table: a name, a numpy forward and the vjps of its inputs."""

    __slots__ = ("name", "forward", "vjps", "reads", "reads_output", "reads_all_inputs",
                 "read_positions", "differentiable", "into", "vjp_all", "passes_through")

    def __init__(self, name, forward, vjps, reads=(), differentiable=True, into=None,
                 vjp_all=None):
        self.name = name
        self.forward = forward
        self.vjps = vjps              # vjps[i](g, out, *inputs, **params) for input i (none
                                      # when vjp_all gives every input's gradient)
        self.reads = reads            # values the vjps read: "out", input positions, or "inputs"
        self.reads_output = "out" in reads
        self.reads_all_inputs = "inputs" in reads
        self.read_positions = tuple(i for i in reads if isinstance(i, int))
        self.differentiable = differentiable    # False for cut: its output never requires grad
        # into(buffer, g, out, x, **params) adds input 0's gradient into buffer in place: a
        # slice x[t] of a (T, ...) tensor then costs O(slice), not a (T, ...) array per step
        self.into = into
        # vjp_all(g, out, *inputs, **params) -> every input's gradient at once, for ops whose
        # inputs share one computation (checkpoint recomputes its inside once) and for
        # variadic ops (stack, concatenate), whose inputs' gradients are views into g
        self.vjp_all = vjp_all
        # every vjp hands g on unchanged (add): backward needs none of the input values
        self.passes_through = bool(vjps) and all(v is SAME for v in vjps)

    def reads_input(self, i):
        """Whether a vjp reads the value of input i ("inputs" in reads: every input)."""
        return self.reads_all_inputs or i in self.read_positions

    def __repr__(self):
        return f"Primitive({self.name!r})"


class _Same:
    """The vjp of an input whose gradient is the output's unchanged (both inputs of add, the
    first of sub): the walk hands g on without a call. Called directly, it is the identity."""

    def __call__(self, g, out, *inputs, **params):
        return g

    def __repr__(self):
        return "SAME"


SAME = _Same()

PRIMITIVES = {}


def defprim(name, forward, *vjps, reads=(), differentiable=True, into=None, vjp_all=None):
    PRIMITIVES[name] = Primitive(name, forward, vjps, reads, differentiable, into, vjp_all)
    return PRIMITIVES[name]


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing numpy broadcasting (leading axes, then size-1 axes)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=0) if extra == 1 else grad.sum(axis=tuple(range(extra)))
    if grad.shape != shape:
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _expand(g, axis, keepdims):
    """Put back the axes a reduction removed, so g broadcasts against its input."""
    return g if keepdims or axis is None else np.expand_dims(g, axis)


def _is_fancy(index):
    """True when `index` holds an integer array, so repeated positions must accumulate."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) and np.asarray(p).dtype.kind in "iu"
               for p in parts)


def _getitem_into(buffer, g, out, x, *, index):
    if _is_fancy(index):
        np.add.at(buffer, index, g)    # x[[0, 0]]: both picks send their gradient to x[0]
    else:
        buffer[index] += g


def _getitem_vjp(g, out, x, *, index):
    grad = np.zeros(x.shape, dtype=g.dtype)
    _getitem_into(grad, g, out, x, index=index)
    return grad


def _matmul(a, b):
    """a @ b. With a 2-D b it is ndarray.dot, the same product without the gufunc machinery
    of np.matmul, which on an RNN's small matrices costs more than the product itself (about
    1 us of 2 for a (1, 32) @ (32, 32) here); dot is BLAS's gemm, as matmul's core is."""
    if b.ndim == 2 and a.ndim >= 1:
        return a.dot(b)
    return np.matmul(a, b)


def _matmul_vjp_a(g, out, a, b):
    if b.ndim == 1:                    # (..., k) @ (k,) -> (...)
        return np.multiply.outer(g, b)
    if a.ndim == 1:                    # (k,) @ (..., k, m) -> (..., m)
        return (b @ g[..., None])[..., 0]
    return _matmul(g, b.swapaxes(-1, -2))


def _matmul_vjp_b(g, out, a, b):
    if a.ndim == 1:                    # (k,) @ (..., k, m) -> (..., m)
        return g * a if b.ndim == 1 else a[:, None] * g[..., None, :]
    if b.ndim == 1:                    # (..., n, k) @ (k,) -> (..., n)
        return (a.swapaxes(-1, -2) @ g[..., None])[..., 0]
    return _matmul(a.swapaxes(-1, -2), g)


def _linear(x, W, b=None):
    if W.ndim != 2 or x.ndim == 0:
        raise ValueError("linear takes x (..., I) and a weight W (O, I)")
    out = x.dot(W.T)           # ndarray.dot, as in _matmul
    if b is None:
        return out
    if b.shape == out.shape[out.ndim - b.ndim:] and b.dtype == out.dtype:
        out += b               # the common case, in place: no second array
        return out
    return out + b


def _linear_vjp_weight(g, out, x, W, b=None):
    if g.ndim == 2 and x.ndim == 2 and len(x) == len(g):   # (B, O), (B, I): the common case
        return g.T.dot(x)
    if x.shape[:-1] != g.shape[:-1]:      # x broadcast against a larger bias
        x = np.broadcast_to(x, g.shape[:-1] + x.shape[-1:])
    return g.reshape(-1, g.shape[-1]).T.dot(x.reshape(-1, x.shape[-1]))


def _squared_error(y, v, reduction):
    error = np.subtract(y, v)          # a fresh contiguous array, so vdot is one pass
    total = np.vdot(error, error)      # a numpy scalar of error's dtype; recording makes it 0-d
    return total / error.size if reduction == "mean" else total


def _mse_slope(y, v, reduction, g):
    """g * d mse / dy = g * 2 (y - v) / n, with the scalar factors folded before the array op."""
    error = np.subtract(y, v)
    error *= (2 / error.size if reduction == "mean" else 2) * float(g)   # g is 0-d
    return error


def _logsumexp(x, *, axis, keepdims):
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)    # all -inf rows stay -inf, not NaN
    out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x, *, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _stack_vjp_all(g, out, *inputs, axis):
    """Input i's gradient is g's i-th slice along the stacked axis: all of them in one call
    (the T loss terms of a sequence are stacked), each a view."""
    return tuple(np.moveaxis(g, axis, 0))


def _concatenate_vjp_all(g, out, *inputs, axis):
    """Each input's gradient is its own stretch of g along the axis, a view."""
    ends = np.cumsum([x.shape[axis] for x in inputs[:-1]])
    return np.split(g, ends, axis=axis)


def _pow_vjp_exponent(g, out, a, b):
    with np.errstate(divide="ignore", invalid="ignore"):   # d(a^b)/db = a^b log a; 0 at a == 0
        return g * out * np.log(np.where(a == 0, 1, a))


# --- elementwise arithmetic: d(a+b) = da + db, d(ab) = b da + a db, d(a/b) = da/b - a db/b^2 ---
defprim("add", np.add, SAME, SAME)
defprim("sub", np.subtract, SAME, lambda g, out, a, b: -g)
defprim("mul", np.multiply, lambda g, out, a, b: g * b, lambda g, out, a, b: g * a, reads=(0, 1))
defprim("div", np.true_divide, lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b,
        reads=("out", 1))
defprim("neg", np.negative, lambda g, out, x: -g)
# d(a^b) = b a^(b-1) da + a^b log(a) db
defprim("pow", np.power, lambda g, out, a, b: g * b * a ** (b - 1), _pow_vjp_exponent,
        reads=("out", 0, 1))
defprim("maximum", np.maximum,    # ties split the gradient evenly between the two operands
        lambda g, out, a, b: g * (a > b) + 0.5 * g * (a == b),
        lambda g, out, a, b: g * (b > a) + 0.5 * g * (a == b), reads=(0, 1))
defprim("where", lambda a, b, *, condition: np.where(condition, a, b),
        lambda g, out, a, b, *, condition: g * condition,
        lambda g, out, a, b, *, condition: g * ~condition)

# --- elementwise functions: d exp x = exp x, d log x = 1/x, d tanh x = 1 - tanh^2 x, ... ---
defprim("exp", np.exp, lambda g, out, x: g * out, reads=("out",))
defprim("log", np.log, lambda g, out, x: g / x, reads=(0,))
defprim("tanh", np.tanh, lambda g, out, x: g * (1 - out * out), reads=("out",))
defprim("sigmoid", lambda x: 0.5 * (np.tanh(0.5 * x) + 1),        # tanh form: no overflow
        lambda g, out, x: g * out * (1 - out), reads=("out",))
defprim("relu", lambda x: np.maximum(x, 0), lambda g, out, x: g * (x > 0), reads=(0,))
defprim("sqrt", np.sqrt, lambda g, out, x: g / (2 * out), reads=("out",))
defprim("abs", np.abs, lambda g, out, x: g * np.sign(x), reads=(0,))
# softplus(x) = log(1 + e^x), d softplus = sigmoid: the stable core of binary cross-entropy
defprim("softplus", lambda x: np.logaddexp(0, x),
        lambda g, out, x: g * (0.5 * (np.tanh(0.5 * x) + 1)), reads=(0,))

# --- linear algebra ---
defprim("matmul", _matmul, _matmul_vjp_a, _matmul_vjp_b, reads=(0, 1))
# linear(x, W, b) = x @ W.T + b, PyTorch's F.linear: one node (and one array) for a whole layer.
# The bias may be (O,) or a full (..., O) tensor, e.g. the input projection of an RNN step.
defprim("linear", _linear, lambda g, out, x, W, b=None: g.dot(W), _linear_vjp_weight,
        SAME, reads=(0, 1))
# mse(y, v) = mean (or sum) of (y - v)^2 in one node: d/dy = 2 (y - v) / n
defprim("mse", lambda y, v, *, reduction: _squared_error(y, v, reduction),
        lambda g, out, y, v, *, reduction: _mse_slope(y, v, reduction, g),
        lambda g, out, y, v, *, reduction: _mse_slope(y, v, reduction, -g), reads=(0, 1))

# --- reductions: the gradient of a sum broadcasts back; of a max goes to the maxima ---
defprim("sum", lambda x, *, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
        lambda g, out, x, *, axis, keepdims: np.broadcast_to(_expand(g, axis, keepdims), x.shape))
defprim("mean", lambda x, *, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
        lambda g, out, x, *, axis, keepdims:
            np.broadcast_to(_expand(g, axis, keepdims), x.shape) * (out.size / x.size))
defprim("max", lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
        lambda g, out, x, *, axis, keepdims: _max_vjp(g, out, x, axis, keepdims), reads=("out", 0))


def _max_vjp(g, out, x, axis, keepdims):
    winners = x == _expand(out, axis, keepdims)      # ties share the gradient evenly
    return _expand(g, axis, keepdims) * winners / winners.sum(axis=axis, keepdims=True)


# log-sum-exp, softmax and log-softmax along one axis, computed stably (max subtracted)
defprim("logsumexp", _logsumexp,
        lambda g, out, x, *, axis, keepdims:
            _expand(g, axis, keepdims) * np.exp(x - _expand(out, axis, keepdims)), reads=("out", 0))
defprim("softmax", _softmax,   # d softmax: s * (g - <g, s>)
        lambda g, out, x, *, axis: out * (g - np.sum(g * out, axis=axis, keepdims=True)),
        reads=("out",))
defprim("log_softmax", lambda x, *, axis: x - _logsumexp(x, axis=axis, keepdims=True),
        lambda g, out, x, *, axis: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),
        reads=("out",))

# --- shape: gradients are moved back, never changed ---
defprim("reshape", lambda x, *, shape: np.reshape(x, shape),
        lambda g, out, x, *, shape: np.reshape(g, x.shape))
defprim("transpose", lambda x, *, axes: np.transpose(x, axes),
        lambda g, out, x, *, axes: np.transpose(g, np.argsort(np.asarray(axes) % x.ndim)))
defprim("getitem", lambda x, *, index: x[index], _getitem_vjp, into=_getitem_into)
defprim("stack", lambda *xs, axis: np.stack(xs, axis=axis), vjp_all=_stack_vjp_all)
defprim("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
        vjp_all=_concatenate_vjp_all)

# --- truncation: identity forward, no gradient; the node stays in the graph to be drawn ---
defprim("cut", lambda x: x, None, differentiable=False)
