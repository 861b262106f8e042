"""RMSprop, Adagrad and AdamW, and the learning-rate schedulers StepLR, ExponentialLR and
CosineAnnealingLR: each against its formula written out here in numpy, and against PyTorch's
own numbers where PyTorch is installed."""
import math

import numpy as np
import pytest
from refusals import refuses

from tinygrad_rnn import Tensor, optim
from tinygrad_rnn.errors import SettingError

STEPS = 6
GRADIENTS = [np.random.default_rng(i).normal(size=(2, 3)) for i in range(STEPS)]
START = np.random.default_rng(99).normal(size=(2, 3))


def run_ours(make, gradients=GRADIENTS):
    p = Tensor(START.copy(), requires_grad=True)
    opt = make([p])
    trace = []
    for g in gradients:
        p.grad = g.copy()
        opt.step()
        trace.append(p.data.copy())
    return trace


def rmsprop_formula(lr, alpha, eps, weight_decay, momentum, centered):
    p, v, mean, buffer, trace = START.copy(), 0.0, 0.0, 0.0, []
    for g in GRADIENTS:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        denominator = v
        if centered:
            mean = alpha * mean + (1 - alpha) * g
            denominator = v - mean ** 2
        step = g / (np.sqrt(denominator) + eps)
        if momentum:
            buffer = momentum * buffer + step
            step = buffer
        p = p - lr * step
        trace.append(p)
    return trace


def adagrad_formula(lr, lr_decay, weight_decay, initial, eps):
    p, total, trace = START.copy(), initial, []
    for t, g in enumerate(GRADIENTS, start=1):
        g = g + weight_decay * p
        total = total + g ** 2
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(total) + eps)
        trace.append(p)
    return trace


def adamw_formula(lr, betas, eps, weight_decay):
    p, m, v, trace = START.copy(), 0.0, 0.0, []
    for t, g in enumerate(GRADIENTS, start=1):
        p = p * (1 - lr * weight_decay)
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g ** 2
        p = p - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
        trace.append(p)
    return trace


CASES = {
    "RMSprop": dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
    "RMSprop-centered-momentum-decay": dict(lr=0.02, alpha=0.95, eps=1e-6, weight_decay=0.1,
                                            momentum=0.8, centered=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                    eps=1e-10),
    "Adagrad-decays": dict(lr=0.1, lr_decay=0.3, weight_decay=0.05,
                           initial_accumulator_value=0.5, eps=1e-6),
    "AdamW": dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    "AdamW-strong-decay": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.5),
}


def formula(name, kwargs):
    kind = name.split("-")[0]
    if kind == "RMSprop":
        return rmsprop_formula(**kwargs)
    if kind == "Adagrad":
        return adagrad_formula(kwargs["lr"], kwargs["lr_decay"], kwargs["weight_decay"],
                               kwargs["initial_accumulator_value"], kwargs["eps"])
    return adamw_formula(**kwargs)


@pytest.mark.parametrize("name", CASES)
def test_optimizers_follow_their_formulas(name):
    kwargs = CASES[name]
    ours = run_ours(lambda params: getattr(optim, name.split("-")[0])(params, **kwargs))
    for got, want in zip(ours, formula(name, kwargs)):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert not np.allclose(ours[-1], START)


@pytest.mark.parametrize("name", CASES)
def test_optimizers_match_torch(name):
    torch = pytest.importorskip("torch")
    kwargs = CASES[name]
    kind = name.split("-")[0]
    ours = run_ours(lambda params: getattr(optim, kind)(params, **kwargs))
    theirs = torch.nn.Parameter(torch.tensor(START.copy()))
    opt = getattr(torch.optim, kind)([theirs], **kwargs)
    for got, g in zip(ours, GRADIENTS):
        theirs.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(got, theirs.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_float32_parameters_stay_float32():
    for make in (optim.RMSprop, optim.Adagrad, optim.AdamW):
        p = Tensor(START.astype(np.float32), requires_grad=True)
        p.grad = GRADIENTS[0].astype(np.float32)
        make([p]).step()
        assert p.dtype == np.float32


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.RMSprop(p, alpha=1.5), r"alpha must be a finite number in \[0, 1\)"),
    (lambda p: optim.RMSprop(p, momentum=-1), "momentum must be"),
    (lambda p: optim.Adagrad(p, lr_decay=-0.1), "lr_decay must be"),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.0)), r"betas\[1\] must be a finite number in \[0, 1\)"),
    (lambda p: optim.AdamW(p, weight_decay=-1), "weight_decay must be"),
    (lambda p: optim.RMSprop(p, lr=-1), r"lr \(the learning rate\) must be a finite number > 0"),
    (lambda p: optim.Adagrad(p, eps=0), "eps must be a finite number > 0"),
])
def test_bad_settings_are_named(make, match):
    with pytest.raises(SettingError, match=match):
        make([Tensor(np.zeros(2), requires_grad=True)])


