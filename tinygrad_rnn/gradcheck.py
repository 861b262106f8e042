"""Finite-difference gradient checking in float64, with a report that says what disagrees.

    >>> w = Tensor(np.random.randn(3, 2), requires_grad=True, name="W1")
    >>> report = gradcheck(lambda: (w.tanh() ** 2).sum(), [w])
    >>> bool(report), report.worst.name
    (True, 'W1')
    >>> print(report)          # a table: input, worst index, analytic, numeric, errors

The analytic gradient comes from backward(); the numeric one from central differences
(f(x + eps) - f(x - eps)) / (2 eps), one element at a time (mode="elements") or along k
random directions in each input (mode="random": 2k evaluations per input, whatever its size;
each input is judged on its own row, so a small input's wrong gradient cannot hide in a large
one's directional derivative). The difference quotient divides by the step actually taken,
(x + eps) - (x - eps) in float64, which rounding may make differ from 2 eps. A direction mixes
an input's elements, so mode="random" sees one far smaller than the rest (exp(-12) beside
exp(1)) only through its share of each directional derivative, where a wrong value hides
within rtol; mode="elements" judges every element on its own.

An element passes or fails by the tolerance that gradcheck_report.py explains (torch's,
tightened for small gradients, and never certifying what finite differences cannot
resolve).

With per_step=True, fn returns the vector of loss terms R[1..T] (shape (T,)); each term's
gradient is checked on its own, and the report names the first time step that disagrees.

It cannot be fooled into a pass: NaN or Inf on either side (analytic or numeric) fails the
element, and the report names the input, index and step; fn must give the same value every
time it is called at the same inputs, recording gradients (for backward) or not (for the
differences): a Dropout in training mode does not, nor a fn that branches on
is_grad_enabled(); and a float64 one. eps must be a positive finite number, atol and rtol
finite and >= 0, directions a positive integer; inputs must be distinct floating leaf Tensors
(at least one); fn must return a floating Tensor of the same shape every time.
Whatever happens, fn raising included, every input's .data (the same array, bitwise),
.requires_grad and .grad, and every other leaf's .grad (a parameter a checkpointed fn closes
over among them), are left as they were found.
"""
import inspect
import warnings
from collections.abc import Mapping
from functools import partial

import numpy as np

from . import settings
from .context import no_grad
from .errors import DTypeError, SettingError, ShapeError, TinygradRNNWarning
from .gradcheck_report import (
    RESOLVED,
    ROUNDING,
    GradcheckReport,
    compare,
    largest_gradient,
    tolerance,
)
from .gradcheck_rounding import Watch, magnitudes, rounding_of, stacked_terms
from .graph import topological_order
from .inplace import give_back, lend, made_before_write
from .tensor import Tensor


class GradcheckWarning(TinygradRNNWarning):
    """float32 inputs: checked in float64 copies, because float32 differences are noise."""


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, mode="elements", seed=0,
              directions=10, per_step=False):
    """Compare backward()'s gradient of fn(*inputs) with central differences; see module doc.

    Each input's value is replaced by a float64 copy, which is perturbed; the value itself (and
    its write stamp: a graph recorded before the check still runs backward) is put back, and
    every .grad in the graph is left as it was found. fn may ignore its arguments and close
    over the tensors instead.
    `inputs` is a list of leaf Tensors (or one Tensor), or a mapping name -> Tensor such as
    dict(model.named_parameters()), whose keys name the rows of the report (fn gets the
    tensors in its order); inputs that do not require grad are checked too (requires_grad is
    set for the check and put back).
    """
    inputs, names = _checked_inputs(inputs)
    settings.function("gradcheck", "fn", fn)
    if _takes_arguments(fn):           # fn(*inputs), or fn() closing over them
        settings.function("gradcheck", "fn", fn, call="one per input, or none at all",
                          arguments=len(inputs))
    mode = settings.one_of("gradcheck", "mode", mode, ("elements", "random"))
    eps = settings.positive_float("gradcheck", "eps", eps)
    atol = settings.non_negative_float("gradcheck", "atol", atol)
    rtol = settings.non_negative_float("gradcheck", "rtol", rtol)
    directions = settings.positive_int("gradcheck", "directions", directions)
    seed = settings.seed("gradcheck", seed)
    per_step = settings.flag("gradcheck", "per_step", per_step)
    lent = [lend(x) for x in inputs]
    saved = [(x.requires_grad, x.grad) for x in inputs]
    if any(x.dtype != np.float64 for x in inputs):
        warnings.warn("gradcheck: float32 inputs are checked in float64 copies (finite "
                      "differences in float32 are dominated by rounding)", GradcheckWarning,
                      stacklevel=2)
    try:
        for x in inputs:
            x.data = x.data.astype(np.float64, order="C")   # a private copy to perturb (C order:
            # _elementwise writes through reshape(-1), which must be a view)
            x.requires_grad = True
        _check_eps_moves(inputs, names, eps)
        analytic, output, magnitude = _analytic(fn, inputs, per_step)
        shape = output.shape
        _check_deterministic(fn, inputs, per_step, output, magnitude)
        with np.errstate(over="ignore", invalid="ignore"):     # NaN and Inf fail, below
            if mode == "random":
                return _directional(fn, inputs, names, analytic, shape, eps, atol, rtol, seed,
                                    directions, per_step, magnitude)
            return _elementwise(fn, inputs, names, analytic, shape, eps, atol, rtol, per_step,
                                magnitude)
    finally:
        for x, value, (requires_grad, grad) in zip(inputs, lent, saved):
            give_back(x, value)
            x.requires_grad, x.grad = requires_grad, grad


