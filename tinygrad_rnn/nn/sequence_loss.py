"""Sequence losses: the lecture's R = sum_t L(y[t], v[t]), and its variants.

    loss_terms(ys, vs)                 -> [R[1], ..., R[T]], each tagged with its step, role "loss"
    sequence_loss(ys, vs)              -> R = sum_t R[t]
    sequence_loss(ys, vs, mask=m)      -> padded variable-length batches: m (T, B) is True at
                                          real steps
    last_step_loss(ys, labels, ...)    -> one label per sequence, read at each sample's last step

R[t] averages the per-sample loss over the batch (as PyTorch's default reduction does) and the
steps are summed, as in the lecture; time_reduction="mean" divides by T instead. The loss
"sum_squared_error" sums over the batch and the features instead: R[t] = sum (y[t] - v[t])^2,
the hand-written benchmarks' loss. Masked-out
samples contribute zero but still count in the batch average, so a padded batch and the same
samples unpadded give the same R[t] scale.

When ys is the stack the recurrent models return, each R[t] is built directly on the step's
y[t] (the tensors the stack was made from), so the graph shows y[t] -> R[t] per step.
"""
import numpy as np

from .. import settings
from ..arguments import rectangular, whole_numbers
from ..context import recording
from ..context import step as time_step
from ..errors import DTypeError, SettingError, ShapeError, where_in_time
from ..functional import stack, where
from ..losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from ..tensor import Tensor, constant, leaf, precomputed

LOSS_BLOCK = 16     # steps per vectorized pass: a (16, B, O) temporary, not a (T, B, O) one


def _mse(y, v):
    return mse_loss(y, v, reduction="none").mean(axis=-1)


def _cross_entropy(y, v):
    return cross_entropy(y, v, reduction="none")


def _bce(y, v):
    return binary_cross_entropy_with_logits(y, v, reduction="none").mean(axis=-1)


def _sum_squared_error(y, v):
    return mse_loss(y, v, reduction="none").sum(axis=-1)


PER_SAMPLE_LOSSES = {"mse": _mse, "cross_entropy": _cross_entropy, "bce": _bce,
                     "sum_squared_error": _sum_squared_error}
# Without a mask these are one fused mse node per step: mean over batch and features (mse),
# or the plain sum (sum_squared_error: the lecture's R[t] = ||y[t] - v[t]||^2 over the batch).
FUSED = {"mse": "mean", "sum_squared_error": "sum"}


def per_sample_loss(loss, op):
    """The per-sample loss function named `loss` (one of PER_SAMPLE_LOSSES) or `loss` itself
    when it is a function (whose result must be a Tensor); a SettingError listing the known
    names otherwise."""
    if isinstance(loss, str) and loss in PER_SAMPLE_LOSSES:
        return PER_SAMPLE_LOSSES[loss]
    if callable(loss) and not isinstance(loss, str):
        settings.function(op, "loss", loss, "loss(y, v)", arguments=2)
        return _returning_a_tensor(loss, op)
    raise SettingError(f"{op}: loss must be one of {', '.join(map(repr, PER_SAMPLE_LOSSES))} or "
                       f"a function (y, v) -> per-sample losses, got {loss!r}")


def _returning_a_tensor(loss, op):
    """`loss`, checked at each call to return a Tensor (else .mean() on a list or None would
    fail with an AttributeError from inside)."""
    def checked(y, v):
        values = loss(y, v)
        if not isinstance(values, Tensor):
            raise DTypeError(f"{op}: the loss function returned a {type(values).__name__}, not a "
                             f"Tensor of per-sample losses{where_in_time(recording.meta)}; build "
                             f"it from tensor ops on y so it has a gradient")
        return values
    return checked


def _numbers(values, op, what):
    """The values of a Tensor, array or nested list as an array; ragged lists are an error."""
    try:
        return values._data if isinstance(values, Tensor) else np.asarray(values)
    except (TypeError, ValueError, RuntimeError) as exc:        # ragged nested lists
        raise DTypeError(f"{op}: {what} must be an array of numbers ({exc})") from None


