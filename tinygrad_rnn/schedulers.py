"""Learning-rate schedulers, as torch.optim.lr_scheduler (imported as optim.lr_scheduler).

A scheduler sets its optimizer's lr from the number of times step() was called (the epoch e,
0 at construction, when it remembers the starting lr as base_lr). Call it after opt.step():

    opt = optim.Adam(model.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=1000)
    for step in range(1000):
        ...; opt.step(); scheduler.step()

    StepLR(opt, step_size, gamma=0.1)        lr = base_lr gamma^floor(e / step_size)
    ExponentialLR(opt, gamma)                lr = base_lr gamma^e
    CosineAnnealingLR(opt, T_max, eta_min=0) lr = eta_min + (base_lr - eta_min)
                                                       (1 + cos(pi e / T_max)) / 2

Each is written in closed form; the tests hold them to PyTorch's numbers.
"""
import math

from .errors import SettingError


def _positive(scheduler, name, value, integer=False):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0 or \
            not math.isfinite(value):
        kind = "integer" if integer else "number"
        raise SettingError(f"{type(scheduler).__name__}: {name} must be a positive {kind}, "
                           f"got {value!r}")


class LRScheduler:
    """The shared part: base_lr, last_epoch, step() and get_last_lr()."""

    def __init__(self, optimizer):
        if not hasattr(optimizer, "lr"):
            raise SettingError(f"{type(self).__name__}: expected an optimizer from "
                               f"tinygrad_rnn.optim (with an lr), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch):
        raise NotImplementedError(f"{type(self).__name__} must define lr_at")

    def step(self):
        """Advance one epoch and set the optimizer's lr."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self):
        """[the lr set last], a list as in PyTorch (one optimizer, one group)."""
        return [self.optimizer.lr]


class StepLR(LRScheduler):
    """Multiply the lr by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        _positive(self, "step_size", step_size, integer=True)
        _positive(self, "gamma", gamma)
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every epoch."""

    def __init__(self, optimizer, gamma):
        _positive(self, "gamma", gamma)
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from base_lr down to eta_min over T_max epochs (SGDR without restarts;
    past T_max it rises again, as PyTorch's does)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):
        _positive(self, "T_max", T_max, integer=True)
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)) or eta_min < 0:
            raise SettingError(f"CosineAnnealingLR: eta_min must be a non-negative number, got "
                               f"{eta_min!r}")
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch):
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine
