"""torch.nn.utils' spelling of gradient clipping: nn.utils.clip_grad_norm_(params, max_norm),
which is optim.clip_grad_norm (gradient_clipping.py), the global L2 norm."""
from ..errors import SettingError
from ..gradient_clipping import clip_grad_norm


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=True):
    """optim.clip_grad_norm(parameters, max_norm, error_if_nonfinite): scale the gradients in
    place so their global L2 norm is at most max_norm; returns the norm before. Only the L2
    norm (norm_type=2) is computed here; another is a SettingError, not a silent L2."""
    if isinstance(norm_type, bool) or norm_type not in (2, 2.0, "2"):
        raise SettingError(f"clip_grad_norm_: only norm_type=2 (the L2 norm) is implemented, "
                           f"got {norm_type!r}")
    return clip_grad_norm(parameters, max_norm, error_if_nonfinite)
