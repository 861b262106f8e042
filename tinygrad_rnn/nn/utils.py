"""torch.nn.utils' spelling of gradient clipping: nn.utils.clip_grad_norm_(params, max_norm),
which is optim.clip_grad_norm (gradient_clipping.py), the global L2 norm."""
from .. import settings
from ..errors import SettingError
from ..gradient_clipping import clip_grad_norm


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=True, foreach=None):
    """optim.clip_grad_norm(parameters, max_norm, error_if_nonfinite): scale the gradients in
    place so their global L2 norm is at most max_norm; returns the norm before (a float).
    Only the L2 norm (norm_type=2) is computed here; another is a SettingError, not a silent
    L2. error_if_nonfinite defaults to True (PyTorch's to False): a NaN or Inf gradient is a
    NumericalError and no gradient changes. foreach (None, True or False) is taken as in
    PyTorch, where it only chooses the kernels: the result is the same."""
    if foreach is not None:
        settings.flag("clip_grad_norm_", "foreach", foreach)
    try:
        two = not isinstance(norm_type, bool) and bool(norm_type in (2, 2.0, "2"))
    except (TypeError, ValueError, RuntimeError):     # several numbers (an array): no one norm
        two = False
    if not two:
        raise SettingError(f"clip_grad_norm_: only norm_type=2 (the L2 norm) is implemented, "
                           f"got {norm_type!r}")
    return clip_grad_norm(parameters, max_norm, error_if_nonfinite)