def expected_tolerance(out, numeric, analytic, *, eps=1e-6, atol=1e-5, rtol=1e-3):
    """What gradcheck would allow each element of an input's gradient to differ by, when its
    numeric side is `numeric` exactly (no rounding or truncation error in the quotient) and its
    analytic side `analytic`: the module doc's tolerance, with r from the values of the graph
    of `out`, fn's output at the inputs (a scalar, or the loss terms: then numeric and analytic
    have shape (T, *x.shape)). M is read from the graph as it stands: values an unroll released
    and a checkpoint's inside, which gradcheck sees as they are made, are not counted, so r may
    be smaller than gradcheck's there. To predict a verdict: the command line's gradcheck says
    whether a truncation's dropped paths must make it fail."""
    per_step = out.ndim > 0
    magnitude = magnitudes(out, topological_order([out]), per_step)
    values = np.abs(np.asarray(out.data, dtype=np.float64)).reshape(-1)
    rounding = rounding_of(values, values, magnitude, 2 * eps)
    numeric, analytic = (np.asarray(g, dtype=np.float64) for g in (numeric, analytic))
    rows = (len(values), -1)                        # one row per loss term (or the one f)
    largest = largest_gradient(analytic.reshape(rows), numeric.reshape(rows), per_step)
    if per_step:                                  # one rounding and one G per loss term
        shape = (-1,) + (1,) * (numeric.ndim - 1)
        rounding, largest = rounding.reshape(shape), largest.reshape(shape)
    return tolerance(numeric, rounding, 0.0, largest, atol, rtol)


def _checked_inputs(inputs):
    """(the inputs as a list: distinct floating leaf Tensors, at least one, the name the
    report gives each). A mapping names its tensors by its keys (dict(model.named_parameters())
    names two layers' "W" apart); a list by their names, and where two share a name (or have
    none) by their position too."""
    names = None
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    elif isinstance(inputs, Mapping):
        names = list(inputs)
        if not all(isinstance(name, str) for name in names):
            raise DTypeError(f"gradcheck: a mapping of inputs must have str keys (the names "
                             f"the report gives them), got {names!r:.80}")
        inputs = inputs.values()
    elif isinstance(inputs, (str, bytes, np.ndarray)) or not hasattr(inputs, "__iter__"):
        raise DTypeError(f"gradcheck: inputs must be a list of Tensors, got "
                         f"{type(inputs).__name__}")
    inputs = list(inputs)
    if not inputs:
        raise SettingError("gradcheck: no inputs to check; pass the leaf Tensors whose gradient "
                           "to compare (an empty list would pass vacuously)")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise DTypeError(f"gradcheck: input {i} is a {type(x).__name__}, not a Tensor")
        if not x.is_leaf:
            raise SettingError(f"gradcheck: input {i} ({x.op!r} of shape {x.shape}) is not a "
                               f"leaf; check the leaves it is computed from")
        if x.dtype.kind != "f":
            raise DTypeError(f"gradcheck: input {i} holds {x.dtype} data; only floating inputs "
                             f"have a gradient")
        for j, earlier in enumerate(inputs[:i]):
            if x is earlier:
                raise SettingError(f"gradcheck: input {i} is the same tensor as input {j}; "
                                   f"list each input once")
    if all(x.size == 0 for x in inputs):
        raise SettingError(f"gradcheck: every input is empty (shapes "
                           f"{', '.join(str(x.shape) for x in inputs)}); there is no element "
                           f"to check, and the check would pass vacuously")
    if names is None:
        names = [x.name or f"input[{i}]" for i, x in enumerate(inputs)]
    # a name that is blank, holds a line break or tab or ends in spaces would shift the
    # report's table or look like another: shown as its repr
    names = [name if name.isprintable() and name.strip() == name != "" else repr(name)
             for name in names]
    while len(set(names)) < len(names):       # shared names get their inputs' positions
        names = [f"{name} (input {i})" if names.count(name) > 1 else name
                 for i, name in enumerate(names)]
    return inputs, names