def _as_targets(vs, op):
    """The targets' values as an array of numbers with a time axis (T, ...), or an error."""
    targets = _numbers(vs, op, "targets")
    if targets.dtype.kind not in "biuf":
        raise DTypeError(f"{op}: targets must be numbers (an array of shape (T, B, O), or (T, B) "
                         f"class indices), got {targets.dtype} values from {type(vs).__name__}")
    if targets.ndim == 0:
        raise ShapeError(f"{op}: targets must have one entry per step, shape (T, B, O) or "
                         f"(T, B), got a single value {targets!r}")
    return targets


def _as_outputs(ys, op):
    """ys as a Tensor (an array is made a constant) or a non-empty list of per-step outputs
    (each a Tensor; arrays and nested lists among them are made constants)."""
    if not isinstance(ys, (Tensor, list, tuple)):
        ys = constant(ys)
    elif not isinstance(ys, Tensor):
        ys = [y if isinstance(y, Tensor) else constant(y) for y in ys]
    if len(ys) == 0:
        raise ShapeError(f"{op}: there are no outputs (T = 0); a sequence loss needs at least "
                         f"one step")
    return ys


def _as_mask(mask):
    """A (T, B) mask as booleans: bools, or numbers that are all 0 or 1 (a Tensor's too)."""
    values = (np.asarray(mask.data) if isinstance(mask, Tensor) else
              rectangular("sequence loss", "the mask", mask))
    if values.dtype.kind == "b":
        return values
    if values.dtype.kind in "iuf" and np.isin(values, (0, 1)).all():
        return values.astype(bool)
    raise DTypeError(f"sequence loss: the mask must hold booleans (True at real steps) or 0 and "
                     f"1, got {values.dtype} values such as {values.ravel()[:3]}")


def output_at(ys, t):
    """y[t] of a sequence of outputs (1-based), without slicing every other step: a loss read
    at one step of a 77,587-step talk records one node, not 77,587."""
    if isinstance(ys, (list, tuple)):
        return ys[t - 1]
    if ys.op == "stack" and ys.params["axis"] == 0:
        return ys.parents[t - 1]
    with time_step(t):
        return ys[t - 1]


def per_step_outputs(ys):
    """The list of y[t] (B, O): the stack's own parts when ys came from stack(), else slices."""
    return [output_at(ys, t) for t in range(1, len(ys) + 1)]


def _one_dimensional(count, steps, batch):
    """What (count,) targets for T = steps outputs of a batch of B look like they hold."""
    takes = ("a sequence loss takes a target for every sample at every step: vs (T, B, O), or "
             "(T, B) class indices for cross_entropy")
    labels = f"labels read at the last step are last_step_loss's ({DEFAULTS})"
    if count == steps != batch:
        return (f"hold one value per step (T = {steps}), not one per sample of the batch "
                f"(B = {batch}): {takes}")
    if count == batch != steps:
        return f"hold one value per sequence (B = {batch}), not one target per step: {labels}"
    if count == steps == batch:
        return f"hold one value per step or per sequence (T = B = {steps}): {takes}; {labels}"
    return (f"match neither the T = {steps} steps nor the B = {batch} sequences: {takes}; "
            f"{labels}")


