"""Nothing silently wrong, training: optimizers refuse what would silently not train (a bare
Tensor, a Module, no-grad or repeated parameters, bad settings) and check every gradient before
any parameter changes; schedulers, clip_grad_norm and fit check theirs. (gradcheck:
test_nothing_silently_wrong_gradcheck.py.)"""
import numpy as np
import pytest
from refusals import refusal_cases, refuses

import tinygrad_rnn as tg
from tinygrad_rnn import (
    BackwardError,
    DTypeError,
    NumericalError,
    SettingError,
    ShapeError,
    Tensor,
    gradcheck,
    nn,
    optim,
)


def params():
    return nn.Elman(3, 4, 2, seed=0).parameters()


def leaf(values):
    return Tensor(np.asarray(values, dtype=float), requires_grad=True, name="w")


# --- what an optimizer is given: parameter lists, settings, read-only arrays ---

PARAMETER_LISTS = {
    "a bare Tensor": (lambda: leaf([1.0, 2.0]), "one Tensor", "[w]"),
    "a Module": (lambda: nn.Elman(3, 4, 2), "Elman model", "model.parameters()"),
    "a numpy array": (lambda: np.ones(3), "ndarray"),
    "a dict": (lambda: {"w": leaf([1.0])}, "dict"),
    "an empty list": (lambda: [], "empty"),
    "numbers": (lambda: [1.0, 2.0], "parameter 0 is a float"),
    "a non-leaf": (lambda: [leaf([1.0]) * 2], "output of 'mul'", "not a leaf"),
    "no grad": (lambda: [Tensor([1.0])], "does not require grad", "freeze"),
    "a repeated parameter": (lambda: (lambda w: [w, w])(leaf([1.0])), "parameter 1", "again"),
    "parameter groups": (lambda: [{"params": [leaf([1.0])]}], "groups"),
}


@pytest.mark.parametrize("kind", [optim.SGD, optim.Adam])
@pytest.mark.parametrize("make, phrases", [pytest.param(row[0], row[1:], id=name)
                                           for name, row in PARAMETER_LISTS.items()])
def test_parameter_lists_that_would_not_train_are_refused(kind, make, phrases):
    refuses(SettingError, lambda: kind(make(), lr=0.1), kind.__name__, *phrases)


BAD_SETTINGS = {
    "lr 0": (lambda: optim.SGD(params(), lr=0.0), "learning rate", "0.0"),
    "lr negative": (lambda: optim.Adam(params(), lr=-1e-3), "learning rate"),
    "lr NaN": (lambda: optim.SGD(params(), lr=np.nan), "lr", "nan"),
    "lr Inf": (lambda: optim.SGD(params(), lr=np.inf), "lr", "inf"),
    "lr True": (lambda: optim.SGD(params(), lr=True), "lr", "True"),
    "lr a str": (lambda: optim.Adam(params(), lr="0.1"), "lr", "'0.1'"),
    "lr None": (lambda: optim.SGD(params(), lr=None), "lr", "None"),
    "beta1 1": (lambda: optim.Adam(params(), betas=(1.0, 0.999)), "betas[0]", "[0, 1)"),
    "beta2 negative": (lambda: optim.Adam(params(), betas=(0.9, -0.1)), "betas[1]"),
    "betas one number": (lambda: optim.Adam(params(), betas=(0.9,)), "pair"),
    "betas a str": (lambda: optim.Adam(params(), betas="ab"), "pair"),
    "eps 0": (lambda: optim.Adam(params(), eps=0.0), "eps", "> 0"),
    "eps NaN": (lambda: optim.Adam(params(), eps=np.nan), "eps"),
    "momentum negative": (lambda: optim.SGD(params(), lr=0.1, momentum=-0.5), "momentum", ">= 0"),
    "momentum a str": (lambda: optim.SGD(params(), lr=0.1, momentum="a"), "momentum"),
    "weight_decay negative": (lambda: optim.SGD(params(), lr=0.1, weight_decay=-1),
                              "weight_decay"),
    "weight_decay Inf": (lambda: optim.Adam(params(), weight_decay=np.inf), "weight_decay"),
    "nesterov without momentum": (lambda: optim.SGD(params(), lr=0.1, nesterov=True),
                                  "nesterov", "momentum"),
    "nesterov a str": (lambda: optim.SGD(params(), lr=0.1, momentum=0.9, nesterov="yes"),
                       "nesterov"),
}


