"""A small training loop with a progress bar, for examples and users who want one.

    history = fit(model.parameters(), lambda step: loss_of(batch(step)), Adam(params, 1e-2),
                  steps=500, clip=1.0)

The loop is the documented one: zero_grad, loss, backward, clip, step. The progress bar is
tqdm's when tqdm is installed (the `progress` extra) and nothing otherwise; progress_bar
gives the same bar to loops of your own.
"""
import numpy as np

from .errors import NumericalError
from .optim import clip_grad_norm


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
    loss values. `callback(step, loss_value)` may return True to stop early."""
    params = list(params)
    history = []
    bar = progress_bar(steps, progress, description)
    try:
        for step in range(steps):
            optimizer.zero_grad()
            loss = loss_fn(step)
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