@pytest.mark.parametrize("make, setting, value, match", [
    (lambda p: optim.Adam(p, lr=0.1), "betas", (1.0, 1.0), r"Adam.step: betas\[0\] must be"),
    (lambda p: optim.Adam(p), "eps", -1e-8, "Adam.step: eps must be a finite number > 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "momentum", np.nan, "SGD.step: momentum"),
    (lambda p: optim.SGD(p, momentum=0.9, nesterov=True), "momentum", 0.0, "nesterov=True needs"),
    (lambda p: optim.SGD(p), "weight_decay", np.inf, "SGD.step: weight_decay must be"),
    (lambda p: optim.RMSprop(p), "alpha", 1.0, r"RMSprop.step: alpha must be a finite number in"),
    (lambda p: optim.RMSprop(p), "momentum", -0.5, "RMSprop.step: momentum must be"),
    (lambda p: optim.RMSprop(p), "centered", "yes", "RMSprop.step: centered"),
    (lambda p: optim.Adagrad(p), "lr_decay", -1, "Adagrad.step: lr_decay must be"),
    (lambda p: optim.AdamW(p), "decoupled_weight_decay", -0.1, "decoupled_weight_decay must"),
    (lambda p: optim.AdamW(p), "weight_decay", 0.01, "AdamW's weight decay is decoupled"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_settings_assigned_after_construction_are_checked_at_step(make, setting, value, match):
    """Only lr was checked again at step(): opt.betas = (1.0, 1.0) made Adam divide by
    1 - 1^t = 0 and every weight NaN, opt.momentum = nan likewise."""
    p = Tensor(START.copy(), requires_grad=True)
    opt = make([p])
    setattr(opt, setting, value)
    p.grad = GRADIENTS[0].copy()
    with pytest.raises(SettingError, match=match):
        opt.step()
    np.testing.assert_array_equal(p.data, START)


# --- schedulers ---

SCHEDULES = {
    "StepLR": (dict(step_size=3, gamma=0.5), lambda base, e: base * 0.5 ** (e // 3)),
    "ExponentialLR": (dict(gamma=0.9), lambda base, e: base * 0.9 ** e),
    "CosineAnnealingLR": (dict(T_max=8, eta_min=0.01),
                          lambda base, e: 0.01 + (base - 0.01) * (1 + math.cos(math.pi * e / 8))
                          / 2),
}


def our_schedule(name, epochs):
    kwargs, _ = SCHEDULES[name]
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.3)
    scheduler = getattr(optim.lr_scheduler, name)(opt, **kwargs)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.step()
        lrs.append(opt.lr)
    return lrs


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedulers_follow_their_closed_forms(name):
    lrs = our_schedule(name, 20)
    closed_form = SCHEDULES[name][1]
    # each step multiplies the lr by a ratio, as PyTorch's step() does: within rounding
    np.testing.assert_allclose(lrs, [closed_form(0.3, e) for e in range(21)], rtol=1e-14)


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedulers_match_torch_also_past_their_period(name):
    torch = pytest.importorskip("torch")
    kwargs, _ = SCHEDULES[name]
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=0.3)
    scheduler = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    theirs = [scheduler.get_last_lr()[0]]
    for _ in range(20):
        opt.step()
        scheduler.step()
        theirs.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(our_schedule(name, 20), theirs, rtol=1e-12, atol=1e-15)


PLATEAU_METRICS = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.999, 2.0, 2.5,
                   2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 1.0, 1.0, 1.0, 1.0]
PLATEAU_SETTINGS = [dict(patience=2), dict(patience=1, cooldown=2, factor=0.5),
                    dict(mode="max", patience=1), dict(threshold=0.01, threshold_mode="abs",
                                                       patience=0, min_lr=0.01),
                    dict(threshold=0.3, patience=1, eps=0.05)]


def our_plateau(kwargs, metrics):
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.3)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    lrs = []
    for metric in metrics:
        scheduler.step(metric)
        lrs.append(opt.lr)
    return lrs


def test_reduce_on_plateau_waits_patience_epochs_then_cools_down():
    flat = [1.0] * 12                  # the first epoch improves on inf; the rest do not
    lrs = our_plateau(dict(patience=2, factor=0.5), flat)
    reductions = [e for e in range(1, 12) if lrs[e] < lrs[e - 1]]
    assert reductions == [3, 6, 9]     # after 3 bad epochs each time (more than patience=2)
    lrs = our_plateau(dict(patience=0, factor=0.5, cooldown=2), flat)
    assert [e for e in range(1, 12) if lrs[e] < lrs[e - 1]] == [1, 4, 7, 10]
    lrs = our_plateau(dict(patience=0, factor=0.5, min_lr=0.1), flat)
    assert min(lrs) == 0.1 and lrs[-1] == 0.1
    improving = [1.0 / (e + 1) for e in range(12)]
    assert our_plateau(dict(patience=0), improving) == [0.3] * 12
    assert our_plateau(dict(patience=0, mode="max"), improving)[-1] < 0.3
    # a one-element Tensor is a metric; NaN and non-numbers are refused, the lr kept
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.3)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    scheduler.step(Tensor([2.0]))
    assert scheduler.best == 2.0
    refuses(SettingError, lambda: scheduler.step(float("nan")), "epoch 2", "NaN", "0.3")
    refuses(SettingError, lambda: scheduler.step("low"), "metric must be a number")
    refuses(SettingError, lambda: scheduler.step(Tensor([1.0, 2.0])), "metric must be a number")
    refuses(SettingError, lambda: scheduler.step("0.1"), "metric must be a number", "str")
    refuses(SettingError, lambda: scheduler.step(True), "metric must be a number", "bool")
    assert opt.lr == 0.3 and scheduler.last_epoch == 1
    for bad in (dict(factor=1.0), dict(factor=0), dict(mode="minimum"), dict(patience=-1),
                dict(threshold_mode="relative"), dict(min_lr=-1.0), dict(cooldown=0.5)):
        with pytest.raises(SettingError, match=f"ReduceLROnPlateau: {next(iter(bad))} must"):
            optim.lr_scheduler.ReduceLROnPlateau(opt, **bad)


def test_reduce_on_plateau_reads_an_int_past_floats_range_as_infinite():
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.3)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=5)
    scheduler.step(10**400)            # no better than the start's inf: a bad epoch
    assert scheduler.best == np.inf and scheduler.num_bad_epochs == 1
    scheduler.step(-(10**400))         # an improvement on inf
    assert scheduler.best == -np.inf and scheduler.num_bad_epochs == 0 and opt.lr == 0.3


