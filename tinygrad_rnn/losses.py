"""Losses, built from recorded ops so their graph can be drawn and checked.

Each takes `reduction="mean" | "sum" | "none"` as in PyTorch.
"""
import numpy as np

from . import settings
from .arguments import rectangular, whole_numbers
from .context import recording
from .errors import DTypeError, ShapeError, where_in_time
from .tensor import Tensor, apply, constant

REDUCTIONS = ("mean", "sum", "none")


def reduction_name(reduction, op):
    """`reduction` if it is one of REDUCTIONS ("mean", "sum", "none"), else a SettingError."""
    return settings.one_of(op, "reduction", reduction, REDUCTIONS)


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _floating(op, argument, tensor):
    """The prediction (or logits) of a loss as a floating Tensor."""
    tensor = constant(tensor)
    if tensor.dtype.kind != "f":
        raise DTypeError(f"{op}: {argument} must hold floating numbers, got {tensor.dtype}"
                         f"{where_in_time(recording.meta)}")
    return tensor


def _same_shape(op, prediction, target):
    if prediction.shape != target.shape:
        raise ShapeError(f"{op}: prediction of shape {prediction.shape} and target of shape "
                         f"{target.shape} differ{where_in_time(recording.meta)}")


def mse_loss(prediction, target, reduction="mean"):
    """Mean squared error: mean((prediction - target)^2). Shapes must match exactly
    (no silent broadcasting of a (B,) target against a (B, 1) prediction). The "mean" and
    "sum" reductions are one fused node; "none" keeps the elementwise graph."""
    reduction = reduction_name(reduction, "mse_loss")
    prediction = _floating("mse_loss", "prediction", prediction)
    target = constant(target, prediction.dtype)
    _same_shape("mse_loss", prediction, target)
    if reduction in ("mean", "sum"):
        return apply("mse", prediction, target, reduction=reduction)
    return _reduce((prediction - target) ** 2, reduction, "mse_loss")


def cross_entropy(logits, targets, reduction="mean"):
    """Softmax cross-entropy of logits (B, C) against integer class targets (B,):
    -log_softmax(logits)[b, targets[b]], computed stably.

    >>> cross_entropy(Tensor([[2.0, 0.0]]), [0])   # -log(e^2 / (e^2 + 1))
    """
    reduction = reduction_name(reduction, "cross_entropy")
    logits = _floating("cross_entropy", "logits", logits)
    targets = (np.asarray(targets.data) if isinstance(targets, Tensor) else
               rectangular("cross_entropy", "targets", targets))
    if not whole_numbers(targets):
        raise DTypeError(f"cross_entropy: targets must be integer class indices, got dtype "
                         f"{targets.dtype}{where_in_time(recording.meta)}")
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ShapeError(f"cross_entropy: expected logits (B, C) and targets (B,), got logits "
                         f"{logits.shape} and targets {targets.shape}"
                         f"{where_in_time(recording.meta)}")
    if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
        raise ShapeError(f"cross_entropy: targets must lie in [0, {logits.shape[1]}), got values "
                         f"from {targets.min()} to {targets.max()}{where_in_time(recording.meta)}")
    targets = targets.astype(np.int64, copy=False)    # after the range check: 1e30 would wrap
    picked = logits.log_softmax(axis=1)[np.arange(len(targets)), targets]
    return _reduce(-picked, reduction, "cross_entropy")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean"):
    """-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = softplus(z) - y z, stable for any z."""
    reduction = reduction_name(reduction, "binary_cross_entropy_with_logits")
    logits = _floating("binary_cross_entropy_with_logits", "logits", logits)
    targets = constant(targets, logits.dtype)
    _same_shape("binary_cross_entropy_with_logits", logits, targets)
    return _reduce(logits.softplus() - targets * logits, reduction,
                   "binary_cross_entropy_with_logits")
