"""tinygrad_rnn.gradcheck: passes correct gradients, catches wrong ones (a cut that hides a
path), names the worst input, index, analytic and numeric values, and leaves every input's
.data and every .grad exactly as it found them. (The tolerance: test_gradcheck_tolerance.py.)"""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import GradcheckWarning, Tensor, gradcheck
from tinygrad_rnn.checkpoint import checkpoint
from tinygrad_rnn.primitives import PRIMITIVES


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def mlp_loss(w1, b1, w2, x):
    return ((x @ w1 + b1).tanh() @ w2).sigmoid().sum()


def mlp_inputs(rng):
    return [Tensor(rng.standard_normal(shape), name=name)
            for shape, name in [((3, 4), "W1"), ((4,), "b1"), ((4, 2), "W2")]]


@pytest.mark.parametrize("mode", ["elements", "random"])
def test_passes_a_correct_gradient(mode, rng):
    x = Tensor(rng.standard_normal((5, 3)))
    report = gradcheck(lambda w1, b1, w2: mlp_loss(w1, b1, w2, x), mlp_inputs(rng), mode=mode)
    assert report and report.mode == mode and not report.failures
    assert "passed" in str(report)


def test_fails_when_a_cut_hides_a_path_and_names_the_worst_element(rng):
    data = rng.standard_normal((2, 3))
    x = Tensor(data, name="x")
    report = gradcheck(lambda x: (x.cut() * x).sum(), [x])   # analytic x, true 2x
    assert not report
    worst = report.worst
    # |analytic - numeric| / (atol + rtol |numeric|) = |x| / (atol + 2 rtol |x|) grows with |x|
    index = np.unravel_index(np.argmax(np.abs(data)), data.shape)
    assert worst.name == "x" and worst.index == tuple(int(i) for i in index)
    assert worst.analytic == pytest.approx(data[index], rel=1e-12)
    assert worst.numeric == pytest.approx(2 * data[index], rel=1e-6)
    assert worst.rel_error == pytest.approx(0.5, rel=1e-6) and worst.failed == 6
    text = str(report)
    assert "FAILED" in text and "x" in text and str(worst.index) in text


def test_report_names_only_the_input_that_disagrees(rng):
    a, b = Tensor(rng.standard_normal(3), name="a"), Tensor(rng.standard_normal(3), name="b")
    # d/db of <a, b> + |cut(b)|^2 is a by backward, a + 2b by finite differences
    report = gradcheck(lambda a, b: (a * b).sum() + (b.cut() ** 2).sum(), [a, b])
    assert not report
    assert [c.name for c in report.failures] == ["b"] and report.worst.name == "b"
    assert [c.passed for c in report.inputs] == [True, False]


def test_inputs_that_share_a_name_are_told_apart_and_a_mapping_names_its_own(rng):
    """Two MLP layers both name their weight "W": a failure in one of them named which only
    by the row's order. A list adds each such input's position; a mapping (named_parameters)
    gives its keys, which the report uses for every row and for the worst."""
    mlp = tg.nn.MLP([3, 4, 2], seed=0)
    x = Tensor(rng.standard_normal((5, 3)))

    def broken(*_):        # the last layer's weight reaches the loss through a cut as well
        return (mlp(x) ** 2).sum() + (mlp.layers[1].W.cut() * mlp.layers[1].W).sum()

    report = gradcheck(broken, list(mlp.parameters()))
    assert [c.name for c in report.inputs] == ["W (input 0)", "b (input 1)", "W (input 2)",
                                               "b (input 3)"]
    assert report.worst.name == "W (input 2)" and "W (input 2)" in str(report)
    named = gradcheck(broken, dict(mlp.named_parameters()))
    assert [c.name for c in named.inputs] == [name for name, _ in mlp.named_parameters()]
    assert named.worst.name == "layer1.W"
    with pytest.raises(tg.DTypeError, match="str keys"):
        gradcheck(broken, {0: mlp.layers[0].W})
    odd = gradcheck(broken, {"": mlp.layers[0].W, "two\nlines": mlp.layers[1].W})
    assert [c.name for c in odd.inputs] == ["''", "'two\\nlines'"]
    assert len(str(odd).splitlines()) == 4          # the verdict, the header, one row each
    W0, W1, b0 = mlp.layers[0].W, mlp.layers[1].W, mlp.layers[0].b
    W0.name, W1.name, b0.name = "W", "W", "W (input 1)"        # a suffix that is a name too
    for inputs in ([W0, W1, b0], {"": W0, "''": W1}, {"W": W0, "W ": W1}):
        names = [c.name for c in gradcheck(broken, inputs).inputs]
        assert len(set(names)) == len(names), names


def test_fails_when_every_path_is_cut():
    x = Tensor([1.0, 2.0], name="x")
    report = gradcheck(lambda x: (x.cut() * 3).sum(), [x])   # analytic 0, numeric 3
    assert not report and report.worst.numeric == pytest.approx(3.0)


def test_random_mode_uses_2k_evaluations_per_input_whatever_its_size(rng):
    calls = []
    w = Tensor(rng.standard_normal((20, 30)))

    def loss(w):
        calls.append(1)
        return (w.tanh() ** 2).sum()
    report = gradcheck(loss, [w], mode="random", directions=4)
    # one backward, two evaluations at the inputs (the same value twice), two per direction
    assert report and len(calls) == 1 + 2 + 2 * 4
    assert not gradcheck(lambda w: (w.cut() * w).sum(), [w], mode="random")
    calls.clear()
    b = Tensor(rng.standard_normal(3))
    report = gradcheck(lambda w, b: loss(w) + (b * b).sum(), [w, b], mode="random",
                       directions=4)
    assert report and len(calls) == 1 + 2 + 2 * 2 * 4 and len(report.inputs) == 2


def test_random_mode_judges_each_input_on_its_own(monkeypatch, rng):
    """Directions spanning every input at once measured b's wrong gradient (zeros) against
    W's directional derivative, 100 times larger, and passed it within rtol."""
    W, x = Tensor(rng.standard_normal((3, 3)), name="W"), rng.standard_normal(3)
    b = Tensor(0.05 * rng.standard_normal(3), name="b")

    def loss(W, b):
        return (W @ x).tanh().sum() * 100.0 + (b * b * b).sum()
    assert gradcheck(loss, [W, b], mode="random")
    right = PRIMITIVES["mul"].vjp

    def b_gets_nothing(g, out, parents, params):
        shares = right(g, out, parents, params)
        return tuple(None if s is None or p is b or p.op == "mul" and b in p.parents
                     else s for p, s in zip(parents, shares))
    monkeypatch.setattr(PRIMITIVES["mul"], "vjp", b_gets_nothing)
    report = gradcheck(loss, [W, b], mode="random")
    assert not report
    assert [check.name for check in report.inputs if not check.passed] == \
        ["b (random directions)"]


def test_per_step_names_the_first_failing_step(rng):
    """R[t] of h[t] = tanh(a h[t-1] + x[t]), with the state cut entering step 3: the terms
    R[1], R[2] see every path; from R[3] on, the paths through h[1], h[2] are missing."""
    xs = rng.standard_normal((5, 2))
    a, h0 = Tensor(0.7, name="a"), Tensor(rng.standard_normal(2), name="h0")

    def terms(a, h0):
        h, out = h0, []
        for t, x in enumerate(xs, start=1):
            with tg.step(t):
                h = ((h.cut() if t == 3 else h) * a + x).tanh()
                out.append((h * h).sum())
        return tg.stack(out)
    report = gradcheck(terms, [a, h0], per_step=True)
    assert not report and report.first_failing_step == 3
    assert all(c.step == 3 for c in report.inputs)
    assert "t=3" in str(report)
    full = gradcheck(lambda a, h0: _uncut(xs, a, h0), [a, h0], per_step=True)
    assert full and full.first_failing_step is None


def _uncut(xs, a, h):
    out = []
    for x in xs:
        h = (h * a + x).tanh()
        out.append((h * h).sum())
    return tg.stack(out)


