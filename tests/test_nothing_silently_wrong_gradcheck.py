"""Nothing silently wrong, proof: gradcheck cannot be fooled into a pass (NaN on either side,
an eps lost in rounding, what fn takes and returns), names the step of a NaN loss term, and
leaves its inputs exactly as it found them, whatever happens. (The tolerance itself:
test_gradcheck.py.)"""
import numpy as np
import pytest
from refusals import refuses
from test_nothing_silently_wrong_training import leaf

import tinygrad_rnn as tg
from tinygrad_rnn import (
    BackwardError,
    DTypeError,
    SettingError,
    ShapeError,
    Tensor,
    gradcheck,
)

# --- gradcheck: never a pass it has not earned ---

@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")   # NaN on purpose
def test_nan_or_inf_on_either_side_fails_and_is_named():
    z = Tensor([1.0, 0.0, 2.0], name="z")
    # analytic NaN: d|z|^0.5 at 0 is 0.5 * 0^-0.5 * sign(0) = inf * 0; numeric: 0
    report = gradcheck(lambda z: (z.abs() ** 0.5).sum(), [z])
    check = report.worst
    assert not report and check.name == "z" and check.index == (1,) and check.nonfinite == 1
    assert np.isnan(check.analytic) and "NaN or Inf" in str(report)
    # numeric NaN: sqrt(u - 1e-7) at u = 2e-7 is finite, at u - eps it is NaN
    u = Tensor([2e-7], name="u")
    report = gradcheck(lambda u: (u - 1e-7).sqrt().sum(), [u])
    assert not report and np.isnan(report.worst.numeric) and np.isfinite(report.worst.analytic)
    # an eps that overflows: numeric Inf
    assert not gradcheck(lambda x: (x * x).sum(), [Tensor([1.0, 2.0])], eps=1e300)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")   # NaN on purpose
def test_a_nan_in_one_loss_term_names_its_step():
    a = Tensor([0.5, 0.25], name="a")

    def terms(a):          # R[3] = sum log(a - 1) is NaN: its numeric gradient is NaN
        return tg.stack([(a * a).sum(), (a * 3).sum(), (a - 1).log().sum()])
    report = gradcheck(terms, [a], per_step=True)
    assert not report and report.first_failing_step == 3 and report.worst.step == 3
    assert report.worst.nonfinite == 2 and "t=3" in str(report)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")   # NaN on purpose
def test_a_nan_in_a_later_term_is_not_blamed_on_the_first():
    """Seeding the stack of terms with a one-hot sent 0 into R[2]'s vjp: 0 * NaN = NaN landed
    in R[1]'s gradient, and the report named t=1."""
    w = Tensor([-1.0, 2.0], name="w")
    report = gradcheck(lambda w: tg.stack([w.sum(), (w ** 0.5).sum()]), [w], per_step=True)
    assert not report and report.first_failing_step == 2 and "t=2" in str(report)
    report = gradcheck(lambda w: tg.stack([w.sum(), (w.cut() * w).sum()]), [leaf([1.0, 2.0])],
                       per_step=True, mode="random")
    assert not report and report.first_failing_step == 2


GRADCHECK_SETTINGS = {
    "eps 0": (dict(eps=0), "eps", "0"), "eps NaN": (dict(eps=np.nan), "eps", "nan"),
    "eps negative": (dict(eps=-1e-6), "eps"), "eps Inf": (dict(eps=np.inf), "eps"),
    "eps a str": (dict(eps="1e-6"), "eps"), "atol negative": (dict(atol=-1e-5), "atol", ">= 0"),
    "atol NaN": (dict(atol=np.nan), "atol", "nan"), "atol Inf": (dict(atol=np.inf), "atol"),
    "rtol negative": (dict(rtol=-1), "rtol"), "rtol a str": (dict(rtol="a"), "rtol"),
    "directions 0": (dict(mode="random", directions=0), "directions", "positive"),
    "directions 2.5": (dict(directions=2.5), "directions"), "mode None": (dict(mode=None), "mode"),
    "per_step a str": (dict(per_step="yes"), "per_step"),
    "seed a str": (dict(mode="random", seed="a"), "seed"),
}


@pytest.mark.parametrize("settings, phrases", [pytest.param(row[0], row[1:], id=name)
                                               for name, row in GRADCHECK_SETTINGS.items()])
def test_gradcheck_settings_are_checked(settings, phrases):
    x = Tensor([1.0, 2.0])
    refuses(SettingError, lambda: gradcheck(lambda x: (x.cut() * x).sum(), [x], **settings),
            "gradcheck", *phrases)


