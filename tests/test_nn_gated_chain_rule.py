"""The engine's gradients of a 2-step LSTM against the chain rule written out by hand, term by
term (tests/gated_oracles.py): under full BPTT, under Elman's truncation (h[1] and c[1] both
constants entering step 2) and with h[1] alone cut, where the past is reached through the
cell state's highway c[1] -> c[2] only."""
import numpy as np
import pytest
from gated_oracles import two_step_lstm_by_hand
from nn_oracles import engine_grads, randomize

from tinygrad_rnn import nn

N, H, O = 2, 3, 2


class HighwayOnlyLSTM(nn.LSTM):
    """An LSTM whose h[t-1] is cut entering every step after the first while c[t-1] is not:
    its gradient reaches the past through the cell state alone."""

    def enter(self, state, t):
        h, c = state
        return (h.cut() if t > 1 else h), c


@pytest.mark.parametrize("cut_h, cut_c", [(True, False), (False, False), (True, True)])
def test_two_step_lstm_gradients_match_the_written_out_chain_rule(cut_h, cut_c):
    """Full BPTT, Elman's truncation (both h[1] and c[1] cut), and h[1] alone cut: then the
    Wm^T da[2] term is gone and the f[2] dc[2] term kept, the highway c[1] -> c[2] by itself."""
    kind = HighwayOnlyLSTM if cut_h and not cut_c else nn.LSTM
    model = randomize(kind(N, H, O, learn_initial_state=True, seed=0), seed=4, scale=0.8)
    rng = np.random.default_rng(9)
    xs, vs = rng.normal(size=(2, 1, N)), rng.normal(size=(2, 1, O))
    P = model.state_dict()
    ys_hand, want, states = two_step_lstm_by_hand(P, xs[:, 0], vs[:, 0], P["h0"], P["c0"],
                                                  cut_h, cut_c)
    ys, _ = model(xs, truncation="elman" if cut_c else "full")
    nn.sequence_loss(ys, vs).backward()
    got = engine_grads(model)
    np.testing.assert_allclose(ys.data[:, 0], ys_hand, rtol=0, atol=1e-14)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-11, atol=1e-13, err_msg=name)
    if not cut_c:
        assert np.abs(states["c path"]).max() > 1e-3      # the highway carries a visible share