def test_restores_data_bitwise_and_the_same_array_objects(rng):
    x, y = Tensor(rng.standard_normal((3, 2))), Tensor(rng.standard_normal(4).astype(np.float32))
    arrays = [x.data, y.data]
    saved = [x.data.copy(), y.data.copy()]
    with pytest.warns(GradcheckWarning):
        gradcheck(lambda x, y: (x.tanh().sum() * y.exp().sum()), [x, y])
    for t, array, copy in zip([x, y], arrays, saved):
        assert np.shares_memory(t.data, array) and t.shape == array.shape
        assert t.data.dtype == copy.dtype and t.data.tobytes() == copy.tobytes()
    assert not x.requires_grad and not y.requires_grad     # as they were


def test_leaves_every_existing_grad_untouched(rng):
    w = Tensor(rng.standard_normal(3), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)        # closed over, not an input
    c = Tensor(rng.standard_normal(3), requires_grad=True)        # closed over, no grad yet
    w_grad, b_grad = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 1.0])
    w.grad, b.grad = w_grad, b_grad
    report = gradcheck(lambda: ((w * b).tanh() + c).sum(), [w])
    assert report
    assert w.grad is w_grad and b.grad is b_grad and c.grad is None
    np.testing.assert_array_equal(w_grad, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(b_grad, [-1.0, 0.0, 1.0])
    assert w.requires_grad


@pytest.mark.parametrize("mode", ["elements", "random"])
def test_a_parameter_a_checkpoint_closes_over_keeps_its_grad(mode, rng):
    """W2 is read inside a checkpointed fn, not as its input: it is not in the graph, and the
    recomputation during backward added W2's gradient into W2.grad."""
    w1 = Tensor(rng.standard_normal((3, 3)), requires_grad=True, name="W1")
    w2 = Tensor(rng.standard_normal((3, 3)), requires_grad=True, name="W2")
    w3 = Tensor(rng.standard_normal((3, 3)), requires_grad=True, name="W3")   # no grad yet
    x = Tensor(rng.standard_normal(3))
    kept = np.full((3, 3), 7.0)
    w2.grad = kept

    def loss():
        h = checkpoint(lambda x: ((x @ w1.T).tanh() @ w2.T).tanh() @ w3.T, x)
        return (h * h).sum()
    assert gradcheck(loss, [w1], mode=mode)
    assert w2.grad is kept and w3.grad is None and w1.grad is None
    np.testing.assert_array_equal(kept, 7.0)


def test_zero_argument_closure_and_positional_function(rng):
    params = mlp_inputs(rng)
    x = Tensor(rng.standard_normal((2, 3)))
    assert gradcheck(lambda: mlp_loss(*params, x), params)

    def loss(w1, b1, w2):
        return mlp_loss(w1, b1, w2, x)
    assert gradcheck(loss, params)
    assert gradcheck(lambda *ws: mlp_loss(*ws, x), params, mode="random")


def test_float32_inputs_warn_and_still_pass(rng):
    w = Tensor(rng.standard_normal((3, 3)).astype(np.float32), name="w")
    with pytest.warns(GradcheckWarning, match="float32"):
        report = gradcheck(lambda w: (w @ w).tanh().sum(), [w])
    assert report and w.dtype == np.float32


def test_non_contiguous_input_data_is_perturbed_too(rng):
    """A leaf made from a transposed array holds Fortran-ordered data; perturbing it must
    still reach the values fn reads."""
    w = Tensor(rng.standard_normal((2, 3)).T)
    assert gradcheck(lambda w: (w * w).sum(), [w])


def test_bad_arguments():
    x = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="mode"):
        gradcheck(lambda x: x.sum(), [x], mode="sideways")
    with pytest.raises(tg.ShapeError, match="scalar"):
        gradcheck(lambda x: x * 2, [x])
    with pytest.raises(tg.DTypeError):
        gradcheck(lambda x: x.sum(), [np.ones(2)])
    with pytest.raises(tg.SettingError, match="leaf"):
        gradcheck(lambda x: x.sum(), [Tensor([1.0], requires_grad=True) * 2])


