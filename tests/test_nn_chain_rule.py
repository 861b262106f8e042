"""The lecture's chain rule, written out by hand, against the engine's BPTT.

For 2- and 3-step Elman and Jordan networks, every parameter's gradient of
R = sum_t L(y[t], v[t]) (squared error) is computed in numpy (tests/nn_oracles.py: explicit
loops over t and over the samples, with the Jacobians dh[s]/dh[s-1] written out) and compared
with what backward() leaves in .grad, under `full` BPTT and under Elman's rule. The two-step
tests below spell the whole sum out term by term, as the lecture's slides do.
"""
import numpy as np
import pytest
from nn_oracles import elman_bptt, elman_cut, engine_grads, full_cut, jordan_bptt, randomize

from tinygrad_rnn import nn

WEIGHTS = ("W1", "Wm", "b1", "W2", "b2")
ORACLE_CUT = {"full": full_cut, "elman": elman_cut}
WEIGHT_SCALE = 0.8      # the recurrent paths carry a visible share of the gradient


def engine_backward(model, xs, vs, policy, names):
    model.zero_grad()
    ys, _ = model(xs, truncation=policy)
    nn.sequence_loss(ys, vs, "mse").backward()
    return ys.data, engine_grads(model, names)


def data(T, B, N, O, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, N)), rng.normal(size=(T, B, O))


@pytest.mark.parametrize("T", [2, 3])
@pytest.mark.parametrize("policy", ["full", "elman"])
@pytest.mark.parametrize("learn_initial_state", [False, True])
@pytest.mark.parametrize("B", [1, 2])
def test_elman_gradients_match_the_hand_written_chain_rule(T, policy, learn_initial_state, B):
    N, H, O = 2, 3, 2
    model = randomize(nn.Elman(N, H, O, learn_initial_state=learn_initial_state, seed=0),
                      seed=T, scale=WEIGHT_SCALE)
    xs, vs = data(T, B, N, O, seed=10 + T)
    P = model.state_dict()
    h0 = P["h0"] if learn_initial_state else np.zeros(H)
    names = WEIGHTS + (("h0",) if learn_initial_state else ())

    ys, got = engine_backward(model, xs, vs, policy, names)
    ys_hand, want = elman_bptt(P, xs, vs, h0, ORACLE_CUT[policy])

    np.testing.assert_allclose(ys, ys_hand, rtol=0, atol=1e-13)
    for name in names:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("T", [2, 3])
@pytest.mark.parametrize("policy", ["full", "elman"])
@pytest.mark.parametrize("learn_initial_state", [False, True])
@pytest.mark.parametrize("output_activation", [None, "tanh"])
def test_jordan_gradients_match_the_hand_written_chain_rule(T, policy, learn_initial_state,
                                                             output_activation):
    N, H, O, B, mu = 2, 3, 2, 2, 0.7
    model = randomize(nn.Jordan(N, H, O, mu=mu, output_activation=output_activation,
                                learn_initial_state=learn_initial_state, seed=0), seed=20 + T,
                      scale=WEIGHT_SCALE)
    xs, vs = data(T, B, N, O, seed=30 + T)
    P = model.state_dict()
    s1 = P["s1"] if learn_initial_state else np.zeros(O)
    names = WEIGHTS + (("s1",) if learn_initial_state else ())

    ys, got = engine_backward(model, xs, vs, policy, names)
    ys_hand, want = jordan_bptt(P, xs, vs, s1, mu, ORACLE_CUT[policy],
                                output_tanh=output_activation == "tanh")

    np.testing.assert_allclose(ys, ys_hand, rtol=0, atol=1e-13)
    for name in names:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("oracle, recurrent_names, make", [
    (elman_bptt, ("W1", "Wm", "b1"), lambda: nn.Elman(2, 3, 2, learn_initial_state=True, seed=0)),
    (jordan_bptt, ("W1", "Wm", "b1", "W2", "b2"),
     lambda: nn.Jordan(2, 3, 2, learn_initial_state=True, seed=0)),
])
def test_the_oracle_itself_sees_the_dropped_paths(oracle, recurrent_names, make):
    """Guard against a vacuous comparison: on these networks full and Elman's rule really
    differ in every parameter the recurrence touches, and agree where it cannot matter."""
    model = randomize(make(), seed=3, scale=WEIGHT_SCALE)
    xs, vs = data(3, 2, 2, 2, seed=4)
    P = model.state_dict()
    init = P.get("h0", P.get("s1"))
    args = (P, xs, vs, init) if oracle is elman_bptt else (P, xs, vs, init, 0.5)
    _, full = oracle(*args, full_cut)
    _, elman = oracle(*args, elman_cut)
    for name in recurrent_names:
        assert np.max(np.abs(full[name] - elman[name])) > 1e-3, name
    if oracle is elman_bptt:     # W2, b2 reach R[t] through y[t] only: nothing to drop
        for name in ("W2", "b2"):
            np.testing.assert_allclose(full[name], elman[name], rtol=0, atol=1e-15)


