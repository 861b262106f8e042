"""gradcheck passes for every model of the lecture under full BPTT, and fails under Elman's
rule on a network whose recurrent paths matter, with a report that says where and by how much."""
import numpy as np
import pytest
from nn_oracles import elman_bptt, full_cut, randomize

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn

T, B, N, O = 4, 2, 2, 2


def gru_like_cell(H, seed):
    """A gated cell written by a user from tensor ops: z = sigmoid(Uz x + Wz s),
    n = tanh(Un x + Wn s + bn), s' = (1 - z) s + z n, y = Wy s' ; the initial state is learned."""
    rng = np.random.default_rng(seed)
    p = {name: Tensor(rng.normal(scale=0.7, size=shape), requires_grad=True)
         for name, shape in (("Uz", (H, N)), ("Wz", (H, H)), ("Un", (H, N)), ("Wn", (H, H)),
                             ("bn", (H,)), ("Wy", (O, H)), ("s0", (H,)))}

    def fn(x, s):
        z = (x @ p["Uz"].T + s @ p["Wz"].T).sigmoid()
        n = (x @ p["Un"].T + s @ p["Wn"].T + p["bn"]).tanh()
        s_new = (1 - z) * s + z * n
        return s_new @ p["Wy"].T, s_new

    return nn.StateSpace(fn, initial_state=p["s0"], parameters=p, input_size=N, name="GRU-like")


def two_parameter_tanh_cell(seed):
    """s' = tanh(a x + w s) elementwise with scalar parameters a and w; y = s'."""
    rng = np.random.default_rng(seed)
    a = Tensor(rng.normal(), requires_grad=True)
    w = Tensor(rng.normal() + 1.0, requires_grad=True)

    def fn(x, s):
        s_new = (a * x + w * s).tanh()
        return s_new, s_new

    return nn.StateSpace(fn, initial_state=lambda batch: Tensor(np.zeros((batch, N))),
                         parameters={"a": a, "w": w}, input_size=N)


MODELS = {
    "elman": lambda: nn.Elman(N, 3, O, seed=0),
    "elman-learned-h0-sigmoid-out": lambda: nn.Elman(N, 3, O, output_activation="sigmoid",
                                                      learn_initial_state=True, seed=1),
    "jordan": lambda: nn.Jordan(N, 3, O, mu=0.6, learn_initial_state=True, seed=2),
    "stacked-elman-elman": lambda: nn.Stacked([nn.Elman(N, 3, 2, seed=3),
                                               nn.Elman(2, 3, O, seed=4)]),
    "stacked-elman-over-jordan": lambda: nn.Stacked([nn.Jordan(N, 3, 2, seed=5),
                                                     nn.Elman(2, 3, O, seed=6)]),
    "state-space-gru-like": lambda: gru_like_cell(3, seed=7),
    "state-space-two-parameter-tanh": lambda: two_parameter_tanh_cell(seed=8),
    "windowed-mlp-1": lambda: nn.WindowedMLP(N, [3], O, window=1, seed=9),
    "windowed-mlp-3": lambda: nn.WindowedMLP(N, [3], O, window=3, seed=10),
    "temporal-conv-2-layers": lambda: nn.TemporalConv(N, 2, O, kernel_size=2, layers=2, seed=11),
}


@pytest.fixture(scope="module")
def sequence():
    rng = np.random.default_rng(0)
    return rng.normal(size=(T, B, N)), rng.normal(size=(T, B, O))


@pytest.mark.parametrize("kind", MODELS)
def test_gradcheck_passes_for_every_model_under_full_bptt(kind, sequence):
    model = MODELS[kind]()
    xs, vs = sequence
    params = dict(model.named_parameters())     # layers of a stack share their tensors' names
    assert params, kind
    report = tg.gradcheck(lambda: nn.sequence_loss(model(xs, truncation="full")[0], vs), params,
                          atol=1e-7, rtol=1e-5)
    assert report, str(report)
    assert [c.name for c in report.inputs] == list(params)
    # the check compared something: every parameter has a non-zero gradient somewhere
    assert all(abs(c.analytic) > 0 or abs(c.numeric) > 0 for c in report.inputs), str(report)


