"""Gradient clipping: the global L2 norm of the gradients, and clip_grad_norm, which scales
them down to a largest norm (torch.nn.utils.clip_grad_norm_). Nothing is changed when a
gradient holds NaN or Inf; the norm is right even where the squares overflow or underflow."""
import numpy as np

from . import settings
from .errors import DTypeError, NumericalError
from .parameters import check_iterable, gradient_array, listed_once, parameter_name
from .tensor import Tensor


def grad_norm(params):
    """The global L2 norm of all gradients (parameters without a gradient count as zero);
    NaN or Inf if a gradient holds one. Finite gradients whose squares overflow float64
    are rescaled first, so their norm is still right."""
    return _norm([np.asarray(p.grad) for p in params if p.grad is not None])


TINY_NORM = 1e-150        # below this a sum of squares may have lost its smallest terms


def _norm(grads):
    """sqrt(sum g^2) over all gradients; computed over g / max|g| when the squares overflow
    (an inf norm of finite gradients) or underflow (1e-170 squares to 0)."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        total = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)))
        if (np.isinf(total) or total < TINY_NORM) and all(np.all(np.isfinite(g)) for g in grads):
            largest = max((float(np.max(np.abs(g))) for g in grads if np.size(g)), default=0.0)
            if largest > 0:
                total = largest * float(np.sqrt(sum(
                    float(np.sum(np.square(np.asarray(g, dtype=np.float64) / largest)))
                    for g in grads)))
    return total


def _clipped_parameters(params):
    """clip_grad_norm's parameters: one Tensor, or an iterable of Tensors (not a model: as
    PyTorch, it takes model.parameters())."""
    if isinstance(params, Tensor):
        return [params]
    check_iterable("clip_grad_norm", params, "a Tensor or a list of Tensors")
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise DTypeError(f"clip_grad_norm: parameter {i} is a {type(p).__name__}, not a "
                             f"Tensor")
    return listed_once("clip_grad_norm", params)


def clip_grad_norm(params, max_norm, error_if_nonfinite=True):
    """Scale all gradients so their global L2 norm is at most max_norm; returns the norm
    before clipping (as torch.nn.utils.clip_grad_norm_, which also takes one Tensor).

    max_norm must be > 0 (inf: measure only). A NaN or Inf gradient makes the norm NaN or
    Inf: with error_if_nonfinite=True (the default; PyTorch's default is False) that is a
    NumericalError naming the parameter; with False the norm is returned and the gradients
    are left as they are (PyTorch would scale them all to NaN), for the caller to decide.
    Either way no gradient is changed. Gradients given as lists or integer arrays are read
    as numbers in their parameter's dtype (an integer array scaled in its own dtype would be
    cut to 0); booleans, complex numbers and strings are a DTypeError."""
    params = _clipped_parameters(params)
    max_norm = settings.positive_float("clip_grad_norm", "max_norm", max_norm, finite=False)
    error_if_nonfinite = settings.flag("clip_grad_norm", "error_if_nonfinite",
                                       error_if_nonfinite)
    grads = [None if p.grad is None else gradient_array("clip_grad_norm", parameter_name(p, i), p)
             for i, p in enumerate(params)]
    total = _norm([g for g in grads if g is not None])
    if not np.isfinite(total):
        if error_if_nonfinite:
            bad = [parameter_name(p, i) for i, (p, g) in enumerate(zip(params, grads))
                   if g is not None and not np.all(np.isfinite(g))]
            raise NumericalError(f"clip_grad_norm: the gradient norm is {total}: the gradients "
                                 f"of {', '.join(bad)} hold NaN or Inf; no gradient was changed")
        return total
    if total > max_norm:
        scale = max_norm / total / (1 + 1e-12)      # a hair under max_norm, at any scale
        # (divided in turn: total * (1 + 1e-12) overflows near the largest float)
        for p, g in zip(params, grads):
            if g is not None:
                p.grad = g * np.asarray(scale, dtype=g.dtype)
    return total