@pytest.mark.parametrize("make, phrases", [pytest.param(row[0], row[1:], id=name)
                                           for name, row in BAD_SETTINGS.items()])
def test_optimizer_settings_are_checked(make, phrases):
    refuses(SettingError, make, *phrases)


def test_numpy_numbers_and_list_betas_are_settings_too():
    opt = optim.Adam(params(), lr=np.float32(0.5), betas=[0.8, np.float64(0.9)])
    assert opt.lr == 0.5 and opt.betas == (0.8, 0.9)


def test_a_read_only_array_given_as_data_and_a_set_of_parameters():
    """x.data = array copies the array (inplace.rebind), so a read-only array becomes a
    parameter the optimizer can update; a set of parameters (no fixed order) is refused."""
    a, b = two_parameters()
    frozen = np.array([[3.0], [4.0]])
    frozen.flags.writeable = False
    b.data = frozen
    opt = optim.Adam([a, b], lr=0.5)
    a.grad, b.grad = np.ones(2), np.ones((2, 1))
    opt.step()
    assert frozen.tolist() == [[3.0], [4.0]] and b.data.tolist() != [[3.0], [4.0]]
    refuses(SettingError, lambda: optim.SGD({a, b}, lr=0.1), "set", "list")


def test_centered_rmsprop_keeps_the_variance_at_least_zero():
    """v - mean^2 >= 0, but rounding takes it below 0 when the gradient barely varies; its
    square root was NaN (as in PyTorch), and so became every weight it touched."""
    w = Tensor(np.zeros(1000), requires_grad=True)
    opt = optim.RMSprop([w], lr=1e-9, alpha=0.9, centered=True)
    g = np.random.default_rng(0).standard_normal(1000) * 1e3
    for _ in range(3000):
        w.grad = g.copy()
        opt.step()
    assert np.isfinite(w.data).all()


# --- step(): every gradient checked before any parameter changes ---

def two_parameters():
    a, b = leaf([1.0, 2.0]), leaf([[3.0], [4.0]])
    a.name, b.name = "a", "b"
    return a, b


@pytest.mark.parametrize("kind", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.1)], ids=["SGD", "Adam"])
@pytest.mark.parametrize("bad_grad, error, phrases", [
    (np.ones(3), ShapeError, ("gradient of b", "(3,)", "(2, 1)", "no parameter was changed")),
    (np.ones(2), ShapeError, ("gradient of b", "(2,)")),        # would broadcast silently
    (np.array([[1.0], [np.nan]]), NumericalError, ("gradient of b", "nan", "(1, 0)")),
    (np.array([[np.inf], [1.0]]), NumericalError, ("gradient of b", "inf", "(0, 0)")),
    (np.array([["a"], ["b"]]), DTypeError, ("gradient of b", "not an array of numbers")),
], ids=["other shape", "broadcastable shape", "NaN", "Inf", "words"])
def test_a_bad_gradient_changes_no_parameter(kind, bad_grad, error, phrases):
    a, b = two_parameters()
    opt = kind([a, b])
    a.grad, b.grad = np.ones(2), bad_grad          # a's gradient is fine, and comes first
    refuses(error, opt.step, *phrases)
    assert a.data.tolist() == [1.0, 2.0] and b.data.tolist() == [[3.0], [4.0]]
    a.grad, b.grad = np.ones(2), np.ones((2, 1))   # the optimizer still works afterwards
    opt.step()
    assert a.data[0] < 1.0