@pytest.mark.parametrize("kind", ["elman", "jordan", "stacked-elman-over-jordan"])
def test_per_step_gradcheck_passes_under_full(kind, sequence):
    model = MODELS[kind]()
    xs, vs = sequence
    report = tg.gradcheck(lambda: nn.loss_vector(model(xs)[0], vs), model.parameters(),
                          per_step=True, atol=1e-7, rtol=1e-5)
    assert report and report.first_failing_step is None, str(report)


def strongly_recurrent_elman():
    """Wm large enough that the paths through h[t-1] carry a good part of the gradient."""
    return randomize(nn.Elman(N, 3, O, learn_initial_state=True, seed=0), seed=12, scale=0.9)


def test_gradcheck_fails_under_elman_and_says_where_and_by_how_much(sequence):
    model = strongly_recurrent_elman()
    xs, vs = sequence
    report = tg.gradcheck(lambda: nn.loss_vector(model(xs, truncation="elman")[0], vs),
                          model.parameters(), per_step=True)
    assert not report
    # R[1] has no path through an earlier step, so the first disagreement is at t=2
    assert report.first_failing_step == 2
    by_name = {c.name: c for c in report.inputs}
    # the state-side parameters fail, the output layer (reached through y[t] alone) passes
    for name in ("W1", "Wm", "b1"):
        check = by_name[name]
        assert not check.passed and check.step == 2 and check.failed > 0, name
        assert check.abs_error > 1e-3, name
        assert check.abs_error > 100 * (report.atol + report.rtol * abs(check.numeric)), name
    for name in ("W2", "b2"):
        assert by_name[name].passed, name
    # h0 enters step 1 only: its R[t] gradients for t >= 2 are all dropped, and it fails at t=2
    assert not by_name["h0"].passed and by_name["h0"].step == 2
    text = str(report)
    assert "FAILED" in text and "t=2" in text
    for name in ("W1", "Wm", "b1", "h0"):
        assert name in text
        assert f"{by_name[name].abs_error:.2e}" in text


def test_the_reported_error_is_the_dropped_paths_contribution(sequence):
    """The scalar check (no per_step): the numeric side is the full-BPTT gradient (checked
    here against the hand-written chain rule) and the analytic side the Elman one, so the
    reported abs_error is |full - elman| at the reported index."""
    model = strongly_recurrent_elman()
    xs, vs = sequence
    report = tg.gradcheck(lambda: nn.sequence_loss(model(xs, truncation="elman")[0], vs),
                          model.parameters())
    assert not report
    P = model.state_dict()
    _, full = elman_bptt(P, xs, vs, P["h0"], full_cut)
    model.zero_grad()
    nn.sequence_loss(model(xs, truncation="elman")[0], vs).backward()
    for check in report.inputs:
        elman_grad = getattr(model, check.name).grad
        np.testing.assert_allclose(check.analytic, elman_grad[check.index], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(check.numeric, full[check.name][check.index], rtol=1e-6,
                                   atol=1e-8)
        np.testing.assert_allclose(check.abs_error, abs(full[check.name] - elman_grad)[check.index],
                                   rtol=1e-5, atol=1e-8)
    assert {c.name for c in report.failures} == {"W1", "Wm", "b1", "h0"}


def test_jordan_fails_under_elman_in_the_output_layer_too(sequence):
    """In Jordan's network y[t-1] feeds s[t]: W2 and b2 lose paths as well."""
    model = randomize(nn.Jordan(N, 3, O, mu=0.5, seed=2), seed=13, scale=0.9)
    xs, vs = sequence
    report = tg.gradcheck(lambda: nn.loss_vector(model(xs, truncation="elman")[0], vs),
                          model.parameters(), per_step=True)
    assert report.first_failing_step == 2
    assert {"W2", "b2", "Wm"} <= {c.name for c in report.failures}


@pytest.mark.parametrize("policy", ["elman", "chunked:2", "window:2"])
def test_feedforward_models_ignore_the_policy(policy, sequence):
    """The baselines have no recurrence: every policy gives the true gradient."""
    model = MODELS["windowed-mlp-3"]()
    xs, vs = sequence
    report = tg.gradcheck(lambda: nn.sequence_loss(model(xs, truncation=policy)[0], vs),
                          model.parameters(), atol=1e-7, rtol=1e-5)
    assert report, str(report)
