"""What gradcheck reports: how an analytic gradient and a numeric one are compared, element
by element, and the report that names the input, index and time step that disagree.

An element passes when |analytic - numeric| <= rtol |numeric| + min(atol, atol G + r, 4 (r + e)):
never more than torch.autograd.gradcheck allows (atol + rtol |numeric|), and less when the
gradient is small, so that the test means something at every scale:
- G is the input's largest |analytic| or |numeric|. A gradient whose entries are all below
  atol would pass torch's test whatever it is (zero, or of the wrong sign); here atol shrinks
  with it.
- r is what finite differences cannot resolve: the rounding of f's value in the quotient,
  2^-48 2 M / step, where M is the largest |value| computed on the way to f (f's own, or an
  intermediate's: sigmoid(-20) = (tanh(-10) + 1) / 2 is 2e-9 but rounded at the scale of 1),
  and for a sum or a matrix product the sum of its terms' |values| (the partial sums of terms
  that cancel: a sum of 1e5 values near 1 that leaves 1 is rounded at the scale of 1e5).
  Values an unroll released and a checkpoint's inside count too. About 4e-9 M for eps = 1e-6.
- e is how far the quotient D(eps) itself may be off because eps is not 0 (its truncation
  error), estimated for an element only where the two sides differ by more than rtol |numeric|
  + 4 r: there D(2 eps) is computed too (two more evaluations), and e = |D(2 eps) - D(eps)| / 3,
  since D(h) = f' + h^2 f^(3) / 6 + ... Elsewhere e = 0. An element whose gradient is far below
  its input's largest (exp(-12) beside exp(1)) is so judged on its own: atol G alone would let
  it be anything up to atol G. Where D(2 eps) is NaN or Inf (2 eps leaves fn's domain), e is
  inf and the element is judged by atol. Within eps of a kink (relu at 0) neither quotient is
  a derivative, and a right gradient there may fail, as it may under torch's test.

An input whose gradient is nowhere larger than r (0 < G <= r) is not certified: finite
differences cannot tell its gradient from a wrong one, so the check fails it as unresolved and
says so (scale the function up, or check at a point where its gradient is larger). So is one
with elements past the tolerance by less than RESOLVED (r + e) (`blurred`): finite differences
cannot tell them from noise (a sum of terms near 1e8 that cancel, differenced at 1e-6), and
the report does not say they disagree; `failed` counts the elements that do. A gradient
that is exactly 0 on both sides (an input fn does not depend on) passes.

With per_step, each loss term's gradient is judged on its own: G and r are R[t]'s own (judged
by the largest of every term's, a term of gradient 1e-6 beside one of 1e3 would pass any
gradient, zero or of the wrong sign). r comes from the values on the way to R[t] alone when fn
stacks the terms (nn.loss_vector does); when fn returns them as one vector computed together,
each is rounded at the scale of all of them, and a term far smaller than the others is below
its r. An input is not certified when its gradient is nowhere larger than r in any term; a
term whose gradient is all below its r (an initial state's, many steps on) is, as an element
below r, not resolved: it passes within r.
"""
from dataclasses import dataclass

import numpy as np

# the relative error assumed of f's value, 16 units in the last place: on the test suite's
# right gradients and larger Elman and LSTM models, the quotient's actual error stayed below
# 5% of r so computed (it was 2^-44, 256 units, which let a gradient 0.5% off pass in r's band)
ROUNDING = 2.0 ** -48
RESOLVED = 4              # a difference within RESOLVED (r + e) is what finite differences leave


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
    step: int = None      # per_step: the first time step t (1-based) where this input fails;
    #                       index, analytic and numeric are then the worst element at that step
    nonfinite: int = 0    # elements (or directions) where either side is NaN or Inf
    allowed: float = 0.0  # the tolerance at the worst element (module doc)
    unresolved: bool = False    # every |gradient| is below what finite differences resolve
    blurred: int = 0            # elements past the tolerance by less than they resolve
    largest: float = 0.0        # G: the largest |analytic| or |numeric|
    resolution: float = 0.0     # r: what finite differences cannot resolve here