def _check_eps_moves(inputs, names, eps):
    """Each finite element must change when eps is added or taken away: where x + eps == x
    (eps below half of x's spacing in float64, 1e-320 anywhere, 1e-12 at 1e6) the numeric
    derivative is 0 whatever fn is, and a wrong analytic gradient of 0 would pass."""
    for x, name in zip(inputs, names):
        values = x.data
        stuck = np.isfinite(values) & ((values + eps == values) | (values - eps == values))
        if stuck.any():
            index = tuple(int(k) for k in np.argwhere(stuck)[0])
            raise SettingError(f"gradcheck: eps={eps!r} is lost in rounding at "
                               f"{name}{list(index)} = {float(values[index])!r} "
                               f"(x + eps == x in float64), so the numeric derivative there "
                               f"would be 0 whatever the function; use a larger eps (1e-6 is "
                               f"the default)")


def _check_deterministic(fn, inputs, per_step, value, magnitude):
    """fn evaluated twice more at the inputs, recording off as for the differences, must give
    the value it gave recording on for backward, `value` (up to the rounding of the values on
    the way to it): differences of a function that draws anew at every call (a Dropout in
    training mode) measure the draws, and of one that computes another value when recording
    (fn branching on is_grad_enabled()) another function than backward differentiates; the
    report would blame a right gradient or pass a wrong one."""
    values = [value.reshape(-1)] + [_value(fn, inputs, per_step, value.shape) for _ in range(2)]
    for first, second in zip(values, values[1:]):
        allowed = 4 * ROUNDING * np.maximum(magnitude, np.abs(first))
        differs = ~(np.abs(first - second) <= allowed) & ~(np.isnan(first) & np.isnan(second))
        if differs.any():
            k = int(np.argmax(differs))
            raise SettingError(f"gradcheck: fn gave {first[k]!r} and then {second[k]!r} at the "
                               f"same inputs{f' (term {k + 1})' if per_step else ''}: it is not "
                               f"a function of them, and finite differences of it mean nothing. "
                               f"A Dropout in training mode (call model.eval()), a random draw "
                               f"without a fixed seed, or a value that depends on whether "
                               f"gradients are recorded?")


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
    if out.dtype.kind != "f":
        raise DTypeError(f"gradcheck: fn returned a {out.dtype} Tensor; a gradient needs a "
                         f"floating output")
    if per_step and out.ndim == 1 and out.shape[0] == 0:
        raise ShapeError("gradcheck(per_step=True): fn returned no loss terms (shape (0,)); "
                         "there is nothing to check")
    if per_step and out.ndim != 1:
        raise ShapeError(f"gradcheck(per_step=True): fn must return the loss terms as shape (T,), "
                         f"got {out.shape}")
    if not per_step and out.size != 1:
        raise ShapeError(f"gradcheck: fn must return a scalar, got shape {out.shape} "
                         f"(pass per_step=True for a vector of loss terms)")
    return out