def test_a_parameter_rebound_to_another_shape_is_named():
    a, b = two_parameters()
    opt = optim.Adam([a, b], lr=0.1)
    a.data, a.grad = np.zeros(3), np.ones(3)
    refuses(ShapeError, opt.step, "a has shape (3,)", "(2,)", "new optimizer")


def test_gradients_given_as_lists_or_integers_are_read_as_arrays():
    w = leaf([1.0, 1.0])
    opt = optim.SGD([w], lr=0.5)
    w.grad = [1, 2]
    opt.step()
    assert w.data.tolist() == [0.5, 0.0] and w.grad.dtype == np.float64


@pytest.mark.parametrize("bad_grad, phrase", [
    (np.array([[1 + 1j], [1.0]]), "complex128"),      # would lose the imaginary part silently
    (np.array([[True], [False]]), "bool"),
    (np.array([[None], [1.0]], dtype=object), "object"),   # was read as NaN
], ids=["complex", "bool", "object"])
def test_gradients_that_are_not_real_numbers_change_nothing(bad_grad, phrase):
    a, b = two_parameters()
    opt = optim.SGD([a, b], lr=0.1)
    a.grad, b.grad = np.ones(2), bad_grad
    refuses(DTypeError, opt.step, "gradient of b", phrase, "no parameter")
    assert a.data.tolist() == [1.0, 2.0] and b.data.tolist() == [[3.0], [4.0]]
    a.grad, b.grad = np.ones(2), bad_grad
    refuses(DTypeError, lambda: optim.clip_grad_norm([a, b], 1.0), "gradient of b", phrase)


# --- schedulers ---

def sgd(lr=0.1):
    return optim.SGD([leaf([1.0])], lr=lr)


def test_schedulers_take_numpy_numbers():
    scheduler = optim.lr_scheduler

    def lr_after(schedule, epochs):
        for _ in range(epochs):
            schedule.step()
        return schedule.get_last_lr()[0]
    assert lr_after(scheduler.StepLR(sgd(), np.int64(2), gamma=np.float32(0.5)), 2) == \
        pytest.approx(0.05)
    assert lr_after(scheduler.ExponentialLR(sgd(), np.float32(0.5)), 1) == pytest.approx(0.05)
    cosine = scheduler.CosineAnnealingLR(sgd(), np.int64(10), eta_min=np.float32(0.01))
    assert lr_after(cosine, 10) == pytest.approx(0.01)


@pytest.mark.parametrize("make, phrases", [
    (lambda: optim.lr_scheduler.CosineAnnealingLR(sgd(), 10, eta_min=np.nan), ("eta_min", "nan")),
    (lambda: optim.lr_scheduler.CosineAnnealingLR(sgd(), 10, eta_min=np.inf), ("eta_min", "inf")),
    (lambda: optim.lr_scheduler.StepLR(type("Opt", (), {"lr": "a"})(), 2), ("lr", "'a'")),
], ids=["eta_min NaN", "eta_min Inf", "an lr that is a str"])
def test_scheduler_settings_that_would_make_the_lr_nan_are_refused(make, phrases):
    refuses(SettingError, make, *phrases)


def test_a_schedule_leaving_the_float_range_stops_with_the_lr_it_had():
    opt = sgd()
    scheduler = optim.lr_scheduler.ExponentialLR(opt, 1e10)
    for _ in range(30):
        scheduler.step()
    refuses(SettingError, scheduler.step, "epoch 31", "inf")
    assert opt.lr == pytest.approx(1e299) and scheduler.last_epoch == 30


# --- clip_grad_norm ---

