"""The ops table: each primitive's forward and its vector-Jacobian product, side by side.

A primitive is a numpy function `forward(*inputs, **params) -> out` and one vjp,

    vjp(g, out, parents, params) -> (gradient of input 0, gradient of input 1, ...)

(each gradient an array, or for getitem a `Scatter` and for linear's weight a `Product`: see
below)

where g is the gradient of the final scalar with respect to `out`, `parents` are the input
tensors (their values in `_data`) and `params` the node's non-tensor arguments (a dict, or
None when it has none): an entry is None where no gradient flows, and always for an input
that does not require grad (a constant needs no gradient). A gradient may come back in
the broadcast shape: the walk sums it down to the input's shape with `unbroadcast`, so no
entry has to. getitem's gradient is a `Scatter` (g at x[index], the zeros not written out),
which the walk adds into x's sum in place; linear's weight gradient is a `Product` (g^T x, not
multiplied out), which the walk multiplies out for a block of steps at once. np.asarray()
writes either out as the plain array.

A row writes its vjp in one of two shapes (as HIPS autograd's defvjp and defvjp_argnum):
- one rule per input, `rule_i(g, out, *inputs, **params)`; the table builds the tuple,
  calling only the wanted rules (the gradient of x in `x @ W` is a matmul a constant x does
  not need);
- or, for ops whose inputs share one computation or vary in number (stack, concatenate,
  checkpoint), one function `vjp_all(g, out, *inputs, **params)` returning the whole tuple.

The fast paths of this table (benchmarks/NOTES.md lists each with its measurement): a rule
that is `passes` (the input's gradient is g itself: both inputs of add, the first of sub) is
never called, the table hands g on, so a chain of additions costs the walk no call per node;
2-D products go through `ndarray.dot` (`_matmul`); getitem's gradient stays a `Scatter`;
linear's weight gradient stays a `Product` (both in shares.py).

`reads` says which values a vjp reads ("out" and/or input positions): documentation a user can
query, and what memory release (memory.py) and the in-place check (inplace.py) rely on. `view`
marks ops whose output may share the input's memory (reshape, transpose, slicing, cut).

Every entry is tested against finite differences in tests/test_primitives.py, on its own and
through backward().
"""
import inspect

import numpy as np

from . import gates
from .errors import ShapeError
from .shares import Product, Scatter


class Primitive:
    """One entry of the table: a name, a numpy forward and the vjp of all its inputs."""

    __slots__ = ("name", "forward", "vjp", "reads", "view", "differentiable", "ufunc_inputs")

    def __init__(self, name, forward, vjp, reads=(), view=False):
        self.name = name
        self.forward = forward
        # a numpy ufunc forward takes an input more as the array to write into (np.add(a, b,
        # c) overwrites c), and out= or where= as keywords: apply() holds it to its inputs
        self.ufunc_inputs = forward.nin if isinstance(forward, np.ufunc) else None
        self.vjp = vjp                          # vjp(g, out, parents, params) -> tuple
        self.reads = reads                      # values vjp reads: "out", input positions, "inputs"
        self.view = view                        # the output may share input 0's memory
        self.differentiable = vjp is not None   # False for cut: its output never requires grad

    @property
    def reads_output(self):
        return "out" in self.reads

    def reads_input(self, i):
        """Whether the vjp reads the value of input i ("inputs" in reads: every input)."""
        return "inputs" in self.reads or i in self.reads

    def __repr__(self):
        return f"Primitive({self.name!r})"


def passes(g, out, *inputs, **params):
    """The rule of an input whose gradient is the output's gradient unchanged: d(a + b)/da."""
    return g


PRIMITIVES = {}


def defprim(name, forward, *rules, vjp_all=None, reads=(), view=False):
    """Add a row to the table: `rules` (one per input) or `vjp_all` (all at once); none at all
    makes an op no gradient flows through (cut)."""
    if vjp_all is not None:
        vjp = _whole(vjp_all)
    elif rules:
        vjp = _per_input(rules)
    else:
        vjp = None
    PRIMITIVES[name] = Primitive(name, forward, vjp, reads, view)
    return PRIMITIVES[name]