@pytest.mark.parametrize("eps, value, mode", [(1e-320, 1.0, "elements"), (1e-320, 1.0, "random"),
                                              (1e-12, 1e6, "elements")])
def test_an_eps_lost_in_rounding_is_refused_not_passed(eps, value, mode):
    """x + eps == x makes every numeric derivative 0: a wrong analytic 0 would pass."""
    x = Tensor([value, 2.0], name="x")
    refuses(SettingError, lambda: gradcheck(lambda x: (x.cut() * x.cut()).sum(), [x], eps=eps,
                                            mode=mode), "lost in rounding", "x[0]", repr(value))
    assert x.data.tolist() == [value, 2.0]


def test_gradcheck_inputs_are_checked():
    x = Tensor([1.0, 2.0], name="x")
    refuses(SettingError, lambda: gradcheck(lambda: x.sum(), []), "no inputs")
    refuses(SettingError, lambda: gradcheck(lambda x: x.sum(), [leaf([1.0]) * 2]), "not a leaf")
    refuses(SettingError, lambda: gradcheck(lambda x, y: (x * y).sum(), [x, x]),
            "input 1 is the same tensor as input 0")
    refuses(DTypeError, lambda: gradcheck(lambda m: m.sum(), [Tensor([True, False])]), "bool")
    refuses(SettingError, lambda: gradcheck(5, [x]), "fn")
    assert gradcheck(lambda x: (x * x).sum(), x)                 # one Tensor: a list of one


def test_what_fn_returns_is_checked():
    x = Tensor([1.0, 2.0])
    refuses(DTypeError, lambda: gradcheck(lambda x: Tensor(np.array(True)), [x]), "bool",
            "floating")
    refuses(DTypeError, lambda: gradcheck(lambda x: 1.5, [x]), "must return a Tensor")
    refuses(ShapeError, lambda: gradcheck(lambda x: x[:0], [x], per_step=True), "no loss terms")
    calls = []

    def changes_shape(x):          # T loss terms at the inputs, T - 1 at a perturbed point
        calls.append(1)
        return x * 1 if len(calls) == 1 else x[:1] * 1
    refuses(ShapeError, lambda: gradcheck(changes_shape, [x], per_step=True),
            "same shape every time")


def test_views_no_grad_inputs_and_zero_size_inputs_get_the_right_verdict():
    x = Tensor([1.0, 2.0], name="x")
    view = x.detach()                                # shares x's memory
    assert gradcheck(lambda a, b: (a * b).sum(), [x, view])
    assert not gradcheck(lambda a, b: (a.cut() * b).sum(), [x, view])
    frozen = Tensor([0.5, -1.5])                     # requires_grad=False: checked all the same
    assert gradcheck(lambda f: (f * f).sum(), [frozen]) and not frozen.requires_grad
    assert gradcheck(lambda e, f: e.sum() + (f * f).sum(), [Tensor(np.zeros(0)), frozen])
    with pytest.raises(SettingError, match="every input is empty.*pass vacuously"):
        gradcheck(lambda e: e.sum(), [Tensor(np.zeros((0, 3)))])     # as an empty list is


def _zero_vjp(prim):
    """A vjp of the right shape and no value: every input gets zeros."""
    return lambda g, out, parents, params: tuple(
        None if not p.requires_grad else np.zeros(p.shape) for p in parents)


@pytest.mark.parametrize("mode", ["elements", "random"])
@pytest.mark.parametrize("op, fn", [
    ("reshape", lambda x: x.reshape(3)), ("getitem", lambda x: x[0:3])])
def test_an_output_that_is_a_view_of_the_input_is_differenced_not_rewritten(op, fn, mode,
                                                                            monkeypatch):
    """fn(x) a view of x: the value taken at x + eps changed with the next perturbation, so
    f(x + eps) - f(x - eps) was 0 and a gradient of zeros passed."""
    x = Tensor([0.3, -0.7, 1.1], name="x")
    assert gradcheck(fn, [x], per_step=True, mode=mode)
    monkeypatch.setattr(tg.primitives.PRIMITIVES[op], "vjp", _zero_vjp(op))
    report = gradcheck(fn, [x], per_step=True, mode=mode)
    assert not report and report.worst.failed >= 1