@pytest.mark.parametrize("max_norm", [0.0, -1.0, np.nan, "1", None, True], ids=repr)
def test_clip_grad_norm_refuses_a_max_norm_that_is_not_positive(max_norm):
    w = leaf([3.0, 4.0])
    w.grad = np.array([3.0, 4.0])
    refuses(SettingError, lambda: optim.clip_grad_norm([w], max_norm), "max_norm", repr(max_norm))
    assert w.grad.tolist() == [3.0, 4.0]        # a negative max_norm once flipped every sign


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_clip_grad_norm_refuses_non_finite_gradients_and_changes_none(bad):
    a, b = two_parameters()
    a.grad, b.grad = np.array([1.0, 2.0]), np.array([[bad], [1.0]])
    refuses(NumericalError, lambda: optim.clip_grad_norm([a, b], 1.0), "of b", "no gradient")
    assert b.grad[1, 0] == 1.0 and a.grad.tolist() == [1.0, 2.0]
    total = optim.clip_grad_norm([a, b], 1.0, error_if_nonfinite=False)
    assert not np.isfinite(total) and a.grad.tolist() == [1.0, 2.0]


def test_clip_grad_norm_takes_one_tensor_infinity_and_overflowing_squares():
    w = leaf([3.0, 4.0])
    w.grad = np.array([3.0, 4.0])
    assert optim.clip_grad_norm(w, 1.0) == 5.0 and np.allclose(w.grad, [0.6, 0.8])
    w.grad = np.array([3.0, 4.0])
    assert optim.clip_grad_norm([w], np.inf) == 5.0 and w.grad.tolist() == [3.0, 4.0]
    w.grad = np.array([3e200, 4e200])                 # finite, but the squares overflow
    assert optim.clip_grad_norm([w], 1.0) == pytest.approx(5e200)
    assert np.allclose(w.grad, [0.6, 0.8])
    w.grad = np.array([0.0, np.finfo(np.float64).max])    # the norm itself is the largest float
    optim.clip_grad_norm([w], 1.0)
    assert np.allclose(w.grad, [0.0, 1.0])                # (it scaled to 0: max / inf)
    refuses(DTypeError, lambda: optim.clip_grad_norm([np.ones(2)], 1.0), "ndarray")


def test_clip_grad_norm_reads_integer_and_list_gradients_as_numbers():
    w = leaf([1.0, 1.0])
    w.grad = np.array([3, 4])             # scaled in its own integer dtype it became [0, 0]
    assert optim.clip_grad_norm([w], 1.0) == 5.0 and np.allclose(w.grad, [0.6, 0.8])
    w.grad = [3.0, 4.0]
    optim.clip_grad_norm([w], 1.0)
    assert np.allclose(w.grad, [0.6, 0.8])


@pytest.mark.parametrize("params, phrase", [(None, "NoneType"), (5, "int"),
                                            (nn.Elman(3, 4, 2), "model.parameters()")],
                         ids=["None", "an int", "a model"])
def test_clip_grad_norm_names_what_is_not_a_parameter_list(params, phrase):
    refuses(SettingError, lambda: optim.clip_grad_norm(params, 1.0), "clip_grad_norm", phrase)


# --- fit ---

def fit(**changes):
    w = leaf([1.0])
    arguments = dict(params=[w], loss_fn=lambda step: (w * w).sum(),
                     optimizer=optim.SGD([w], lr=0.1), steps=3, progress=False)
    arguments.update(changes)
    return tg.fit(**arguments), w