def _analytic(fn, inputs, per_step):
    """backward()'s gradient for each input: a list of arrays (per_step: shape (T, *x.shape)),
    fn's output value (a float64 copy), and the largest |value| computed on the way to it
    (per_step: to each loss term, magnitudes)."""
    with Watch(inputs) as watch:
        out = _evaluate(fn, inputs, per_step)
        if out.dtype != np.float64:
            raise DTypeError(f"gradcheck: fn returned {out.dtype} from float64 inputs: some value "
                             f"on the way to it is computed in {out.dtype} (a weight or constant "
                             f"not among the inputs, written into in place), and differences in "
                             f"{out.dtype} cannot resolve the gradient; make the model float64 "
                             f"(model.to(np.float64)) or check the tensors that keep it "
                             f"{out.dtype}")
        order = topological_order([out])
        if _stale(order, inputs):
            raise SettingError("gradcheck: fn's output depends on a value recorded before "
                               "gradcheck was called; fn must compute it anew from the inputs on "
                               "every call (lambda: model(xs)[0].sum(), not lambda: loss)")
        for node in order:
            watch.keep(node)
        terms = range(out.shape[0]) if per_step else [None]
        grads = [[] for _ in inputs]
        for t in terms:
            for x in inputs:
                x.grad = None
            root, seed = _term(out, t)
            if root.requires_grad:     # every path cut: the analytic gradient is zero
                root.backward(seed, retain_graph=per_step)
            for g, x in zip(grads, inputs):
                g.append(np.zeros(x.shape) if x.grad is None else x.grad.astype(np.float64))
        value = np.array(out.data, dtype=np.float64)
        return ([np.stack(g) if per_step else g[0] for g in grads], value,
                magnitudes(out, order, per_step, watch.scale))


def _stale(order, inputs):
    """Whether a node of `order` (parents first) computed from an input was recorded before
    that input's value was replaced by gradcheck's copy."""
    reads = {id(x): {id(x)} for x in inputs}          # node -> the inputs it is computed from
    for node in order:
        if node.is_leaf:
            continue
        read = set().union(*(reads.get(id(p), ()) for p in node.parents))
        if read:
            reads[id(node)] = read
            if any(made_before_write(node, x) for x in inputs if id(x) in read):
                return True
    return False


def _term(out, t):
    """What to backpropagate for R[t] (t None: the whole scalar output), and its seed. When
    the terms were stacked (loss_vector), R[t]'s own node: seeding the stack with a one-hot
    would send zeros down every other term, and 0 * NaN = NaN there would be blamed on R[t]."""
    if t is None:
        return out, None
    terms = stacked_terms(out)
    if terms is not None:
        return terms[t], None
    return out, np.arange(out.shape[0]) == t                # R[t]'s one-hot


def _value(fn, inputs, per_step, shape):
    """fn's value at the perturbed inputs, flat; it must keep the shape `shape` it had."""
    with no_grad():
        out = _evaluate(fn, inputs, per_step)
    if out.shape != shape:
        raise ShapeError(f"gradcheck: fn returned shape {out.shape} at a perturbed point but "
                         f"{shape} at the inputs; it must return the same shape every time")
    # a copy: an output that is a view of an input (x.reshape(3), x[0:1]) would change with
    # the next perturbation, and plus - minus would be 0 whatever the gradient
    return np.array(out.data, dtype=np.float64).reshape(-1)


def _elementwise(fn, inputs, names, analytic, shape, eps, atol, rtol, per_step, magnitude):
    evaluate = (fn, inputs, per_step, shape, magnitude)
    checks = []
    for i, x in enumerate(inputs):
        flat = x.data.reshape(-1)          # a view: writes reach x.data
        size = (analytic[i].shape[0], x.data.size) if per_step else (x.data.size,)
        numeric, rounding = np.empty(size), np.empty(size)
        for j in range(x.data.size):
            quotient = _element_quotient(evaluate, flat, j, eps)
            numeric[..., j], rounding[..., j] = (q if per_step else q[0] for q in quotient)
        found = analytic[i].reshape(numeric.shape)
        truncation = _truncation(found, numeric, rounding, rtol, per_step,
                                 partial(_element_quotient, evaluate, flat, h=2 * eps))
        checks.append(compare(names[i], x.shape, found, numeric, rounding, truncation, atol,
                              rtol, per_step))
    return GradcheckReport(checks, "elements", eps, atol, rtol,
                           analytic[0].shape[0] if per_step else None)