@dataclass
class GradcheckReport:
    """Truthy only if every input passes. `worst` is the input furthest past the tolerance, a
    failing one (one not certified, its differences within tolerance) before any that pass."""
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
        return max(self.inputs, key=lambda check: (not check.passed, self._excess(check)))

    @staticmethod
    def _excess(check):
        """How far past its tolerance an input's worst element is (inf for NaN or Inf)."""
        if check.nonfinite or not np.isfinite(check.abs_error):
            return np.inf
        if check.allowed == 0:
            return np.inf if check.abs_error > 0 else 0.0
        return check.abs_error / check.allowed

    @property
    def failures(self):
        return [check for check in self.inputs if not check.passed]

    @property
    def first_failing_step(self):
        steps = [check.step for check in self.failures if check.step is not None]
        return min(steps) if steps else None

    def __str__(self):
        disagree = sum(1 for c in self.failures if c.failed or c.nonfinite)
        uncertified = len(self.failures) - disagree
        counts = ", ".join(f"{k} of {len(self.inputs)} inputs {what}" for k, what in
                           ((disagree, "disagree"), (uncertified, "not certified")) if k)
        verdict = "passed" if self else f"FAILED ({counts})"
        where = (f", first disagreement at t={self.first_failing_step}"
                 if self.first_failing_step else "")
        lines = [f"gradcheck {verdict}{where}: mode={self.mode}, eps={self.eps:g}, "
                 f"atol={self.atol:g}, rtol={self.rtol:g}, float64"]
        header = ["input", "shape", "worst index", "analytic", "numeric", "abs err", "allowed",
                  "rel err", "failed"]
        if self.steps:
            header.insert(3, "t")
        rows = [header]
        for c in self.inputs:
            row = [c.name, str(c.shape), str(c.index), f"{c.analytic:.6g}", f"{c.numeric:.6g}",
                   f"{c.abs_error:.2e}", f"{c.allowed:.2e}", f"{c.rel_error:.2e}",
                   f"{c.failed}/{c.checked}"]
            if self.steps:
                row.insert(3, "-" if c.step is None else str(c.step))
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines += [f"{c.name}: {c.nonfinite} of {c.checked} compared values have NaN or Inf on "
                  f"the analytic or the numeric side (worst index {c.index}"
                  f"{'' if c.step is None else f', t={c.step}'}); NaN never passes"
                  for c in self.inputs if c.nonfinite]
        lines += [f"{c.name}: not certified: its largest gradient, {c.largest:.2g}, is below what "
                  f"finite differences resolve here, {c.resolution:.2g} (the rounding of the "
                  f"values computed on the way to f); scale the function up or check at a point "
                  f"where the gradient is larger" for c in self.inputs if c.unresolved]
        lines += [f"{c.name}: not certified: {c.blurred} of {c.checked} elements differ by more "
                  f"than the tolerance but by less than what finite differences resolve here "
                  f"(r up to {c.resolution:.2g}, the rounding of the values computed on the way "
                  f"to f, and the quotient's own error): they cannot be told from noise; check "
                  f"at a point where the values on the way to f are smaller"
                  for c in self.inputs if c.blurred and not c.unresolved]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


def tolerance(numeric, rounding, truncation, largest, atol, rtol):
    """What each element's analytic gradient may differ from its numeric one by (module doc):
    rtol |numeric| + min(atol, atol G + r, RESOLVED (r + e)), G = largest."""
    return rtol * np.abs(numeric) + np.minimum(np.minimum(atol, atol * largest + rounding),
                                               RESOLVED * (rounding + truncation))


def compare(name, shape, analytic, numeric, rounding, truncation, atol, rtol, per_step):
    """Fold analytic vs numeric (per_step: shape (T, n)) into one InputCheck. An element
    fails when the difference passes the tolerance (module doc), or when either side is NaN
    or Inf. The worst element is the one furthest past its tolerance; per_step, the worst at
    the first step that fails (or at any step when none does)."""
    diff = np.abs(analytic - numeric)
    nonfinite = ~(np.isfinite(analytic) & np.isfinite(numeric))
    largest = largest_gradient(analytic, numeric, per_step)       # G (per_step: each term's)
    allowed = tolerance(numeric, rounding, truncation, largest, atol, rtol)
    bad = nonfinite | ~(diff <= allowed)
    # past the tolerance, but by less than finite differences resolve: not told from noise
    blurred = bad & ~nonfinite & (diff <= RESOLVED * (rounding + truncation))
    resolution = rounding.max(axis=-1, keepdims=per_step, initial=0.0)       # r, likewise
    unresolved = bool(np.max(largest) > 0 and np.all(largest <= resolution))   # nowhere > r
    disagree = bad & ~blurred
    excess = np.divide(diff, allowed, out=np.where(diff > 0, np.inf, 0.0), where=allowed > 0)
    excess[nonfinite] = np.inf                   # the first NaN or Inf is the worst element
    failing_steps = np.nonzero(bad.any(axis=1))[0] if per_step else []
    if len(failing_steps):               # the report's t, index and values are of one step
        first = failing_steps[0]
        excess = np.where(np.arange(excess.shape[0])[:, None] == first, excess, -1.0)
    worst = np.unravel_index(np.argmax(excess), excess.shape) if excess.size else (0,)
    a, n = (float(analytic[worst]), float(numeric[worst])) if excess.size else (0.0, 0.0)
    scale = max(abs(a), abs(n))
    element = worst[-1] if excess.size else 0
    index = np.unravel_index(element, shape) if len(shape) and excess.size else ()
    return InputCheck(
        name=name, shape=tuple(shape), passed=not bad.any() and not unresolved,
        checked=int(bad.shape[-1]) if bad.ndim else 1,
        failed=int(disagree.any(axis=0).sum()) if per_step else int(disagree.sum()),
        blurred=int((blurred.any(axis=0) & ~disagree.any(axis=0)).sum()) if per_step
        else int(blurred.sum()),
        index=tuple(int(i) for i in index), analytic=a, numeric=n, abs_error=abs(a - n),
        rel_error=abs(a - n) / scale if scale else 0.0,
        step=int(failing_steps[0]) + 1 if len(failing_steps) else None,
        nonfinite=int(nonfinite.any(axis=0).sum()) if per_step else int(nonfinite.sum()),
        allowed=float(allowed[worst]) if excess.size else 0.0, unresolved=unresolved,
        largest=float(np.max(largest)), resolution=float(np.max(resolution)))


def largest_gradient(analytic, numeric, per_step):
    """G: the largest finite |analytic| or |numeric| of an input's gradient; per_step (rows:
    the loss terms) each term's own, shape (T, 1): R[t]'s gradient is judged on its own."""
    both = np.where(np.isfinite(analytic) & np.isfinite(numeric),
                    np.maximum(np.abs(analytic), np.abs(numeric)), 0.0)
    return both.max(axis=-1, keepdims=True, initial=0.0) if per_step else both.max(initial=0.0)
