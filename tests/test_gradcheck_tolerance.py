"""gradcheck's tolerance (gradcheck_report.py and gradcheck_rounding.py explain it): a wrong
gradient fails however small the function, an element far below its input's largest or a
small loss term beside a large one is judged on its own scale, the quotient's truncation error
is estimated where rounding does not explain a difference, what finite differences cannot
resolve is not certified (never "disagree"), and every primitive's right gradient passes.
(What gradcheck does and reports: test_gradcheck.py.)"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from primitive_cases import CASES

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, gradcheck
from tinygrad_rnn.checkpoint import checkpoint
from tinygrad_rnn.primitives import PRIMITIVES


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def _scaled_tanh_vjp(factor):
    """tanh's vjp times `factor`: 0 or -1 make a wrong gradient of the right size."""
    right = PRIMITIVES["tanh"].vjp
    return lambda g, out, parents, params: tuple(factor * s for s in right(g, out, parents,
                                                                             params))


@pytest.mark.parametrize("factor", [0.0, -1.0], ids=["zero", "wrong sign"])
@pytest.mark.parametrize("scale", [1e-4, 1e-6, 3e-6])
def test_a_wrong_gradient_fails_however_small_the_function(factor, scale, monkeypatch, rng):
    """Every entry below atol: torch's test (|a - n| <= atol + rtol |n|) passes any gradient
    at all; here atol shrinks with the gradient, and the correct one still passes."""
    w = Tensor(rng.standard_normal((3, 2)), name="w")
    assert gradcheck(lambda: w.tanh().sum() * scale, [w])
    monkeypatch.setattr(PRIMITIVES["tanh"], "vjp", _scaled_tanh_vjp(factor))
    report = gradcheck(lambda: w.tanh().sum() * scale, [w])
    assert not report and report.worst.failed >= 1
    assert report.worst.allowed < abs(report.worst.numeric)


def _exp_with_one_element_lost(x):
    """exp(x).sum() whose last element goes through .data: its gradient is lost (0)."""
    return x[:-1].exp().sum() + Tensor(np.exp(x.data[-1]))


@pytest.mark.parametrize("small", [-12.0, -9.0, -6.0])
def test_an_element_far_below_its_inputs_largest_gradient_is_judged_on_its_own(small):
    """exp(small) beside exp(1): torch's atol (and atol G) let the small element's gradient
    be anything up to 1e-5; it is judged by what finite differences resolve there instead."""
    x = Tensor(np.array([1.0, 0.5, small]), name="x")
    assert gradcheck(lambda x: x.exp().sum(), [x])
    report = gradcheck(_exp_with_one_element_lost, [x])
    check = report.inputs[0]
    assert not report and check.failed == 1 and check.index == (2,)
    assert check.analytic == 0 and check.numeric == pytest.approx(np.exp(small), rel=1e-3)
    # per loss term too: the lost element is in the second term only
    terms = gradcheck(lambda x: tg.stack([x[0].exp(), _exp_with_one_element_lost(x[1:])]),
                      [x], per_step=True)
    assert not terms and terms.inputs[0].step == 2 and terms.inputs[0].index == (2,)


def test_an_element_whose_quotient_is_off_by_its_step_still_passes():
    """sin(2e5 x) at eps = 1e-6: D(eps) is 0.7% off the derivative (h^2 f^(3) / 6), more than
    rtol and rounding allow (x = 1e-5 and x / 5e-6 keep every value on the way small, and so the
    rounding); D(2 eps) measures that error, and the right gradient passes."""
    x = Tensor(np.array([0.3, 1e-5]), name="x")
    report = gradcheck(lambda x: (x[0:1] * 3.0).sum() + (x[1:2] / 5e-6).sin().sum() * 5e-9, [x])
    check = report.inputs[0]
    assert report and check.index == (1,)
    assert check.abs_error > 1e-3 * abs(check.numeric) + 4 * check.resolution