def _per_input(rules):
    """The vjp of a row given as one rule per input: each rule runs only for an input that
    requires grad. A row of three rules may have optional trailing inputs (linear's bias): a
    node with fewer inputs than the row has rules gets the vjp of the first rules (rows of
    one or two rules take all their inputs). Written out for one, two
    and three inputs, with and without params, as plain calls: the rows of the table have at
    most three inputs, and a row with more gets the loop in the last branch."""
    fewer = {count: _first_rules(rules[:count])
             for count in range(_fewest_inputs(rules), len(rules))}
    return _first_rules(rules, fewer)


def _fewest_inputs(rules):
    """How many inputs a node of the row has at least: a rule names the inputs after g and
    out, and those with a default (linear's b=None) may be left out."""
    fewest = len(rules)
    for rule in rules:
        if rule is passes:
            continue
        named = [p for p in inspect.signature(rule).parameters.values()
                 if p.kind is p.POSITIONAL_OR_KEYWORD][2:]
        fewest = min(fewest, sum(p.default is p.empty for p in named))
    return fewest


def _first_rules(rules, fewer=None):
    if len(rules) == 2 and rules[0] is passes and rules[1] is passes:   # add: g, unchanged,
        def vjp(g, out, parents, params):                                # without a call
            a, b = parents
            return (g if a._requires_grad else None, g if b._requires_grad else None)
    elif len(rules) == 1:
        (rule,) = rules

        def vjp(g, out, parents, params):
            (x,) = parents
            if not x._requires_grad:
                return (None,)
            return (rule(g, out, x._data, **params) if params else rule(g, out, x._data),)
    elif len(rules) == 2:
        first, second = rules

        def vjp(g, out, parents, params):
            a, b = parents
            u, v = a._data, b._data
            if params:
                return (first(g, out, u, v, **params) if a._requires_grad else None,
                        second(g, out, u, v, **params) if b._requires_grad else None)
            return (first(g, out, u, v) if a._requires_grad else None,
                    second(g, out, u, v) if b._requires_grad else None)
    elif len(rules) == 3:
        first, second, third = rules

        def vjp(g, out, parents, params):
            if len(parents) != 3:           # linear(x, W) without its bias
                return fewer[len(parents)](g, out, parents, params)
            a, b, c = parents
            u, v, w = a._data, b._data, c._data
            if params:
                return (first(g, out, u, v, w, **params) if a._requires_grad else None,
                        second(g, out, u, v, w, **params) if b._requires_grad else None,
                        third(g, out, u, v, w, **params) if c._requires_grad else None)
            return (first(g, out, u, v, w) if a._requires_grad else None,
                    second(g, out, u, v, w) if b._requires_grad else None,
                    third(g, out, u, v, w) if c._requires_grad else None)
    else:
        def vjp(g, out, parents, params):
            values, params = [p._data for p in parents], params or {}
            return [rule(g, out, *values, **params) if p._requires_grad else None
                    for rule, p in zip(rules, parents)]
    return vjp


