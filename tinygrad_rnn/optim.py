"""Optimizers and gradient clipping, updating parameters' .data in place (as torch.optim).

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss.backward(); clip_grad_norm(model.parameters(), 1.0); opt.step()
"""
import numpy as np

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