def test_where_twice_the_step_leaves_fns_domain_the_element_is_judged_by_atol():
    """sqrt at 1.5e-6 with eps = 1e-6: D(eps) is 7% off (the step is most of x), and D(2 eps)
    takes sqrt of a negative number, NaN: the error cannot be estimated, and the element is
    judged by atol, as torch would (finite differences are no proof there either way)."""
    x = Tensor(np.array([1.5e-6, 1.0]), name="x")
    report = gradcheck(lambda x: (x[0:1].sqrt() * 1e-7).sum() + (x[1:2] * 2.0).sum(), [x])
    check = report.inputs[0]
    assert report and check.index == (0,) and check.rel_error > 0.05
    assert check.allowed == pytest.approx(1e-5 + 1e-3 * abs(check.numeric))


@pytest.mark.parametrize("name", sorted(set(CASES) - {"cut"}))   # differences see through cut
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_every_primitives_right_gradient_is_certified(name, data):
    """The tolerance refuses no right gradient: each ops-table entry at its case's points
    (tests/primitive_cases.py), through a random weighted sum of its output."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    case = CASES[name](data, rng)
    tensors = [Tensor(a, name=f"x{i}") for i, a in enumerate(case.arrays)]
    inputs = [t for t in tensors if t.dtype.kind == "f" and t.size]
    weights = rng.standard_normal(case.api(*tensors).shape)
    mode = data.draw(st.sampled_from(["elements", "random"]), label="mode")
    if inputs:
        report = gradcheck(lambda: (case.api(*tensors) * weights).sum(), inputs, mode=mode)
        assert report, str(report)


def test_a_gradient_finite_differences_cannot_resolve_is_not_certified(monkeypatch, rng):
    """Below the rounding of the values f is computed from, a right and a wrong gradient look
    the same: neither is certified, and the report says why (not "disagree")."""
    w = Tensor(rng.standard_normal((3, 2)), name="w")
    for vjp in (PRIMITIVES["tanh"].vjp, _scaled_tanh_vjp(0.0)):
        monkeypatch.setattr(PRIMITIVES["tanh"], "vjp", vjp)
        report = gradcheck(lambda: w.tanh().sum() * 1e-9, [w])
        assert not report and report.inputs[0].unresolved
        assert "not certified" in str(report)
    monkeypatch.undo()
    # sigmoid(-19.7) = (tanh(-9.85) + 1) / 2 is rounded at the scale of 1, not of its 3e-9,
    # and confident logits' cross entropy at the scale of the logits: both unresolved, not
    # failed, though the gradients are right
    deep = Tensor(np.array([-19.7]), name="x")
    logits = Tensor(np.array([[20.0, 0.1, -0.2], [0.3, 19.0, 0.0]]), name="logits")
    for fn, x in ((lambda: deep.sigmoid().sum(), deep),
                  (lambda: tg.cross_entropy(logits, np.array([0, 1])), logits)):
        check = gradcheck(fn, [x]).inputs[0]
        assert check.unresolved and check.failed == 0
    unused = Tensor(np.ones(2), name="unused")          # 0 on both sides, exactly: certified
    assert gradcheck(lambda: (w * 2.0).sum() + (unused.cut() * 3.0).sum() * 0.0, [unused])


def test_a_gradient_off_by_more_than_rtol_fails_at_the_scale_of_the_rounding():
    """f = 7.6 + <c, w> with c[0] = 3.5e-4 beside c[1] = 0.5 (an LSTM's loss and its weights'
    gradients, in size), and w[0]'s gradient 0.5% low: five times rtol, and above what the
    rounding of f at 7.6 can hide (the band was 256 units in the last place: this passed)."""
    w = Tensor(np.array([0.5, -0.3]), name="w")
    c = np.array([3.5e-4, 0.5])

    def lost_half_a_percent(w):
        return (w * c).sum() + Tensor(7.6 + 0.005 * c[0] * float(w.data[0]))
    assert gradcheck(lambda w: (w * c).sum() + 7.6, [w])
    report = gradcheck(lost_half_a_percent, [w])
    check = report.inputs[0]
    assert not report and check.failed == 1 and check.index == (0,), str(report)


def _cancelling(n, rng):
    """n values between 0.5 and 1, then the same values negated in reverse order: the sum is 0,
    and its partial sums are as large as n / 2 (float64 rounds them at 1e-16 of that)."""
    half = rng.uniform(0.5, 1.0, n // 2)
    return Tensor(np.concatenate([half, -half[::-1]]))


def test_values_rounded_where_fn_does_not_show_them_are_counted_in_the_rounding(rng):
    """Right gradients whose differences are rounding noise from values that no node of fn's
    graph holds: the partial sums of a large sum that cancels, a matrix product's terms, the
    inside of a checkpoint. They were failed as disagreeing (or passed, as the noise fell);
    they pass, or are not certified and the report says why, never "disagree"."""
    big = _cancelling(2 * 10**5, rng)
    x = Tensor(np.array([0.3, -0.2]), name="x")
    b = Tensor(np.array([[1e4], [1e4 + 1.0]]))
    y = Tensor(np.array([0.3, -0.2]), name="y")
    for fn, at in ((lambda x: tg.concatenate([big, x * 1e-3]).sum(), x),
                   (lambda x: (tg.stack([x + 1e4, -1e4 - x], axis=1) @ b).sum(), x),
                   (lambda y: checkpoint(lambda y: (y * 1e9 + y * 0.37) - y * 1e9, y).sum(), y)):
        for mode in ("elements", "random"):
            report = gradcheck(fn, [at], mode=mode)
            check = report.inputs[0]
            assert check.failed == 0, str(report)
            assert check.passed or ((check.unresolved or check.blurred) and
                                    "not certified" in str(report) and "disagree" not in
                                    str(report).split("\n", 1)[1])


@pytest.mark.parametrize("mode", ["elements", "random"])
def test_the_quotient_divides_by_the_step_actually_taken(mode, monkeypatch):
    """At x = 3e9 the float64 spacing is 4.8e-7, so x +- 1e-6 moves by 0.95e-6, not 1e-6: a
    quotient over 2 eps was 5% low. (Values of 3e9 are rounded far above the gradient, so the
    check cannot certify here: it says so, and a wrong gradient is never certified.)"""
    w = Tensor(np.array([3e9, -3e9]), name="w")

    def loss():
        return ((w - np.array([3e9, -3e9]) + 0.3).tanh() * np.array([1.0, 2.0])).sum()
    check = gradcheck(loss, [w], mode=mode).inputs[0]
    assert check.numeric == pytest.approx(check.analytic, rel=1e-6)
    monkeypatch.setattr(PRIMITIVES["tanh"], "vjp", _scaled_tanh_vjp(0.9537))
    assert not gradcheck(loss, [w], mode=mode)


def _zeroed_below(threshold, name):
    """`name`'s vjp with every entry of the incoming gradient below `threshold` dropped."""
    right = PRIMITIVES[name].vjp

    def vjp(g, out, parents, params):
        g = np.where(np.abs(g) < threshold, 0.0, g)
        return right(g, out, parents, params)
    return vjp


@pytest.mark.parametrize("mode", ["elements", "random"])
def test_per_step_judges_each_terms_gradient_by_its_own_scale(mode, monkeypatch):
    """R[1] = 1e3 sum tanh(x), R[2] = 1e-6 sum tanh(x): R[2]'s gradient was judged by R[1]'s
    G (atol G capped at atol, 1e-5) and rounding, and passed whatever it was; judged on its own
    scale it fails when its path is lost."""
    x = Tensor(np.array([0.3, -0.7, 1.2]), name="x")

    def terms(x):
        return tg.stack([(x.tanh() * 1e3).sum(), (x.tanh() * 1e-6).sum()])
    assert gradcheck(terms, [x], per_step=True, mode=mode)
    monkeypatch.setattr(PRIMITIVES["tanh"], "vjp", _zeroed_below(1e-3, "tanh"))
    report = gradcheck(terms, [x], per_step=True, mode=mode)
    check = report.inputs[0]
    assert not report and check.step == 2 and report.first_failing_step == 2
    assert check.failed >= 1 and not check.unresolved and check.analytic == 0