def loss_terms(ys, vs, loss="mse", mask=None):
    """R[t] for t = 1..T: the batch-averaged loss of step t, as a list of scalar Tensors.

    ys: (T, B, O) Tensor or list of (B, O); vs: targets (T, B, O), or (T, B) class indices
    for cross_entropy; mask: optional (T, B) booleans, False at padded steps.
    """
    per_sample = per_sample_loss(loss, "sequence loss")
    ys = _as_outputs(ys, "sequence loss")
    outputs = per_step_outputs(ys)
    targets = _as_targets(vs, "sequence loss")
    # targets that require grad get it, as mse_loss gives it (PyTorch too): each step's target
    # is then a slice of vs, recorded, rather than an array of its values
    learned = isinstance(vs, Tensor) and vs.requires_grad
    per_sequence = np.ndim(outputs[0]) >= 2 or len(targets) != len(outputs)
    if targets.ndim == 1 and np.ndim(outputs[0]) >= 1 and per_sequence:   # labels (B,)?
        raise ShapeError(f"sequence loss: targets of shape {targets.shape} "
                         f"{_one_dimensional(len(targets), len(outputs), len(outputs[0]))}")
    if len(targets) != len(outputs):
        raise ShapeError(f"sequence loss: {len(outputs)} outputs but targets for {len(targets)} "
                         f"steps (targets of shape {targets.shape})")
    _check_elementwise_targets(loss, outputs, targets)
    if mask is not None:
        mask = _as_mask(mask)
        if mask.shape != targets.shape[:2]:
            raise ShapeError(f"sequence loss: mask of shape {mask.shape} does not match the "
                             f"(T, B) = {targets.shape[:2]} of the targets")
    if mask is None and loss in FUSED and not learned:
        terms = _squared_error_terms(ys, outputs, targets, FUSED[loss])
        if terms is not None:
            return terms
    batch_sum = loss == "sum_squared_error"
    terms = []
    for t, y in enumerate(outputs, start=1):
        with time_step(t):
            target = vs[t - 1] if learned else targets[t - 1]
            if mask is None and loss in FUSED:
                terms.append(mse_loss(y, target, FUSED[loss]).annotate(role="loss", name=f"R[{t}]"))
                continue
            if mask is not None:     # padded targets may hold anything (a PAD index, NaN)
                keep = mask[t - 1].reshape(mask.shape[1:] + (1,) * (target.ndim - 1))
                target = where(keep, target, 0.0) if learned else np.where(keep, target, 0)
            values = per_sample(y, target)
            if mask is not None:
                values = _one_per_sample(values, mask.shape[1], "sequence loss with a mask")
                values = values * mask[t - 1].astype(y.dtype)
            term = values.sum() if batch_sum else values.mean()
            terms.append(term.annotate(role="loss", name=f"R[{t}]"))
    return terms


def _one_per_sample(values, batch, op):
    """The per-sample losses, which must be one value per sample, (B,), for a mask (or lengths)
    to pick samples: a scalar (the loss of ys without a feature axis, averaged over the batch)
    or a (B, 1) would let padded samples count."""
    if values.shape != (batch,):
        raise ShapeError(f"{op}: the per-sample loss has shape {values.shape}, not one value per "
                         f"sample ({batch},), so padded samples cannot be left out; give "
                         f"outputs a feature axis, (T, B, O), and a loss function that returns "
                         f"(B,){where_in_time(recording.meta)}")
    return values


# The two entry points have different defaults on purpose: a sequence loss compares every y[t]
# with a target of its shape (mse), a last-step loss reads one class label per sequence (cross
# entropy). Targets of the other kind get an error that names both defaults.
DEFAULTS = ("sequence_loss's default loss is 'mse' (targets (T, B, O), the shape of ys); "
            "last_step_loss's is 'cross_entropy' (labels (B,): one class index per sequence)")


def _check_elementwise_targets(loss, outputs, targets):
    """mse, bce and sum_squared_error compare y[t] with a target of y[t]'s shape; targets (T, B)
    for outputs (T, B, O) are most likely class indices meant for cross_entropy. (Other shape
    mismatches are named, with their time step, where the step's loss is made.)"""
    if loss not in ("mse", "bce", "sum_squared_error") or not outputs:
        return
    shape = tuple(outputs[0].shape)
    if targets.ndim == len(shape) and targets.shape[1:] != shape:
        hint = (" Integer targets look like class indices: pass loss='cross_entropy'."
                if targets.dtype.kind in "iu" else "")
        raise ShapeError(f"sequence loss: loss={loss!r} compares each y[t] of shape {shape} with "
                         f"a target of the same shape, got targets of shape {targets.shape}."
                         f"{hint} ({DEFAULTS})")


