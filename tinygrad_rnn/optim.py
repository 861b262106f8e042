"""Optimizers, updating parameters' .data in place (as torch.optim); clip_grad_norm is
gradient_clipping.py's, here too for torch.optim's users.

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss.backward(); clip_grad_norm(model.parameters(), 1.0); opt.step()

Learning-rate schedulers are in lr_scheduler (schedulers.py), as in torch.optim.lr_scheduler:

    scheduler = lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)   # after each opt.step()

Nothing silently wrong: the parameter list must hold distinct leaf Tensors that require grad
(a bare Tensor, a Module, an array is refused with what to pass instead), every setting is
checked when the optimizer is made (settings.py), and step() checks every gradient before it
changes any parameter. A gradient of another shape than its parameter is a ShapeError, and a
gradient holding NaN or Inf is a NumericalError naming the parameter and the index: PyTorch
would apply it and turn every weight it touches into NaN; here the weights stay as they were,
so the step can be skipped or the learning rate lowered. So does a step whose update would
overflow (lr * g beyond the largest float, or Adam's g^2): a finite value of a parameter or
of the optimizer's state (momentum, moments) that would become Inf or NaN is a NumericalError,
and every parameter and all of the optimizer's state (step counts too) are as before the step.
"""

import numpy as np

from . import schedulers as lr_scheduler  # noqa: F401  (optim.lr_scheduler, PyTorch's spelling)
from . import settings
from .errors import NumericalError, SettingError, ShapeError
from .gradient_clipping import clip_grad_norm, grad_norm  # noqa: F401  (optim.clip_grad_norm)
from .inplace import stamp
from .parameters import gradient_array, parameter_list, parameter_name


class Optimizer:
    """Base class: the checked parameter list and learning rate, and step(), which checks
    every gradient (shape, finite), asks proposal(i, p, grad) for each parameter's step and
    new state, computes every new value and checks it, and only then writes them all. A
    subclass checks its own settings with the functions of settings.py and defines
    proposal(i, p, grad): from grad (an array of p's shape, finite) it returns (s, {name:
    value}), p's new value being p - s, without changing anything; each name is a
    per-parameter list of the optimizer's state (self.m, self.velocity) whose entry i step()
    sets to that value (a new array or number: proposal never writes into the old state)."""

    def __init__(self, params, lr):
        owner = type(self).__name__
        self.params = parameter_list(owner, params)
        self.lr = settings.positive_float(owner, "lr (the learning rate)", lr)
        self._shapes = [p.shape for p in self.params]
        self._scratch_buffers = {}      # parameter index -> the array its new value goes into

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def check_settings(self, owner):
        """Check (and return to plain Python numbers) the settings a subclass keeps beside lr
        (momentum, betas, eps, ...), raising a SettingError naming `owner`. The constructor
        calls it, and so does every step(): a setting may be assigned since (opt.betas = ...),
        and one out of range (a beta of 1, a NaN momentum) would make every weight NaN."""

    def step(self):
        """Update every parameter that has a gradient; all or nothing (see the module doc):
        a read-only parameter array (one set with .data = a read-only array) is refused
        before any parameter changes, and so is a setting assigned since construction that the
        constructor would refuse (check_settings), or an lr that is not a finite number >= 0
        (a schedule may bring it to 0)."""
        owner = f"{type(self).__name__}.step"
        self.lr = settings.non_negative_float(owner, "lr (the learning rate)", self.lr)
        self.check_settings(owner)
        ready = [(i, p) for i, p in enumerate(self.params) if p.grad is not None]
        grads = [self._checked_gradient(i, p) for i, p in ready]
        for i, p in ready:
            if not p.data.flags.writeable:
                raise SettingError(f"{type(self).__name__}.step: the array of "
                                   f"{parameter_name(p, i)} is read-only, so it cannot be "
                                   f"updated in place; no parameter "
                                   f"was changed (give it a writable copy: p.data = "
                                   f"p.data.copy())")
        proposed = []       # nothing is written until every new value is known to be finite
        for (i, p), grad in zip(ready, grads):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                step, state = self.proposal(i, p, grad)          # overflow: checked below
                value = np.subtract(p._data, step, out=self._scratch(i, p))
                del step        # freed now: the next parameter's step reuses its memory
            self._check_stays_finite(i, p, value, state)
            proposed.append((i, p, value, state))
        for (i, p, value, state), grad in zip(proposed, grads):
            np.copyto(p._data, value)
            stamp(p)                # a write of p, which graphs recorded before it see
            for name, entry in state.items():
                getattr(self, name)[i] = entry
            p.grad = grad

    def _scratch(self, i, p):
        """The array parameter i's new value is computed into, kept from step to step (one
        more copy of the parameters): a new one per step would be given back to the system
        and faulted in again at every step."""
        buffers = self._scratch_buffers
        buffer = buffers.get(i)
        if buffer is None or buffer.shape != p.shape or buffer.dtype != p.dtype:
            buffer = buffers[i] = np.empty_like(p._data)
        return buffer

    def _check_stays_finite(self, i, p, value, state):
        """A NumericalError if a finite value of p, or of its entries in the optimizer's state,
        would become Inf or NaN: the update overflowed (a huge lr, g^2 beyond the largest
        float). One isfinite per array when all is well."""
        arrays = [(f"{parameter_name(p, i)}", p._data, value)]
        arrays += [(f"{parameter_name(p, i)}'s {name}", getattr(self, name)[i], entry)
                   for name, entry in state.items() if isinstance(entry, np.ndarray)]
        for what, before, after in arrays:
            stays = np.isfinite(after)
            if stays.all():
                continue
            became = ~stays if before is None else np.isfinite(before) & ~stays
            if became.any():
                index = tuple(int(k) for k in np.argwhere(became)[0])
                was = "" if before is None else f" from {before[index]}"
                raise NumericalError(
                    f"{type(self).__name__}.step: the update would take {what} at index "
                    f"{index}{was} to {after[index]} (it overflowed); no parameter and no "
                    f"optimizer state was changed (lower the learning rate, clip the gradient "
                    f"norm, or skip this step)")

    def _checked_gradient(self, i, p):
        owner, name = type(self).__name__, parameter_name(p, i)
        if p.shape != self._shapes[i]:
            raise ShapeError(f"{owner}.step: {name} has shape {p.shape}, but {self._shapes[i]} "
                             f"when the optimizer was made; make a new optimizer for it")
        grad = gradient_array(f"{owner}.step", name, p)
        if grad.shape != p.shape:
            raise ShapeError(f"{owner}.step: the gradient of {name} has shape {grad.shape}, its "
                             f"parameter {p.shape}; no parameter was changed")
        finite = np.isfinite(grad)
        if not finite.all():
            index = tuple(int(k) for k in np.argwhere(~finite)[0])
            raise NumericalError(f"{owner}.step: the gradient of {name} holds {grad[index]} at "
                                 f"index {index}; no parameter was changed (lower the learning "
                                 f"rate, clip the gradient norm, or skip this step)")
        return grad

    weight_decay = 0.0      # L2 folded into the gradient; a subclass sets it from its argument

    def decayed_gradient(self, p, grad):
        """grad + weight_decay * p: the gradient of the loss plus (weight_decay / 2) |p|^2."""
        return grad + self.weight_decay * p._data if self.weight_decay else grad

    def proposal(self, i, p, grad):
        raise NotImplementedError(f"{type(self).__name__} must define proposal(i, p, grad)")