@pytest.mark.parametrize("kwargs", PLATEAU_SETTINGS)
def test_reduce_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=0.3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    theirs = []
    for metric in PLATEAU_METRICS:
        opt.step()
        scheduler.step(metric)
        theirs.append(opt.param_groups[0]["lr"])
    ours = our_plateau(kwargs, PLATEAU_METRICS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)
    assert len(set(ours)) > 1, "the schedule never reduced: the case tests nothing"


def test_a_scheduled_optimizer_steps_with_the_scheduled_rate():
    p = Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = np.ones(1)
        opt.step()
        scheduler.step()
    np.testing.assert_array_equal(p.data, [-(1.0 + 0.5 + 0.25)])


@pytest.mark.parametrize("make, match", [
    (lambda o: optim.lr_scheduler.StepLR(o, step_size=0), "step_size must be a positive integer"),
    (lambda o: optim.lr_scheduler.StepLR(o, step_size=2.5), "positive integer"),
    (lambda o: optim.lr_scheduler.ExponentialLR(o, gamma=-0.5), "gamma must be a positive"),
    (lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=-1), "eta_min must be"),
    (lambda o: optim.lr_scheduler.StepLR(object(), step_size=2), "expected an optimizer"),
])
def test_bad_scheduler_settings_are_named(make, match):
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(SettingError, match=match):
        make(opt)


def _two_schedules(framework, make_optimizer, hand_set):
    """StepLR(2, 0.5) and ExponentialLR(0.9) on one optimizer, and the lr set to 0.2 by hand
    after the fourth epoch (hand_set sets it): the lrs after each of 8 epochs."""
    opt = make_optimizer()
    schedules = [framework.lr_scheduler.StepLR(opt, 2, gamma=0.5),
                 framework.lr_scheduler.ExponentialLR(opt, 0.9)]
    lrs = []
    for epoch in range(1, 9):
        opt.step()
        for schedule in schedules:
            schedule.step()
        if epoch == 4:
            hand_set(opt, 0.2)          # get_last_lr() is still the scheduled lr, as torch's
        lrs.append(schedules[-1].get_last_lr()[0])
    return lrs


def test_two_schedulers_on_one_optimizer_compose_and_a_hand_set_lr_carries_on():
    """Closed forms from base_lr let the last scheduler overwrite the other (0.053 where torch
    has 0.0066 after six epochs) and undo an lr set by hand."""
    def ours():
        return optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)

    def set_ours(opt, lr):
        opt.lr = lr
    lrs = _two_schedules(optim, ours, set_ours)
    expected = [0.1 * 0.9, 0.1 * 0.9 ** 2 * 0.5, 0.1 * 0.9 ** 3 * 0.5, 0.1 * 0.9 ** 4 * 0.25,
                0.2 * 0.9, 0.2 * 0.9 ** 2 * 0.5, 0.2 * 0.9 ** 3 * 0.5, 0.2 * 0.9 ** 4 * 0.25]
    np.testing.assert_allclose(lrs, expected, rtol=1e-14)
    torch = pytest.importorskip("torch")

    def theirs():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)

    def set_theirs(opt, lr):
        opt.param_groups[0]["lr"] = lr
    np.testing.assert_allclose(lrs, _two_schedules(torch.optim, theirs, set_theirs), rtol=1e-14)