def _squared_error_terms(ys, outputs, targets, reduction):
    """R[t] = mse(y[t], v[t]) for every step: one fused mse node per step, as mse_loss records
    it, with the values of a block of steps computed in one vectorized pass over the (T, B, O)
    outputs rather than by two numpy calls a step. None when ys is not one tensor of the
    targets' shape: the per-step loop then names the step whose shapes differ."""
    values = ys._data if isinstance(ys, Tensor) else None
    if values is None or values.shape != targets.shape:
        return None
    targets = targets.astype(values.dtype, copy=False)   # as mse_loss: float32 stays float32
    watched = constant(targets)   # the rows below view it: backward sees writes into vs
    terms = []
    for start in range(0, len(outputs), LOSS_BLOCK):
        error = np.subtract(values[start:start + LOSS_BLOCK], targets[start:start + LOSS_BLOCK])
        error = error.reshape(len(error), -1)
        totals = np.einsum("ij,ij->i", error, error)
        if reduction == "mean":
            totals /= error.shape[1]
        for t in range(start + 1, start + len(error) + 1):
            with time_step(t):
                term = precomputed("mse", (outputs[t - 1], leaf(targets[t - 1], memory_of=watched)),
                                   totals[t - 1 - start], reduction=reduction)
            terms.append(term.annotate(role="loss", name=f"R[{t}]"))
    return terms


def sequence_loss(ys, vs, loss="mse", mask=None, time_reduction="sum"):
    """R = sum_t R[t] (time_reduction="mean": divided by T); see loss_terms."""
    settings.one_of("sequence_loss", "time_reduction", time_reduction, ("sum", "mean"))
    terms = loss_terms(ys, vs, loss, mask)
    total = stack(terms).sum()       # two nodes, not a chain of T additions
    if time_reduction == "mean":
        total = total / len(terms)
    return total.annotate(role="loss", name="R", step=None)


def loss_vector(ys, vs, loss="mse", mask=None):
    """The loss terms stacked as a (T,) Tensor, for gradcheck(per_step=True)."""
    return stack(loss_terms(ys, vs, loss, mask))


def last_step_loss(ys, labels, loss="cross_entropy", lengths=None):
    """Sequence classification: one label per sequence, read at its last step.

    Without `lengths` every sequence ends at step T; with lengths (B,) sample b is read at step
    lengths[b] (padded batches). Returns the batch-averaged loss.
    """
    per_sample = per_sample_loss(loss, "last_step_loss")
    ys = _as_outputs(ys, "last_step_loss")
    learned = isinstance(labels, Tensor) and labels.requires_grad    # as in loss_terms
    source = labels
    labels = _numbers(labels, "last_step_loss", "labels")
    if labels.ndim and labels.shape[0] == 0:
        raise ShapeError(f"last_step_loss: there are no sequences (B = 0, labels of shape "
                         f"{labels.shape}); a batch needs at least one")
    steps = len(ys)
    if loss == "cross_entropy" and (labels.ndim != 1 or (labels.dtype.kind == "f" and not
                                                         whole_numbers(labels))):
        raise ShapeError(f"last_step_loss: loss='cross_entropy' takes one class index per "
                         f"sequence, labels of shape (B,), got {labels.dtype} labels of shape "
                         f"{labels.shape}; real-valued targets need loss='mse' ({DEFAULTS})")
    if lengths is None:
        with time_step(steps):
            value = per_sample(output_at(ys, steps), source if learned else labels).mean()
        return value.annotate(role="loss", name=f"R[{steps}]")
    lengths = _numbers(lengths, "last_step_loss", "lengths")
    if not whole_numbers(lengths):
        raise DTypeError(f"last_step_loss: lengths must be whole numbers of steps, got "
                         f"{lengths.ravel()[:5]} ({lengths.dtype})")
    if lengths.shape != labels.shape[:1] or lengths.min() < 1 or lengths.max() > steps:
        raise ShapeError(f"last_step_loss: lengths must be (B,) = {labels.shape[:1]} with values "
                         f"in 1..{steps}, got shape {lengths.shape} and values "
                         f"{lengths.ravel()[:5]}")
    lengths = lengths.astype(np.int64)      # after the range check: 1e30 would wrap
    terms = []
    for t in np.unique(lengths):       # only the steps some sample ends at
        with time_step(int(t)):
            y = output_at(ys, int(t))
            ending = lengths == t
            keep = ending.reshape((-1,) + (1,) * (labels.ndim - 1))
            targets = where(keep, source, 0.0) if learned else np.where(keep, labels, 0)
            values = _one_per_sample(per_sample(y, targets), len(labels),
                                     "last_step_loss with lengths")
            terms.append((values * ending.astype(y.dtype)).sum())
    total = terms[0] if len(terms) == 1 else stack(terms).sum()
    return (total / len(labels)).annotate(role="loss", name="R", step=None)