def _whole(vjp_all):
    """The vjp of a row given as one function of all inputs; the gradients it computes for
    inputs that do not require grad are dropped (None), as a rule per input never makes them."""
    def vjp(g, out, parents, params):
        shares = vjp_all(g, out, *[p._data for p in parents], **(params or {}))
        return [share if p._requires_grad else None for p, share in zip(parents, shares)]
    return vjp


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing numpy broadcasting (leading axes, then size-1 axes).
    ShapeError when `shape` does not broadcast to grad's shape: a vjp that gave a gradient of
    the wrong shape (a (2, 3) gradient for a (3, 2) input) would otherwise be summed into a
    wrong one."""
    if grad.shape == shape:
        return grad
    given, extra = grad.shape, grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    if extra >= 0 and grad.shape != shape:
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ShapeError(f"backward: a vjp gave a gradient of shape {given} for a value of "
                         f"shape {shape}, which does not broadcast to it; each entry of a "
                         f"vjp's tuple must have its input's shape or one it broadcasts to")
    return grad


def _expand(g, axis, keepdims):
    """Put back the axes a reduction removed, so g broadcasts against its input."""
    return g if keepdims or axis is None else np.expand_dims(g, axis)


def _getitem_vjp(g, out, x, *, index):
    return Scatter(g, index, x.shape)


def _matmul(a, b):
    """a @ b; for a vector or matrix times a matrix it is ndarray.dot, the same BLAS product
    (see benchmarks/NOTES.md). Not for a stack of matrices: ndarray.dot of a (T, B, K) array
    does not call BLAS, and is many times slower than matmul. Nor for a b that is not a plain
    ndarray: a.dot(b) would read a released value's NaN (memory.py) where matmul asks b."""
    if b.ndim == 2 and 1 <= a.ndim <= 2 and b.__class__ is np.ndarray:
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
    """x W^T + b, with b (O,) or a full (..., O) tensor (an RNN step's input projection)."""
    if W.ndim != 2 or x.ndim == 0:
        raise ValueError("linear takes x (..., I) and a weight W (O, I)")
    if x.shape[-1] != W.shape[1]:
        raise ValueError(f"x has {x.shape[-1]} features (its last axis) where W (O, I) takes "
                         f"I = {W.shape[1]}")
    out = _matmul(x, W.T)
    if b is None:
        return out
    if b.shape == out.shape[out.ndim - b.ndim:] and b.dtype == out.dtype:
        out += b               # the product is a fresh array: add the bias into it
        return out
    return out + b


def _linear_vjp_weight(g, out, x, W, b=None):
    """dL/dW = g^T x, summed over every leading (batch, time) axis: a Product."""
    return Product(g, x, W.shape)


def _squared_error(y, v, reduction):
    error = np.subtract(y, v)
    total = np.vdot(error, error)
    return total / error.size if reduction == "mean" else total


def _mse_slope(y, v, reduction, g):
    """g * d mse / dy = g * 2 (y - v) / n (n = 1 for the "sum" reduction); g is 0-d."""
    error = np.subtract(y, v)
    error *= (2 / max(error.size, 1) if reduction == "mean" else 2) * float(g)   # (empty: no entry)
    return error


def _logsumexp(x, *, axis, keepdims):
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)    # all -inf rows stay -inf, not NaN
    out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x, *, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp_vjp(g, out, x, *, axis, keepdims):
    """d logsumexp = softmax(x) = exp(x - out), computed as softmax from x where out is
    finite: exp(x - out) rounds out = max + log sum first, and gave [1, 1, 0] for
    [1e16, 1e16, 1], not [0.5, 0.5, 0]. Where out is inf or -inf, exp(x - out), as torch:
    0 for the finite entries beside an inf, NaN for the inf itself and for an all -inf row."""
    out = _expand(out, axis, keepdims)
    share = _softmax(x, axis=axis)
    infinite = ~np.isfinite(out)
    if infinite.any():                         # (rare: only then is exp(x - out) computed)
        with np.errstate(invalid="ignore"):
            share = np.where(infinite, np.exp(x - out), share)
    return _expand(g, axis, keepdims) * share


