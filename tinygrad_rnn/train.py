"""A small training loop with a progress bar, for examples and users who want one.

    history = fit(model.parameters(), lambda step: loss_of(batch(step)), Adam(params, 1e-2),
                  steps=500, clip=1.0)

The loop is the documented one: zero_grad, loss, backward, clip, step. The progress bar is
tqdm's when tqdm is installed (the `progress` extra) and nothing otherwise; progress_bar
gives the same bar to loops of your own.
"""
import numpy as np

from . import settings
from .errors import DTypeError, NumericalError, SettingError, ShapeError
from .gradient_clipping import clip_grad_norm
from .parameters import parameter_list
from .tensor import Tensor


def progress_bar(total, enabled=True, description="", leave=False):
    """A tqdm bar of `total` steps, or None when it is not enabled or tqdm is not installed;
    callers update it with bar.update(1) when it is not None and close it at the end.

        bar = progress_bar(len(tasks), description="runs")
    """
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, leave=leave)


def fit(params, loss_fn, optimizer, steps, clip=None, progress=True, description="training",
        callback=None):
    """Run `steps` optimizer steps on loss_fn(step) -> scalar Tensor. Returns the list of
    loss values. `callback(step, loss_value)` may return True to stop early.

    Checked before the first step: params (as for an optimizer), loss_fn a function of the
    step number, optimizer an object with zero_grad() and step() that trains exactly `params`
    (an optimizer of tinygrad_rnn.optim says which: clip would otherwise scale gradients
    the optimizer never reads, and leave the ones it steps with unclipped), steps an int >= 0,
    clip None or > 0, callback None or a function of (step, loss_value). Each step the loss
    must be a one-element Tensor (else a DTypeError or ShapeError naming the step) and finite
    (else a NumericalError, raised before the update, so the weights stay as they were). An
    exception loss_fn raises passes through unchanged, after the progress bar is closed; the
    steps before it have been taken."""
    params = parameter_list("fit", params)
    settings.function("fit", "loss_fn", loss_fn, "loss_fn(step)", arguments=1)
    for method in ("zero_grad", "step"):
        if not callable(getattr(optimizer, method, None)):
            raise SettingError(f"fit: optimizer must have zero_grad() and step() (an optimizer "
                               f"of tinygrad_rnn.optim), got {type(optimizer).__name__}")
    _check_same_parameters(params, getattr(optimizer, "params", None))
    steps = settings.non_negative_int("fit", "steps", steps)
    if clip is not None:
        clip = settings.positive_float("fit", "clip", clip, finite=False)
    progress = settings.flag("fit", "progress", progress)
    if callback is not None:
        settings.function("fit", "callback", callback, "callback(step, loss_value)",
                          arguments=2)
    history = []
    bar = progress_bar(steps, progress, description)
    try:
        for step in range(steps):
            optimizer.zero_grad()
            loss = loss_fn(step)
            if not isinstance(loss, Tensor):
                raise DTypeError(f"fit: loss_fn({step}) returned a {type(loss).__name__}, not a "
                                 f"Tensor; build the loss from the model's tensors so it has a "
                                 f"gradient")
            if loss.size != 1:
                raise ShapeError(f"fit: loss_fn({step}) returned a tensor of shape {loss.shape}; "
                                 f"a loss is one number: reduce it (.sum() or .mean())")
            value = float(loss.item())
            if not np.isfinite(value):     # before the update: the weights stay as they were
                raise NumericalError(f"fit: the loss became {value} at step {step}; lower "
                                     f"the learning rate or clip the gradient norm")
            loss.backward()
            if clip is not None:
                clip_grad_norm(params, clip)
            optimizer.step()
            history.append(value)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            if callback is not None and callback(step, value):
                break
    finally:
        if bar is not None:
            bar.close()
    return history


def _check_same_parameters(params, trained):
    """The optimizer (when it lists its parameters) must train exactly `params`."""
    if trained is None:
        return
    given, stepped = set(map(id, params)), set(map(id, trained))
    if given != stepped:
        missing = sum(1 for p in trained if id(p) not in given)
        extra = sum(1 for p in params if id(p) not in stepped)
        raise SettingError(f"fit: params and the optimizer's parameters differ ({missing} the "
                           f"optimizer trains are not in params, {extra} of params it does not "
                           f"train); pass the same list to both, e.g. model.parameters()")
