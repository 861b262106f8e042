"""Optimizers and gradient clipping, updating parameters' .data in place (as torch.optim).

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss.backward(); clip_grad_norm(model.parameters(), 1.0); opt.step()

Learning-rate schedulers are in lr_scheduler (schedulers.py), as in torch.optim.lr_scheduler:

    scheduler = lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)   # after each opt.step()
"""
import numpy as np

from . import schedulers as lr_scheduler  # noqa: F401  (optim.lr_scheduler, PyTorch's spelling)
from .errors import SettingError


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise SettingError(f"{type(self).__name__}: got an empty parameter list")
        if lr <= 0:
            raise SettingError(f"{type(self).__name__}: the learning rate must be positive, "
                               f"got {lr}")
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.update(i, p)

    def update(self, i, p):
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * v with v = momentum * v + (grad + weight_decay * p) (PyTorch's convention;
    nesterov=True uses grad + momentum * v instead of v)."""

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.velocity = [None] * len(self.params)

    def update(self, i, p):
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        if self.momentum:
            v = g.copy() if self.velocity[i] is None else self.momentum * self.velocity[i] + g
            self.velocity[i] = v
            g = g + self.momentum * v if self.nesterov else v
        p.data -= (self.lr * g).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay adds weight_decay * p to the
    gradient (L2, as torch.optim.Adam)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = [0] * len(self.params)

    def update(self, i, p):
        b1, b2 = self.betas
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        self.t[i] += 1
        self.m[i] = b1 * self.m[i] + (1 - b1) * g
        self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
        m_hat = self.m[i] / (1 - b1 ** self.t[i])
        v_hat = self.v[i] / (1 - b2 ** self.t[i])
        p.data -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)


def _check_rate(optimizer, name, value, low=0.0, high=1.0):
    """A decay rate or factor in [low, high), or a SettingError naming the optimizer."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not low <= value < high:
        raise SettingError(f"{type(optimizer).__name__}: {name} must be a number in [{low}, "
                           f"{high}), got {value!r}")


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), PyTorch's form: v = alpha v + (1 - alpha) g^2 and
    p -= lr g / (sqrt(v) + eps); centered=True divides by sqrt(v - mean(g)^2) instead, and
    momentum > 0 keeps a buffer b = momentum b + g / (sqrt(v) + eps), p -= lr b. weight_decay
    adds weight_decay * p to g."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, lr)
        _check_rate(self, "alpha", alpha)
        _check_rate(self, "eps", eps, high=float("inf"))
        _check_rate(self, "momentum", momentum, high=float("inf"))
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered
        self.square_avg = [np.zeros_like(p.data) for p in self.params]
        self.grad_avg = [np.zeros_like(p.data) for p in self.params]
        self.buffer = [np.zeros_like(p.data) for p in self.params]

    def update(self, i, p):
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        v = self.square_avg[i] = self.alpha * self.square_avg[i] + (1 - self.alpha) * g * g
        if self.centered:
            mean = self.grad_avg[i] = self.alpha * self.grad_avg[i] + (1 - self.alpha) * g
            v = v - mean * mean
        step = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            step = self.buffer[i] = self.momentum * self.buffer[i] + step
        p.data -= (self.lr * step).astype(p.dtype, copy=False)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), PyTorch's form: s += g^2, p -= lr_t g / (sqrt(s) + eps)
    with lr_t = lr / (1 + (t - 1) lr_decay) at the t-th step; s starts at
    initial_accumulator_value. weight_decay adds weight_decay * p to g."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr)
        for name, value in (("lr_decay", lr_decay), ("initial_accumulator_value",
                                                     initial_accumulator_value), ("eps", eps)):
            _check_rate(self, name, value, high=float("inf"))
        self.lr_decay, self.weight_decay, self.eps = lr_decay, weight_decay, eps
        self.sums = [np.full_like(p.data, initial_accumulator_value) for p in self.params]
        self.t = [0] * len(self.params)

    def update(self, i, p):
        g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
        self.t[i] += 1
        rate = self.lr / (1 + (self.t[i] - 1) * self.lr_decay)
        self.sums[i] = self.sums[i] + g * g
        p.data -= (rate * g / (np.sqrt(self.sums[i]) + self.eps)).astype(p.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's form: first
    p *= 1 - lr weight_decay, then Adam's step on the plain gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay=0.0)
        for name, beta in zip(("betas[0]", "betas[1]"), betas):
            _check_rate(self, name, beta)
        _check_rate(self, "weight_decay", weight_decay, high=float("inf"))
        self.decoupled_weight_decay = weight_decay

    def update(self, i, p):
        p.data *= np.asarray(1 - self.lr * self.decoupled_weight_decay, dtype=p.dtype)
        super().update(i, p)


def grad_norm(params):
    """The global L2 norm of all gradients (parameters without a gradient count as zero)."""
    return float(np.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64)))
                             for p in params if p.grad is not None)))


def clip_grad_norm(params, max_norm):
    """Scale all gradients so their global L2 norm is at most max_norm; returns the norm
    before clipping (as torch.nn.utils.clip_grad_norm_)."""
    params = list(params)
    total = grad_norm(params)
    if total > max_norm:
        scale = max_norm / (total + 1e-12)
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * np.asarray(scale, dtype=p.grad.dtype)
    return total