def test_two_step_elman_chain_rule_spelled_out():
    """The lecture's slide for T = 2, one sample, y[t] = W2 h[t] + b2:

        grad_W1 R = d1 x1^T  +  d2 x2^T  +  (D1 Wm^T d2) x1^T
        grad_Wm R = d1 h0^T  +  d2 h1^T  +  (D1 Wm^T d2) h0^T
    with e[t] = dL/dy[t] = 2 (y[t] - v[t]) / O, D[t] = diag(1 - h[t]^2), d[t] = D[t] W2^T e[t].
    The last term of each line is the path through h[1]; Elman's rule drops exactly it.
    """
    N, H, O = 2, 3, 2
    model = randomize(nn.Elman(N, H, O, learn_initial_state=True, seed=0),
                      seed=5, scale=WEIGHT_SCALE)
    xs, vs = data(2, 1, N, O, seed=6)
    W1, Wm, b1, W2, b2, h0 = (model.state_dict()[k] for k in ("W1", "Wm", "b1", "W2", "b2", "h0"))
    x1, x2, v1, v2 = xs[0, 0], xs[1, 0], vs[0, 0], vs[1, 0]

    h1 = np.tanh(W1 @ x1 + Wm @ h0 + b1)
    y1 = W2 @ h1 + b2
    h2 = np.tanh(W1 @ x2 + Wm @ h1 + b1)
    y2 = W2 @ h2 + b2
    e1, e2 = 2 * (y1 - v1) / O, 2 * (y2 - v2) / O
    D1, D2 = np.diag(1 - h1 ** 2), np.diag(1 - h2 ** 2)
    d1, d2 = D1 @ W2.T @ e1, D2 @ W2.T @ e2
    through_h1 = D1 @ Wm.T @ d2

    full = {"W1": np.outer(d1, x1) + np.outer(d2, x2) + np.outer(through_h1, x1),
            "Wm": np.outer(d1, h0) + np.outer(d2, h1) + np.outer(through_h1, h0),
            "b1": d1 + d2 + through_h1,
            "W2": np.outer(e1, h1) + np.outer(e2, h2),
            "b2": e1 + e2,
            "h0": Wm.T @ d1 + Wm.T @ through_h1}
    dropped = {"W1": np.outer(through_h1, x1), "Wm": np.outer(through_h1, h0), "b1": through_h1,
               "W2": 0, "b2": 0, "h0": Wm.T @ through_h1}
    names = tuple(full)

    _, got_full = engine_backward(model, xs, vs, "full", names)
    _, got_elman = engine_backward(model, xs, vs, "elman", names)
    for name in names:
        np.testing.assert_allclose(got_full[name], full[name], rtol=1e-10, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(got_elman[name], full[name] - dropped[name], rtol=1e-10,
                                   atol=1e-13, err_msg=name)
        # the difference is exactly the dropped path (DESIGN.md)
        np.testing.assert_allclose(got_full[name] - got_elman[name], np.broadcast_to(
            dropped[name], full[name].shape), rtol=1e-9, atol=1e-13, err_msg=name)
    assert np.abs(dropped["W1"]).max() > 1e-3 and np.abs(dropped["Wm"]).max() > 1e-3


def test_two_step_jordan_chain_rule_spelled_out():
    """Jordan, T = 2, one sample: s2 = mu s1 + y1 carries R[2] back into step 1.

        grad_W1 R = d1 x1^T + d2 x2^T + (D1 W2^T Wm^T d2) x1^T
        grad_W2 R = e1 h1^T + e2 h2^T + (Wm^T d2) h1^T
        grad_s1 R = Wm^T d1 + mu Wm^T d2 + Wm^T (D1 W2^T Wm^T d2)
    with d[t] = D[t] W2^T e[t]. Under Elman's rule s[2] is a constant: every term that goes
    through it (the third of each line, the second and third of grad_s1) is dropped.
    """
    N, H, O, mu = 2, 3, 2, 0.6
    model = randomize(nn.Jordan(N, H, O, mu=mu, learn_initial_state=True, seed=0),
                      seed=7, scale=WEIGHT_SCALE)
    xs, vs = data(2, 1, N, O, seed=8)
    W1, Wm, b1, W2, b2, s1 = (model.state_dict()[k] for k in ("W1", "Wm", "b1", "W2", "b2", "s1"))
    x1, x2, v1, v2 = xs[0, 0], xs[1, 0], vs[0, 0], vs[1, 0]

    h1 = np.tanh(W1 @ x1 + Wm @ s1 + b1)
    y1 = W2 @ h1 + b2
    s2 = mu * s1 + y1
    h2 = np.tanh(W1 @ x2 + Wm @ s2 + b1)
    y2 = W2 @ h2 + b2
    e1, e2 = 2 * (y1 - v1) / O, 2 * (y2 - v2) / O
    D1, D2 = np.diag(1 - h1 ** 2), np.diag(1 - h2 ** 2)
    d1, d2 = D1 @ W2.T @ e1, D2 @ W2.T @ e2
    g_s2 = Wm.T @ d2                  # dR[2]/ds[2]
    through_y1 = D1 @ W2.T @ g_s2     # dR[2]/da[1] via s2 -> y1 -> h1

    full = {"W1": np.outer(d1, x1) + np.outer(d2, x2) + np.outer(through_y1, x1),
            "Wm": np.outer(d1, s1) + np.outer(d2, s2) + np.outer(through_y1, s1),
            "b1": d1 + d2 + through_y1,
            "W2": np.outer(e1, h1) + np.outer(e2, h2) + np.outer(g_s2, h1),
            "b2": e1 + e2 + g_s2,
            "s1": Wm.T @ d1 + mu * g_s2 + Wm.T @ through_y1}
    elman = {"W1": np.outer(d1, x1) + np.outer(d2, x2), "Wm": np.outer(d1, s1) + np.outer(d2, s2),
             "b1": d1 + d2, "W2": np.outer(e1, h1) + np.outer(e2, h2), "b2": e1 + e2,
             "s1": Wm.T @ d1}
    names = tuple(full)

    _, got_full = engine_backward(model, xs, vs, "full", names)
    _, got_elman = engine_backward(model, xs, vs, "elman", names)
    for name in names:
        np.testing.assert_allclose(got_full[name], full[name], rtol=1e-10, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(got_elman[name], elman[name], rtol=1e-10, atol=1e-13,
                                   err_msg=name)