def _log_softmax(x, *, axis):
    """(x - max) - log sum exp(x - max), as torch computes it. x - logsumexp(x) rounded the
    large sum max + log sum first, losing the small term: log_softmax([1e308, 1e308, 1]) was
    [0, 0, -inf], not [-log 2, -log 2, -inf]. A row holding +inf is NaN throughout (inf - inf),
    as in torch."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _max_vjp(g, out, x, axis, keepdims):
    """g goes to the entries equal to the max and ties share it evenly (as torch's max() and
    amax); a NaN max comes from the NaN entries, which share it (as torch's max()). A mask
    picks: the other entries get 0, also where g is infinite (torch.amax gives NaN there: 0/0
    for a NaN max, inf * 0 for an infinite g)."""
    peak = _expand(out, axis, keepdims)
    winners = x == peak
    if np.isnan(out).any():
        winners |= np.isnan(x) & np.isnan(peak)
    share = _expand(g, axis, keepdims) / winners.sum(axis=axis, keepdims=True)
    return np.where(winners, share, 0.0)


def _pow_vjp_base(g, out, a, b):
    """d(a^b)/da = b a^(b-1), which is 0 where b == 0 (a^0 is constant), also at a == 0, and
    NaN where a number a has no power a^b (NaN), as in torch: numpy takes a ** 0.5 as sqrt(a),
    NaN at a = -inf, where IEEE pow makes 0.5 (-inf)^(-0.5) a slope of 0. (At a = NaN the
    slope is b NaN^(b-1): 1 for b = 1, as torch's.)"""
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = b * a ** (b - 1)
    undefined = np.isnan(out) & ~np.isnan(a)
    return g * np.where(b == 0, 0.0, np.where(undefined, np.nan, slope))


def _pow_vjp_exponent(g, out, a, b):
    """d(a^b)/db = a^b log a, taken as 0 at a == 0 when b >= 0 (the limit from a > 0 when
    b > 0); for b < 0 it is inf * -inf = -inf at a = 0, as in torch (not NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * out * np.log(np.where((a == 0) & (b >= 0), 1, a))


def _chosen(g, loses, ties):
    """0 where an operand lost, half of g where the two tied, g elsewhere: also where either
    is NaN (the NaN result comes from it), as torch gives g to both there. A mask picks
    rather than multiplies: g * 0 would be NaN where g is infinite (sqrt at 0 downstream),
    and an operand that was not chosen gets 0, as in torch."""
    return np.where(loses, 0.0, np.where(ties, 0.5 * g, g))


def _inside(x, low, high):
    """1 where low <= x <= high (the bounds belong to the inside, as in torch.clamp), else 0."""
    keep = np.ones(x.shape, dtype=bool)
    if low is not None:
        keep &= x >= low
    if high is not None:
        keep &= x <= high
    return keep


def _norm(x, *, p, axis, keepdims):
    """(sum |x|^p)^(1/p) along axis, for 0 < p < inf."""
    if p == 2:
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    return np.sum(np.abs(x) ** p, axis=axis, keepdims=keepdims) ** (1 / p)


def _norm_vjp(g, out, x, *, p, axis, keepdims):
    """d ||x||_p / dx = sign(x) |x|^(p-1) / ||x||^(p-1), which is x / ||x|| for p = 2; 0 where
    x or the norm is 0 (torch's subgradient there: for p < 1, |x|^(p-1) is infinite at 0),
    also under an infinite g. The two powers are taken apart, as torch takes them: the power
    of the ratio |x| / ||x|| was 0 wherever the norm is infinite, where for p < 1 the slope
    is inf, and where a norm that overflowed makes it NaN (p > 2) or inf (p < 1), as torch's."""
    norm = _expand(out, axis, keepdims)
    dtype = np.result_type(x, norm)
    if p == 2:
        shape = np.broadcast_shapes(x.shape, norm.shape)
        slope = np.divide(x, norm, out=np.zeros(shape, dtype=dtype), where=norm != 0)
        return _expand(g, axis, keepdims) * slope
    with np.errstate(divide="ignore", invalid="ignore"):     # (0^(1-p) at a 0 norm, not kept)
        scale = np.where(norm != 0, _expand(g, axis, keepdims) * norm ** (1 - p), 0.0)
    powers = np.power(np.abs(x), p - 1, out=np.zeros(x.shape, dtype=dtype), where=x != 0)
    return np.sign(x) * powers * scale


def _stack_vjp_all(g, out, *inputs, axis):
    """Input i's gradient is g's i-th slice along the stacked axis, a view."""
    return tuple(np.moveaxis(g, axis, 0))


def _concatenate_vjp_all(g, out, *inputs, axis):
    """Each input's gradient is its own stretch of g along the axis, a view."""
    ends = np.cumsum([x.shape[axis] for x in inputs[:-1]])
    return tuple(np.split(g, ends, axis=axis))


# --- elementwise arithmetic: d(a+b) = da + db, d(ab) = b da + a db, d(a/b) = da/b - a db/b^2 ---
defprim("add", np.add, passes, passes)
defprim("sub", np.subtract, passes, lambda g, out, a, b: -g)
defprim("mul", np.multiply, lambda g, out, a, b: g * b, lambda g, out, a, b: g * a, reads=(0, 1))
defprim("div", np.true_divide, lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b,
        reads=("out", 1))
defprim("neg", np.negative, lambda g, out, x: -g)
# d(a^b) = b a^(b-1) da + a^b log(a) db
defprim("pow", np.power, _pow_vjp_base, _pow_vjp_exponent, reads=("out", 0, 1))
# ties split the gradient evenly between the two operands (as torch's); a NaN gives both g
defprim("maximum", np.maximum,
        lambda g, out, a, b: _chosen(g, a < b, a == b),
        lambda g, out, a, b: _chosen(g, b < a, a == b), reads=(0, 1))
defprim("where", lambda a, b, *, condition: np.where(condition, a, b),
        lambda g, out, a, b, *, condition: np.where(condition, g, 0.0),
        lambda g, out, a, b, *, condition: np.where(condition, 0.0, g))

# --- elementwise functions: d exp x = exp x, d log x = 1/x, d tanh x = 1 - tanh^2 x, ... ---
defprim("exp", np.exp, lambda g, out, x: g * out, reads=("out",))
defprim("log", np.log, lambda g, out, x: g / x, reads=(0,))
defprim("tanh", np.tanh, lambda g, out, x: g * (1 - out * out), reads=("out",))
defprim("sigmoid", gates.sigmoid, lambda g, out, x: g * out * (1 - out), reads=("out",))
# d relu = 1 where x > 0, 0 where x <= 0; at x = NaN the gradient passes, as in torch
defprim("relu", lambda x: np.maximum(x, 0), lambda g, out, x: np.where(x <= 0, 0.0, g),
        reads=(0,))
defprim("sqrt", np.sqrt, lambda g, out, x: g / (2 * out), reads=("out",))
# d|x| = sign(x): NaN at x = NaN, which torch's sign makes 0 (the NaN's gradient would vanish)
defprim("abs", np.abs, lambda g, out, x: g * np.sign(x), reads=(0,))
# softplus(x) = log(1 + e^x), d softplus = sigmoid: the stable core of binary cross-entropy
defprim("softplus", lambda x: np.logaddexp(0, x),
        lambda g, out, x: g * gates.sigmoid(x), reads=(0,))
# d sin x = cos x, d cos x = -sin x, d x^2 = 2x
defprim("sin", np.sin, lambda g, out, x: g * np.cos(x), reads=(0,))
defprim("cos", np.cos, lambda g, out, x: -g * np.sin(x), reads=(0,))
defprim("square", np.square, lambda g, out, x: 2 * g * x, reads=(0,))
# clamp(x, low, high) = min(max(x, low), high): d/dx = 1 inside [low, high], 0 outside
defprim("clamp", lambda x, *, low, high: np.clip(x, low, high),
        lambda g, out, x, *, low, high: np.where(_inside(x, low, high), g, 0.0), reads=(0,))

# --- linear algebra ---
defprim("matmul", _matmul, _matmul_vjp_a, _matmul_vjp_b, reads=(0, 1))
# linear(x, W, b) = x W^T + b, PyTorch's F.linear: one node (and one array) for a whole layer
defprim("linear", _linear, lambda g, out, x, W, b=None: _matmul(g, W), _linear_vjp_weight,
        lambda g, out, x, W, b=None: g, reads=(0, 1))
# mse(y, v) = mean (or sum) of (y - v)^2 in one node: d/dy = 2 (y - v) / n = -d/dv
defprim("mse", lambda y, v, *, reduction: _squared_error(y, v, reduction),
        lambda g, out, y, v, *, reduction: _mse_slope(y, v, reduction, g),
        lambda g, out, y, v, *, reduction: _mse_slope(y, v, reduction, -g), reads=(0, 1))

# --- reductions: the gradient of a sum broadcasts back; of a max goes to the maxima ---
defprim("sum", lambda x, *, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
        lambda g, out, x, *, axis, keepdims: np.broadcast_to(_expand(g, axis, keepdims), x.shape))
defprim("mean", lambda x, *, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
        lambda g, out, x, *, axis, keepdims:
            np.broadcast_to(_expand(g, axis, keepdims), x.shape) * (out.size / max(x.size, 1)))
defprim("max", lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
        lambda g, out, x, *, axis, keepdims: _max_vjp(g, out, x, axis, keepdims),
        reads=("out", 0))
defprim("min", lambda x, *, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
        lambda g, out, x, *, axis, keepdims: _max_vjp(g, out, x, axis, keepdims),
        reads=("out", 0))     # as max: the gradient goes to the minima, ties share it
# the p-norm (sum |x|^p)^(1/p) along axis: d/dx = sign(x) |x|^(p-1) / norm^(p-1), x / norm for p = 2
defprim("norm", _norm, _norm_vjp, reads=("out", 0))

# log-sum-exp, softmax and log-softmax along one axis, computed stably (max subtracted)
defprim("logsumexp", _logsumexp, _logsumexp_vjp, reads=("out", 0))
defprim("softmax", _softmax,   # d softmax: s * (g - <g, s>)
        lambda g, out, x, *, axis: out * (g - np.sum(g * out, axis=axis, keepdims=True)),
        reads=("out",))
defprim("log_softmax", _log_softmax,
        lambda g, out, x, *, axis: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),
        reads=("out",))

# --- shape: gradients are moved back, never changed ---
defprim("reshape", lambda x, *, shape: np.reshape(x, shape),
        lambda g, out, x, *, shape: np.reshape(g, x.shape), view=True)
defprim("transpose", lambda x, *, axes: np.transpose(x, axes),
        lambda g, out, x, *, axes: np.transpose(g, np.argsort(np.asarray(axes) % x.ndim)),
        view=True)
defprim("getitem", lambda x, *, index: x[index], _getitem_vjp, view=True)
defprim("stack", lambda *xs, axis: np.stack(xs, axis=axis), vjp_all=_stack_vjp_all)
defprim("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
        vjp_all=_concatenate_vjp_all)

# --- gated cells: each gate computation of an LSTM or GRU step is one node over the gates side
#     by side (gates.py has the math); its vjp writes every gate's gradient at once ---
defprim("lstm_gates", gates.lstm_gates, gates.lstm_gates_vjp, reads=("out",))
defprim("lstm_cell", gates.lstm_cell, gates.lstm_cell_vjp_gates, gates.lstm_cell_vjp_state,
        reads=(0, 1))
defprim("lstm_hidden", gates.lstm_hidden, gates.lstm_hidden_vjp_gates,
        gates.lstm_hidden_vjp_state, reads=(0, 1))
defprim("gru_gates", gates.gru_gates, vjp_all=gates.gru_gates_vjp, reads=("out", 1))
defprim("gru_hidden", gates.gru_hidden, gates.gru_hidden_vjp_gates, gates.gru_hidden_vjp_state,
        reads=(0, 1))

# a copy in another floating dtype (or the same one): the gradient comes back in x's dtype
defprim("astype", lambda x, *, dtype: x.astype(dtype),
        lambda g, out, x, *, dtype: g.astype(x.dtype, copy=False))

# --- truncation: identity forward, no gradient; the node stays in the graph to be drawn ---
defprim("cut", lambda x: x, view=True)

# --- a segment recorded as one node that reruns its inside during backward: the node carries
#     its own forward (`run`) and vjp (`rerun`) as params; checkpoint.py makes them ---
# (rerun reads `out` to check that the recomputation gives the values the forward pass gave)
defprim("checkpoint", lambda *xs, run, rerun: run(*xs),
        vjp_all=lambda g, out, *xs, run, rerun: rerun(g, out, *xs), reads=("inputs", "out"))