def test_per_step_row_shows_the_worst_element_of_the_first_failing_step(monkeypatch):
    """R[2]'s gradient is 1% off at index 0, R[3]'s 3x off at index 2: the row names t=2 and
    shows index 0 with R[2]'s own values, not R[3]'s larger error."""
    w = Tensor(np.array([0.3, -0.2, 0.5]), name="w")
    right_exp = PRIMITIVES["exp"].vjp

    def wrong_at_index_2(g, out, parents, params):
        (share,) = right_exp(g, out, parents, params)
        share = np.array(share)
        share[2] *= 3
        return (share,)

    def wrong_at_index_0(g, out, parents, params):
        share = g * np.cos(parents[0].data)
        share[0] *= 1.01
        return (share,)
    monkeypatch.setattr(PRIMITIVES["sin"], "vjp", wrong_at_index_0)
    monkeypatch.setattr(PRIMITIVES["exp"], "vjp", wrong_at_index_2)
    report = gradcheck(lambda: tg.stack([(w * w).sum(), w.sin().sum(), w.exp().sum()]), [w],
                       per_step=True)
    check = report.inputs[0]
    assert not report and check.step == 2 and check.index == (0,)
    assert check.numeric == pytest.approx(np.cos(0.3), rel=1e-6)
    assert check.analytic == pytest.approx(1.01 * np.cos(0.3), rel=1e-12)


@pytest.mark.parametrize("wrong", [lambda s: s.reshape(2, 3), lambda s: s.reshape(-1)],
                         ids=["transposed shape", "flat"])
def test_a_vjp_of_the_wrong_shape_is_refused_not_summed(wrong, monkeypatch, rng):
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    right = PRIMITIVES["tanh"].vjp
    monkeypatch.setattr(PRIMITIVES["tanh"], "vjp",
                        lambda g, out, parents, params: (wrong(right(g, out, parents, params)[0]),))
    with pytest.raises(tg.ShapeError, match=r"gradient of shape .* for a value of shape \(3, 2\)"):
        w.tanh().sum().backward()
    assert w.grad is None


def test_an_output_recorded_before_the_check_is_refused_with_what_to_do(rng):
    """Its graph read the inputs' values before gradcheck put its float64 copies in their
    place: backward refused it as "modified in place", blaming the user for gradcheck's copy."""
    w = Tensor(rng.standard_normal(3), requires_grad=True, name="w")
    loss, hidden = (w * w).sum(), w * 2.0
    for fn in (lambda: loss, lambda: (hidden * hidden).sum()):
        with pytest.raises(tg.SettingError, match="recorded before gradcheck was called"):
            gradcheck(fn, [w])
    assert w.grad is None
    loss.backward()                      # the graph itself was left as it was
    np.testing.assert_allclose(w.grad, 2 * w.data)
    other = Tensor(rng.standard_normal(3), requires_grad=True)
    scaled = other * 2.0                 # recorded before too, but not computed from w: fine
    assert gradcheck(lambda: (w * scaled).sum(), [w])


def test_the_worst_input_of_a_failing_report_is_one_that_fails(monkeypatch):
    """u's gradient is below what finite differences resolve (not certified), w's is 1e-4 off,
    within rtol: the report fails for u, and `worst` named w, which passed, because its
    difference was the larger share of its tolerance."""
    w = Tensor(np.array([0.3, -0.4]), name="w")
    u = Tensor(np.array([0.5, 0.1]), name="u")
    right = PRIMITIVES["tanh"].vjp
    monkeypatch.setattr(PRIMITIVES["tanh"], "vjp", lambda g, out, parents, params: tuple(
        (1 + 1e-4) * s for s in right(g, out, parents, params)))
    report = gradcheck(lambda w, u: w.tanh().sum() + (u.tanh() * 1e-9).sum(), [w, u])
    assert [check.name for check in report.failures] == ["u"] and report.inputs[1].unresolved
    assert report.inputs[0].abs_error > 0.05 * report.inputs[0].allowed
    assert report.worst.name == "u"
