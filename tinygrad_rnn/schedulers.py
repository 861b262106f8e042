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
    ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=10, ...)
                                             lr = lr factor after a plateau of the metric
                                             given to step(metric) (its class doc)

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

import numpy as np

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


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by `factor` when the metric passed to step(metric) (a validation loss,
    a float or a one-element Tensor) has not improved for more than `patience` epochs, as
    PyTorch's: mode "min" (lower is better) or "max"; an improvement must beat the best by
    `threshold`, relative (threshold_mode "rel": below best (1 - threshold) in mode min) or
    absolute ("abs": below best - threshold); after a reduction, `cooldown` epochs count no
    bad epoch; the lr never goes below min_lr, and a change smaller than eps is not made.
    A NaN metric is a SettingError (a diverged loss, which PyTorch counts as a bad epoch)."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        owner = "ReduceLROnPlateau"
        self.mode = settings.one_of(owner, "mode", mode, ("min", "max"))
        self.factor = settings.real(owner, "factor", factor, low=0, high=1, low_open=True,
                                    high_open=True, wanted="a number in (0, 1)")
        self.patience = settings.non_negative_int(owner, "patience", patience)
        self.threshold = settings.non_negative_float(owner, "threshold", threshold)
        self.threshold_mode = settings.one_of(owner, "threshold_mode", threshold_mode,
                                              ("rel", "abs"))
        self.cooldown = settings.non_negative_int(owner, "cooldown", cooldown)
        self.min_lr = settings.non_negative_float(owner, "min_lr", min_lr)
        self.eps = settings.non_negative_float(owner, "eps", eps)
        super().__init__(optimizer)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0

    def is_better(self, metric):
        """Whether `metric` beats the best so far by the threshold."""
        sign = 1 if self.mode == "min" else -1     # mode max: the same test on -metric
        if self.threshold_mode == "rel":
            return sign * metric < sign * self.best * (1 - sign * self.threshold)
        return sign * metric < sign * self.best - self.threshold

    def step(self, metric):
        """Count this epoch's metric, and reduce the lr after more than `patience` epochs
        without an improvement (none during a cooldown)."""
        try:
            if isinstance(metric, (str, bytes, bool, np.bool_)):    # float("0.1"), float(True)
                raise TypeError("a string or a bool is not a loss")
            metric = float(metric)
        except OverflowError:          # an int beyond float's range: infinite, as settings.real
            metric = math.inf if metric > 0 else -math.inf
        except (TypeError, ValueError) as exc:
            raise SettingError(f"ReduceLROnPlateau.step: metric must be a number (the "
                               f"validation loss), got {type(metric).__name__} ({exc})") from None
        if math.isnan(metric):
            raise SettingError(f"ReduceLROnPlateau.step: the metric at epoch "
                               f"{self.last_epoch + 1} is NaN (a diverged loss?); the lr stays "
                               f"{self.optimizer.lr:g}")
        self.last_epoch += 1
        if self.is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            lr = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - lr > self.eps:
                self.optimizer.lr = lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self.last_lr = self.optimizer.lr