def test_an_output_computed_in_float32_from_float64_inputs_is_refused(monkeypatch):
    """The hoisted input projection once added a float64 b1 into a float32 block: checking a
    float32 model's b1 alone then differenced a float32 loss, the numeric gradient was 0
    everywhere, and a vjp giving zeros passed. Such a value on the way is refused."""
    from tinygrad_rnn.nn.input_projection import InputProjection

    def float32_block(self, x, t):           # the block as it was: cast into xs @ W1^T
        values = np.matmul(self.xs, self.W._data.T)
        values += self.b._data
        return tg.tensor.precomputed("linear", (x, self.W, self.b), values[t - 1])
    monkeypatch.setattr(InputProjection, "__call__", float32_block)
    model = tg.nn.Elman(3, 4, 2, seed=0).to(np.float32)
    xs = np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32)
    with pytest.warns(tg.GradcheckWarning), pytest.raises(
            DTypeError, match="fn returned float32 from float64 inputs"):
        gradcheck(lambda: tg.nn.sequence_loss(model(xs)[0], np.zeros((4, 2, 2), np.float32)),
                  {"b1": model.b1})


def test_a_fn_that_draws_anew_at_every_call_is_refused_not_differenced():
    """A Dropout in training mode: the differences measured the masks, and the report blamed
    the right gradient (numeric -489182 against 7.58)."""
    x = Tensor([0.3, -0.2, 0.5, 0.1], name="x")
    dropout = tg.nn.Dropout(0.5, seed=0)
    with pytest.raises(SettingError, match="not a function of them.*model.eval"):
        gradcheck(lambda: (dropout(x) * x).sum(), [x])
    dropout.eval()
    assert gradcheck(lambda: (dropout(x) * x).sum(), [x])


@pytest.mark.parametrize("mode", ["elements", "random"])
def test_a_fn_whose_value_depends_on_recording_is_refused_not_certified(mode):
    """Recording, fn computes x^2 with a path cut (backward gives x, not 2x); not recording, as
    for the differences, x^2 / 2, whose derivative is x: the cut graph was certified."""
    x = Tensor([0.3, -0.7, 1.2], name="x")

    def fn(x):
        if tg.is_grad_enabled():
            return (x.cut() * x).sum()
        return (x * x).sum() / 2
    with pytest.raises(SettingError, match="not a function of them.*whether gradients are "
                                           "recorded"):
        gradcheck(fn, [x], mode=mode)
    with pytest.raises(SettingError, match="not a function of them"):
        gradcheck(lambda x: tg.stack([(x * x).sum(), fn(x)]), [x], mode=mode, per_step=True)


@pytest.mark.parametrize("fail_at", [1, 2, 4])
def test_a_fn_that_raises_midway_leaves_every_input_exactly_as_it_was(fail_at):
    x, y = Tensor([1.0, 2.0], requires_grad=True), Tensor(np.array([3.0], dtype=np.float32))
    x.grad = np.array([7.0, 8.0])
    arrays, copies = (x.data, y.data), (x.data.copy(), y.data.copy())
    calls = []

    def fn(x, y):
        calls.append(1)
        if len(calls) == fail_at:
            raise RuntimeError("midway")
        return (x * x).sum() * y.sum()
    with pytest.warns(tg.GradcheckWarning), pytest.raises(RuntimeError, match="midway"):
        gradcheck(fn, [x, y])
    assert np.shares_memory(x.data, arrays[0]) and np.shares_memory(y.data, arrays[1])
    assert x.data.tobytes() == copies[0].tobytes() and y.data.tobytes() == copies[1].tobytes()
    assert x.requires_grad and not y.requires_grad and x.grad.tolist() == [7.0, 8.0]
    assert y.grad is None


@pytest.mark.parametrize("fails", [False, True])
def test_a_graph_recorded_before_gradcheck_still_runs_backward(fails):
    """gradcheck gives each input back as it was, write stamp too: a loss recorded before the
    check (whether the check passed or fn raised) still differentiates."""
    w = Tensor([0.5, 1.0], requires_grad=True)
    loss = (w * w).sum()

    def fn(x):
        if fails:
            raise ZeroDivisionError("fn failed")
        return (x * x).sum()
    try:
        gradcheck(fn, [w])
    except ZeroDivisionError:
        assert fails
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_a_write_into_an_input_during_gradcheck_is_still_caught():
    w = Tensor([0.5, 1.0], requires_grad=True)
    earlier_view, loss = w.data, (w * w).sum()

    def fn(x):
        earlier_view[0] = 7.0          # the input's own memory, not gradcheck's copy
        return (x * x).sum()
    gradcheck(fn, [w])
    with pytest.raises(BackwardError, match="modified in place"):
        loss.backward()


def test_a_fn_that_cannot_take_the_inputs_is_refused_before_any_work():
    w = Tensor([1.0], requires_grad=True)
    refuses(SettingError, lambda: gradcheck(lambda a, b: (a * b).sum(), [w]),
            "fn must take 1 positional argument", "or none at all")
    assert gradcheck(lambda: w.sum(), [w]) and gradcheck(lambda *xs: xs[0].sum(), [w])