class SGD(Optimizer):
    """p -= lr * v with v = momentum * v + (grad + weight_decay * p) (PyTorch's convention;
    nesterov=True uses grad + momentum * v instead of v)."""

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.check_settings("SGD")
        self.velocity = [None] * len(self.params)

    def check_settings(self, owner):
        self.momentum = settings.non_negative_float(owner, "momentum", self.momentum)
        self.weight_decay = settings.non_negative_float(owner, "weight_decay", self.weight_decay)
        self.nesterov = settings.flag(owner, "nesterov", self.nesterov)
        if self.nesterov and self.momentum == 0:
            raise SettingError(f"{owner}: nesterov=True needs a momentum > 0 (as in PyTorch)")

    def proposal(self, i, p, grad):
        g, state = self.decayed_gradient(p, grad), {}
        if self.momentum:
            v = g.copy() if self.velocity[i] is None else self.momentum * self.velocity[i] + g
            state["velocity"] = v
            g = g + self.momentum * v if self.nesterov else v
        return (self.lr * g).astype(p.dtype, copy=False), state


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay adds weight_decay * p to the
    gradient (L2, as torch.optim.Adam)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.check_settings(type(self).__name__)
        self.m = [np.zeros_like(p._data) for p in self.params]
        self.v = [np.zeros_like(p._data) for p in self.params]
        self.t = [0] * len(self.params)

    def check_settings(self, owner):
        self.betas = betas_pair(owner, self.betas)
        self.eps = settings.positive_float(owner, "eps", self.eps)
        self.weight_decay = settings.non_negative_float(owner, "weight_decay", self.weight_decay)

    def proposal(self, i, p, grad):
        return self.adam_step(i, self.decayed_gradient(p, grad), p.dtype)

    def adam_step(self, i, g, dtype):
        """lr m_hat / (sqrt(v_hat) + eps) in the parameter's dtype, and the moments and step
        count after it, for parameter i with gradient g."""
        b1, b2 = self.betas
        t = self.t[i] + 1
        m = b1 * self.m[i] + (1 - b1) * g
        v = b2 * self.v[i] + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        step = (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(dtype, copy=False)
        return step, {"m": m, "v": v, "t": t}


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), PyTorch's form: v = alpha v + (1 - alpha) g^2 and
    p -= lr g / (sqrt(v) + eps); centered=True divides by sqrt(max(v - mean(g)^2, 0)) instead
    (the variance is >= 0, but rounding can take v - mean^2 below 0 when the gradient barely
    varies; PyTorch then takes the root of a negative number and every weight becomes NaN), and
    momentum > 0 keeps a buffer b = momentum b + g / (sqrt(v) + eps), p -= lr b. weight_decay
    adds weight_decay * p to g."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, lr)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered
        self.check_settings("RMSprop")
        self.square_avg = [np.zeros_like(p._data) for p in self.params]
        self.grad_avg = [np.zeros_like(p._data) for p in self.params]
        self.buffer = [np.zeros_like(p._data) for p in self.params]

    def check_settings(self, owner):
        self.alpha = settings.real(owner, "alpha", self.alpha, low=0, high=1, high_open=True)
        self.eps = settings.positive_float(owner, "eps", self.eps)
        self.weight_decay = settings.non_negative_float(owner, "weight_decay", self.weight_decay)
        self.momentum = settings.non_negative_float(owner, "momentum", self.momentum)
        self.centered = settings.flag(owner, "centered", self.centered)

    def proposal(self, i, p, grad):
        g = self.decayed_gradient(p, grad)
        v = self.alpha * self.square_avg[i] + (1 - self.alpha) * g * g
        state = {"square_avg": v}
        if self.centered:
            mean = state["grad_avg"] = self.alpha * self.grad_avg[i] + (1 - self.alpha) * g
            v = np.maximum(v - mean * mean, 0.0)
        step = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            step = state["buffer"] = self.momentum * self.buffer[i] + step
        return (self.lr * step).astype(p.dtype, copy=False), state


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), PyTorch's form: s += g^2, p -= lr_t g / (sqrt(s) + eps)
    with lr_t = lr / (1 + (t - 1) lr_decay) at the t-th step; s starts at
    initial_accumulator_value. weight_decay adds weight_decay * p to g."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr)
        self.lr_decay, self.weight_decay, self.eps = lr_decay, weight_decay, eps
        self.check_settings("Adagrad")
        start = settings.non_negative_float("Adagrad", "initial_accumulator_value",
                                            initial_accumulator_value)
        self.sums = [np.full_like(p._data, start) for p in self.params]
        self.t = [0] * len(self.params)

    def check_settings(self, owner):
        self.lr_decay = settings.non_negative_float(owner, "lr_decay", self.lr_decay)
        self.weight_decay = settings.non_negative_float(owner, "weight_decay", self.weight_decay)
        self.eps = settings.positive_float(owner, "eps", self.eps)

    def proposal(self, i, p, grad):
        g = self.decayed_gradient(p, grad)
        t = self.t[i] + 1
        rate = self.lr / (1 + (t - 1) * self.lr_decay)
        sums = self.sums[i] + g * g
        step = (rate * g / (np.sqrt(sums) + self.eps)).astype(p.dtype, copy=False)
        return step, {"sums": sums, "t": t}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's form: first
    p *= 1 - lr weight_decay, then Adam's step on the plain gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        self.decoupled_weight_decay = settings.non_negative_float("AdamW", "weight_decay",
                                                                  weight_decay)
        super().__init__(params, lr, betas, eps, weight_decay=0.0)

    def check_settings(self, owner):
        super().check_settings(owner)
        self.decoupled_weight_decay = settings.non_negative_float(
            owner, "decoupled_weight_decay", self.decoupled_weight_decay)
        if self.weight_decay:
            raise SettingError(f"{owner}: AdamW's weight decay is decoupled_weight_decay (its "
                               f"weight_decay argument); weight_decay = {self.weight_decay} "
                               f"would add Adam's L2 term to the gradient as well")

    def proposal(self, i, p, grad):
        step, state = self.adam_step(i, grad, p.dtype)      # on the plain gradient
        # p (1 - lr wd) - step = p - (lr wd p + step)
        decay = p._data * np.asarray(self.lr * self.decoupled_weight_decay, dtype=p.dtype)
        return step + decay, state


def betas_pair(owner, betas):
    """Adam's (beta1, beta2): two numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise SettingError(f"{owner}: betas must be a pair (beta1, beta2) of numbers in [0, 1), "
                           f"got {betas!r}")
    return tuple(settings.real(owner, f"betas[{k}]", b, low=0, high=1, high_open=True)
                 for k, b in enumerate(betas))