def _element_quotient(evaluate, flat, j, h):
    """(f(x + h e_j) - f(x - h e_j)) / step, flat, and the rounding it cannot resolve; `flat`
    is x.data as a flat view, `evaluate` what _value needs and f's largest value."""
    fn, inputs, per_step, shape, magnitude = evaluate
    original = flat[j]
    flat[j] = original + h
    plus = _value(fn, inputs, per_step, shape)
    flat[j] = original - h
    minus = _value(fn, inputs, per_step, shape)
    flat[j] = original
    step = (original + h) - (original - h)      # 2 h, up to rounding
    return (plus - minus) / step, rounding_of(plus, minus, magnitude, step)


def _truncation(found, numeric, rounding, rtol, per_step, coarser):
    """How far the quotient D(h) may be from the derivative because h is not 0, estimated
    where the analytic gradient differs from it by more than rounding explains (elsewhere 0):
    D(h) = f' + h^2 f^(3) / 6 + ..., so D(2h) - D(h) is three times D(h)'s error. coarser(j)
    gives D(2h) at column j first. Where D(2h) is NaN or Inf (2h steps out of fn's domain),
    the error cannot be estimated and is inf: the element is judged by atol alone."""
    truncation = np.zeros(numeric.shape)
    with np.errstate(invalid="ignore"):
        unexplained = (np.abs(found - numeric) > rtol * np.abs(numeric) + RESOLVED * rounding)
    if per_step:
        unexplained = unexplained.any(axis=0)
    for j in np.flatnonzero(unexplained):
        coarse = coarser(j)[0] if per_step else coarser(j)[0][0]
        error = np.abs(coarse - numeric[..., j]) / 3
        truncation[..., j] = np.where(np.isfinite(error), error, np.inf)
    return truncation


def _directional(fn, inputs, names, analytic, shape, eps, atol, rtol, seed, directions,
                 per_step, magnitude):
    """Along direction d in one input x (the others held): numeric (f(x + eps d) -
    f(x - eps d)) / (2 eps), analytic x's gradient times the step actually taken,
    ((x + eps d) - (x - eps d)) / (2 eps). Each input gets its own directions and its own row:
    directions spanning every input at once would judge a small input's gradient against the
    others' sum, where a wrong one (even zeros) hides below rtol of a large one's."""
    rng = np.random.default_rng(seed)
    steps = analytic[0].shape[0] if per_step else 1
    evaluate = (fn, inputs, per_step, shape, magnitude)
    checks = []
    for x, name, gradient in zip(inputs, names, analytic):
        base = x.data.copy()
        drawn = [rng.standard_normal(x.shape) for _ in range(directions)]
        gradient = gradient.reshape(steps, -1)
        numeric, rounding, found = (np.stack(q, axis=-1) for q in zip(*(
            _directional_quotient(evaluate, x, base, drawn, k, eps, gradient)
            for k in range(directions))))
        if not per_step:
            found, numeric, rounding = found[0], numeric[0], rounding[0]
        truncation = _truncation(found, numeric, rounding, rtol, per_step,
                                 partial(_directional_quotient, evaluate, x, base, drawn,
                                         h=2 * eps, gradient=gradient))
        checks.append(compare(f"{name} (random directions)", (directions,), found, numeric,
                              rounding, truncation, atol, rtol, per_step))
    return GradcheckReport(checks, "random", eps, atol, rtol, steps if per_step else None)


def _directional_quotient(evaluate, x, base, drawn, k, h, gradient):
    """Along d = drawn[k] from x = base with step h: the numeric quotient, its rounding, and
    the analytic value, x's gradient (rows: steps) times the step actually taken over 2 h."""
    fn, inputs, per_step, shape, magnitude = evaluate
    d = drawn[k]
    x.data[...] = base + h * d
    taken = x.data.copy()
    plus = _value(fn, inputs, per_step, shape)
    x.data[...] = base - h * d
    taken -= x.data
    minus = _value(fn, inputs, per_step, shape)
    x.data[...] = base
    return ((plus - minus) / (2 * h), rounding_of(plus, minus, magnitude, 2 * h),
            gradient @ taken.reshape(-1) / (2 * h))
