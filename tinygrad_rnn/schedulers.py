"""Learning-rate schedulers, as torch.optim.lr_scheduler (imported as optim.lr_scheduler).

A scheduler changes its optimizer's lr each time step() is called (the epoch e counts the
calls, 0 at construction, when it remembers the starting lr as base_lr). Call it after
opt.step():

    opt = optim.Adam(model.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=1000)
    for step in range(1000):
        ...; opt.step(); scheduler.step()

    StepLR(opt, step_size, gamma=0.1)        lr = base_lr gamma^floor(e / step_size)
    ExponentialLR(opt, gamma)                lr = base_lr gamma^e
    CosineAnnealingLR(opt, T_max, eta_min=0) lr = eta_min + (base_lr - eta_min)
                                                       (1 + cos(pi e / T_max)) / 2

Each step multiplies the optimizer's current lr by the schedule's ratio from epoch e - 1 to e
(PyTorch's "chainable" form), which gives the formulas above when the scheduler works alone,
and as in PyTorch two schedulers on one optimizer compose (StepLR and ExponentialLR multiply
their factors) and an lr set by hand carries on from where it was set. (A closed form from
base_lr would let each scheduler overwrite the other.) The tests hold them to PyTorch's
numbers, alone and together. Settings are
checked as the optimizers' are (settings.py: numpy numbers taken, bools, NaN and Inf refused).
An lr that would leave the floating range (ExponentialLR(gamma=10) from lr 0.1, at epoch 310) is a
SettingError naming the epoch, and the optimizer keeps its lr: PyTorch would set inf and the
next step would turn every weight into NaN. An lr of 0 (the end of a cosine with eta_min=0,
or an exponential decay that underflows) is legal: the step then changes nothing.
"""
import math

from . import settings
from .errors import SettingError


def _gamma(owner, gamma):
    return settings.real(owner, "gamma", gamma, low=0, low_open=True,
                         wanted="a positive finite number")


class LRScheduler:
    """The shared part: base_lr, last_epoch, step() and get_last_lr()."""

    def __init__(self, optimizer):
        owner = type(self).__name__
        if not hasattr(optimizer, "lr"):
            raise SettingError(f"{owner}: expected an optimizer from "
                               f"tinygrad_rnn.optim (with an lr), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = settings.non_negative_float(owner, "the optimizer's lr", optimizer.lr)
        self.last_epoch = 0
        self.last_lr = self.base_lr

    def lr_at(self, epoch, lr):
        """The lr at `epoch`, from the lr in force at epoch - 1."""
        raise NotImplementedError(f"{type(self).__name__} must define lr_at")

    def step(self):
        """Advance one epoch and set the optimizer's lr (see the module doc for an lr that
        leaves the floating range)."""
        epoch = self.last_epoch + 1
        try:
            lr = float(self.lr_at(epoch, self.optimizer.lr))
        except OverflowError:
            lr = math.inf
        if not math.isfinite(lr) or lr < 0:
            raise SettingError(f"{type(self).__name__}: at epoch {epoch} the learning rate "
                               f"would be {lr} (base_lr {self.base_lr:g}); the optimizer keeps "
                               f"lr={self.optimizer.lr:g}. Stop the schedule earlier or choose "
                               f"a gamma that keeps it finite")
        self.last_epoch = epoch
        self.optimizer.lr = self.last_lr = lr

    def get_last_lr(self):
        """[the lr this scheduler set last], a list as in PyTorch (one optimizer, one group):
        an lr set by hand since then is the optimizer's, not this."""
        return [self.last_lr]


class StepLR(LRScheduler):
    """Multiply the lr by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        step_size = settings.positive_int("StepLR", "step_size", step_size)
        gamma = _gamma("StepLR", gamma)
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch, lr):
        return lr * self.gamma if epoch % self.step_size == 0 else lr


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every epoch."""

    def __init__(self, optimizer, gamma):
        gamma = _gamma("ExponentialLR", gamma)
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, epoch, lr):
        return lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from base_lr down to eta_min over T_max epochs (SGDR without restarts;
    past T_max it rises again, as PyTorch's does)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):
        T_max = settings.positive_int("CosineAnnealingLR", "T_max", T_max)
        eta_min = settings.non_negative_float("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch, lr):
        """(lr - eta_min) times the ratio of the half-cosines at e and e - 1; at the bottom of
        the cosine (e - 1 an odd multiple of T_max, where that ratio is 0 / 0) the rise
        (base_lr - eta_min) (1 - cos(pi / T_max)) / 2 is added instead, as in PyTorch."""
        angle = math.pi / self.T_max
        if (epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return lr + (self.base_lr - self.eta_min) * (1 - math.cos(angle)) / 2
        return (self.eta_min + (lr - self.eta_min) * (1 + math.cos(angle * epoch))
                / (1 + math.cos(angle * (epoch - 1))))
