"""Finite-difference gradient checking in float64, with a report that says what disagrees.

    >>> w = Tensor(np.random.randn(3, 2), requires_grad=True, name="W1")
    >>> report = gradcheck(lambda: (w.tanh() ** 2).sum(), [w])
    >>> bool(report), report.worst.name
    (True, 'W1')
    >>> print(report)          # a table: input, worst index, analytic, numeric, errors

The analytic gradient comes from backward(); the numeric one from central differences
(f(x + eps) - f(x - eps)) / (2 eps), one element at a time (mode="elements") or along k
random directions spanning every input at once (mode="random": 2k evaluations whatever the
number of parameters). An element passes when |analytic - numeric| <= atol + rtol |numeric|,
as in torch.autograd.gradcheck.

With per_step=True, fn returns the vector of loss terms R[1..T] (shape (T,)); each term's
gradient is checked on its own, and the report names the first time step that disagrees.
"""
import inspect
import warnings
from dataclasses import dataclass

import numpy as np

from .context import no_grad
from .errors import DTypeError, SettingError, ShapeError
from .tensor import Tensor


class GradcheckWarning(UserWarning):
    """float32 inputs: checked in float64 copies, because float32 differences are noise."""


@dataclass
class InputCheck:
    """How one input's gradient compares: its worst element, and how many elements fail."""
    name: str
    shape: tuple
    passed: bool
    checked: int          # elements (or directions) compared
    failed: int
    index: tuple          # the worst element's index (for random mode: (direction,))
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float      # |analytic - numeric| / max(|analytic|, |numeric|)
    step: int = None      # per_step: the first time step t (1-based) where this input fails


@dataclass
class GradcheckReport:
    """Truthy only if every input passes. `worst` is the input furthest past the tolerance."""
    inputs: list
    mode: str
    eps: float
    atol: float
    rtol: float
    steps: int = None

    def __bool__(self):
        return all(check.passed for check in self.inputs)

    @property
    def worst(self):
        return max(self.inputs,
                   key=lambda c: c.abs_error / (self.atol + self.rtol * abs(c.numeric)))

    @property
    def failures(self):
        return [check for check in self.inputs if not check.passed]

    @property
    def first_failing_step(self):
        steps = [check.step for check in self.failures if check.step is not None]
        return min(steps) if steps else None

    def __str__(self):
        verdict = ("passed" if self
                   else f"FAILED ({len(self.failures)} of {len(self.inputs)} inputs disagree)")
        where = (f", first disagreement at t={self.first_failing_step}"
                 if self.first_failing_step else "")
        lines = [f"gradcheck {verdict}{where}: mode={self.mode}, eps={self.eps:g}, "
                 f"atol={self.atol:g}, rtol={self.rtol:g}, float64"]
        header = ["input", "shape", "worst index", "analytic", "numeric", "abs err", "rel err",
                  "failed"]
        if self.steps:
            header.insert(3, "t")
        rows = [header]
        for c in self.inputs:
            row = [c.name, str(c.shape), str(c.index), f"{c.analytic:.6g}", f"{c.numeric:.6g}",
                   f"{c.abs_error:.2e}", f"{c.rel_error:.2e}", f"{c.failed}/{c.checked}"]
            if self.steps:
                row.insert(3, "-" if c.step is None else str(c.step))
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, mode="elements", seed=0,
              directions=10, per_step=False):
    """Compare backward()'s gradient of fn(*inputs) with central differences; see module doc.

    Each input's .data is perturbed in place and restored exactly; every .grad in the graph is
    left as it was found. fn may ignore its arguments and close over the tensors instead.
    """
    inputs = list(inputs)
    _validate(inputs, mode)
    originals = [x.data for x in inputs]
    saved = [(x.requires_grad, x.grad) for x in inputs]
    if any(a.dtype != np.float64 for a in originals):
        warnings.warn("gradcheck: float32 inputs are checked in float64 copies (finite "
                      "differences in float32 are dominated by rounding)", GradcheckWarning,
                      stacklevel=2)
    try:
        for x in inputs:
            x.data = x.data.astype(np.float64, order="C")   # a private copy to perturb (C order:
            # _elementwise writes through reshape(-1), which must be a view)
            x.requires_grad = True
        analytic = _analytic(fn, inputs, per_step)
        numeric_of = _directional if mode == "random" else _elementwise
        return numeric_of(fn, inputs, analytic, eps, atol, rtol, seed, directions, per_step)
    finally:
        for x, data, (requires_grad, grad) in zip(inputs, originals, saved):
            x.data, x.requires_grad, x.grad = data, requires_grad, grad


def _validate(inputs, mode):
    if mode not in ("elements", "random"):
        raise SettingError(f"gradcheck: mode must be 'elements' or 'random', got {mode!r}")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise DTypeError(f"gradcheck: input {i} is a {type(x).__name__}, not a Tensor")
        if not x.is_leaf:
            raise ShapeError(f"gradcheck: input {i} ({x.op!r} of shape {x.shape}) is not a leaf; "
                             f"check the leaves it is computed from")


def _takes_arguments(fn):
    """False for a closure like `lambda: loss()` that takes no arguments at all."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
               for p in parameters)


def _evaluate(fn, inputs, per_step):
    out = fn(*inputs) if _takes_arguments(fn) else fn()
    if not isinstance(out, Tensor):
        raise DTypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if per_step and out.ndim != 1:
        raise ShapeError(f"gradcheck(per_step=True): fn must return the loss terms as shape (T,), "
                         f"got {out.shape}")
    if not per_step and out.size != 1:
        raise ShapeError(f"gradcheck: fn must return a scalar, got shape {out.shape} "
                         f"(pass per_step=True for a vector of loss terms)")
    return out


def _leaves(root):
    """Every leaf that requires grad under root (iteratively: graphs may be deep)."""
    leaves, seen, stack = [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        if node.is_leaf and node.requires_grad:
            leaves.append(node)
        for parent in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return leaves


def _analytic(fn, inputs, per_step):
    """backward()'s gradient for each input: a list of arrays (per_step: shape (T, *x.shape))."""
    out = _evaluate(fn, inputs, per_step)
    others = [leaf for leaf in _leaves(out) if not any(leaf is x for x in inputs)]
    kept = [leaf.grad for leaf in others]
    try:
        terms = range(out.shape[0]) if per_step else [None]
        grads = [[] for _ in inputs]
        for t in terms:
            for x in inputs:
                x.grad = None
            seed = None if t is None else np.eye(out.shape[0])[t]
            if out.requires_grad:     # every path cut: the analytic gradient is zero
                out.backward(seed, retain_graph=per_step)
            for g, x in zip(grads, inputs):
                g.append(np.zeros(x.shape) if x.grad is None else x.grad.astype(np.float64))
        return [np.stack(g) if per_step else g[0] for g in grads]
    finally:
        for leaf, grad in zip(others, kept):
            leaf.grad = grad


def _value(fn, inputs, per_step):
    with no_grad():
        return np.asarray(_evaluate(fn, inputs, per_step).data, dtype=np.float64).reshape(-1)


def _elementwise(fn, inputs, analytic, eps, atol, rtol, seed, directions, per_step):
    checks = []
    for i, x in enumerate(inputs):
        flat = x.data.reshape(-1)          # a view: writes reach x.data
        numeric = np.empty((analytic[i].shape[0], x.data.size) if per_step else (x.data.size,))
        for j in range(x.data.size):
            original = flat[j]
            flat[j] = original + eps
            plus = _value(fn, inputs, per_step)
            flat[j] = original - eps
            minus = _value(fn, inputs, per_step)
            flat[j] = original
            numeric[..., j] = ((plus - minus) / (2 * eps) if per_step
                               else ((plus - minus) / (2 * eps))[0])
        name = x.name or f"input[{i}]"
        found = analytic[i].reshape(numeric.shape)
        checks.append(_compare(name, x.shape, found, numeric, atol, rtol, per_step))
    return GradcheckReport(checks, "elements", eps, atol, rtol,
                           analytic[0].shape[0] if per_step else None)


def _directional(fn, inputs, analytic, eps, atol, rtol, seed, directions, per_step):
    rng = np.random.default_rng(seed)
    originals = [x.data.copy() for x in inputs]
    steps = analytic[0].shape[0] if per_step else 1
    found, numeric = np.empty((steps, directions)), np.empty((steps, directions))
    for k in range(directions):
        ds = [rng.standard_normal(x.shape) for x in inputs]
        for sign, store in ((1, "plus"), (-1, "minus")):
            for x, d, base in zip(inputs, ds, originals):
                x.data[...] = base + sign * eps * d
            if store == "plus":
                plus = _value(fn, inputs, per_step)
            else:
                minus = _value(fn, inputs, per_step)
        for x, base in zip(inputs, originals):
            x.data[...] = base
        numeric[:, k] = (plus - minus) / (2 * eps)
        found[:, k] = sum((a.reshape(steps, -1) @ d.reshape(-1)) for a, d in zip(analytic, ds))
    name = "all inputs (random directions)"
    check = _compare(name, (directions,), found if per_step else found[0],
                     numeric if per_step else numeric[0], atol, rtol, per_step)
    return GradcheckReport([check], "random", eps, atol, rtol, steps if per_step else None)


def _compare(name, shape, analytic, numeric, atol, rtol, per_step):
    """Fold analytic vs numeric (per_step: shape (T, n)) into one InputCheck."""
    diff = np.abs(analytic - numeric)
    bad = diff > atol + rtol * np.abs(numeric)
    excess = diff / (atol + rtol * np.abs(numeric))
    worst = np.unravel_index(np.argmax(excess), excess.shape) if excess.size else (0,)
    a, n = (float(analytic[worst]), float(numeric[worst])) if excess.size else (0.0, 0.0)
    scale = max(abs(a), abs(n))
    element = worst[-1] if excess.size else 0
    index = np.unravel_index(element, shape) if len(shape) else ()
    failing_steps = np.nonzero(bad.any(axis=1))[0] if per_step else []
    return InputCheck(
        name=name, shape=tuple(shape), passed=not bad.any(),
        checked=int(bad.shape[-1]) if bad.ndim else 1,
        failed=int(bad.any(axis=0).sum()) if per_step else int(bad.sum()),
        index=tuple(int(i) for i in index), analytic=a, numeric=n, abs_error=abs(a - n),
        rel_error=abs(a - n) / scale if scale else 0.0,
        step=int(failing_steps[0]) + 1 if len(failing_steps) else None)