FIT_REFUSALS = {
    "a non-Tensor loss": (DTypeError, lambda: fit(loss_fn=lambda s: 1.5), "loss_fn(0)", "float"),
    "a non-scalar loss": (ShapeError, lambda: fit(loss_fn=lambda s: leaf([1.0, 2.0]) * 2),
                          "shape (2,)", ".sum()"),
    "a loss without a graph": (BackwardError, lambda: fit(loss_fn=lambda s: Tensor(1.0)),
                               "does not require grad"),
    "steps negative": (SettingError, lambda: fit(steps=-1), "steps", "-1"),
    "steps 2.5": (SettingError, lambda: fit(steps=2.5), "steps"),
    "steps True": (SettingError, lambda: fit(steps=True), "steps"),
    "steps a str": (SettingError, lambda: fit(steps="3"), "steps"),
    "no optimizer": (SettingError, lambda: fit(optimizer=None), "zero_grad() and step()"),
    "a callback that is not a function": (SettingError, lambda: fit(callback=5), "callback"),
    "clip negative": (SettingError, lambda: fit(clip=-1), "clip"),
    "no loss_fn": (SettingError, lambda: fit(loss_fn=None), "loss_fn"),
    "a loss_fn without the step": (SettingError, lambda: fit(loss_fn=lambda: Tensor(1.0)),
                                   "loss_fn(step)"),
    "a bare Tensor as params": (SettingError, lambda: fit(params=leaf([1.0])), "fit",
                                "one Tensor"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(FIT_REFUSALS))
def test_fit_checks_its_arguments_and_each_loss(error, call, phrases):
    refuses(error, call, *phrases)


def test_an_exception_in_loss_fn_passes_through_after_the_steps_before_it():
    w = leaf([1.0])

    def loss_fn(step):
        if step == 2:
            raise KeyError("the user's own bug")
        return (w * w).sum()
    with pytest.raises(KeyError, match="own bug"):
        tg.fit([w], loss_fn, optim.SGD([w], lr=0.25), steps=5, progress=False)
    assert w.data[0] == pytest.approx(1.0 * 0.5 * 0.5)    # two steps of w -= 0.25 * 2w
    assert fit(steps=np.int64(2))[0] == [1.0, pytest.approx(0.64)] and fit(steps=0)[0] == []


def test_fit_checks_the_callback_and_that_the_optimizer_trains_params():
    refuses(SettingError, lambda: fit(callback=lambda: True), "callback(step, loss_value)")
    w, v = leaf([1.0]), leaf([1.0])
    refuses(SettingError, lambda: tg.fit([w], lambda s: (v * v).sum(), optim.SGD([v], lr=0.1),
                                         2, clip=1.0, progress=False), "differ")
    assert v.data.tolist() == [1.0]


# --- settings beyond a float's range, an lr changed after construction, clipping ---

@pytest.mark.parametrize("setting", [10**400, -10**400])
def test_an_int_beyond_floats_range_is_refused_as_infinite(setting):
    w = Tensor([1.0], requires_grad=True)
    refuses(SettingError, lambda: tg.optim.SGD([w], lr=setting), "lr", "a finite number",
            "401 characters" if setting > 0 else "402 characters")
    refuses(SettingError, lambda: gradcheck(lambda x: x.sum(), [w], atol=setting), "atol")


@pytest.mark.parametrize("lr, phrase", [(float("nan"), "got nan"), (-1.0, "got -1.0"),
                                        ("0.1", "got '0.1' (str)")])
def test_an_lr_set_after_construction_is_checked_at_step(lr, phrase):
    w = leaf([1.0, 2.0])
    w.grad = np.ones(2)
    optimizer = tg.optim.SGD([w], lr=0.1)
    optimizer.lr = lr
    refuses(SettingError, optimizer.step, "SGD.step: lr", phrase)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_clip_grad_norm_refuses_a_parameter_listed_twice():
    """Its gradient counted twice in the norm, scaled once: neither max_norm nor torch's."""
    p = leaf([1.0, 2.0])
    p.grad = np.array([3.0, 4.0])
    with pytest.raises(SettingError, match="parameter 1 .* is parameter 0 again"):
        optim.clip_grad_norm([p, p], 1.0)
    assert p.grad.tolist() == [3.0, 4.0]


@pytest.mark.parametrize("size", [1e-170, 1e-300, 1e200])
def test_the_gradient_norm_neither_underflows_nor_overflows(size):
    """The squares of 1e-170 are 0 in float64 and those of 1e200 inf: the norm is computed
    over g / max|g| then, so clipping still happens (and scales to max_norm)."""
    p = leaf([1.0, 1.0, 1.0, 1.0])
    p.grad = np.full(4, size)
    assert optim.grad_norm([p]) == pytest.approx(2 * size, rel=1e-12, abs=0)
    assert optim.clip_grad_norm([p], size) == pytest.approx(2 * size, rel=1e-12, abs=0)
    assert optim.grad_norm([p]) == pytest.approx(size, rel=1e-9, abs=0)
