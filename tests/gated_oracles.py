"""The chain rule of a 2-step LSTM written out by hand, term by term, in plain numpy: the
oracle of tests/test_nn_gated_chain_rule.py and of the visualizer's |dR/dc[t]|.

One sample, T = 2, the loss R = R[1] + R[2] with R[t] = mean_o (y[t] - v[t])^2. Forward, for
t = 1, 2:  a[t] = W1 x[t] + b1 + Wm h[t-1];  i, f, g, o = s(a_i), s(a_f), tanh(a_g), s(a_o);
c[t] = f c[t-1] + i g;  h[t] = o tanh(c[t]);  y[t] = W2 h[t] + b2.

Backward, the lecture's way (each quantity written from the ones after it):
    dy[t]  = 2 (y[t] - v[t]) / O
    dh[2]  = W2^T dy[2]
    dc[2]  = dh[2] o[2] (1 - tanh^2 c[2])
    da[2]  = (dc[2] g[2] i'(2), dc[2] c[1] f'(2), dc[2] i[2] g'(2), dh[2] tanh c[2] o'(2))
    dh[1]  = W2^T dy[1] + Wm^T da[2]                      the h path back through step 2
    dc[1]  = dh[1] o[1] (1 - tanh^2 c[1]) + f[2] dc[2]    the c path: the highway c[1] -> c[2]
    da[1]  = (dc[1] g[1] i'(1), dc[1] c[0] f'(1), dc[1] i[1] g'(1), dh[1] tanh c[1] o'(1))
    dh[0]  = Wm^T da[1],   dc[0] = f[1] dc[1]
with s' = s (1 - s) for the sigmoid gates and g' = 1 - g^2. Under Elman's truncation the state
(h[1], c[1]) entering step 2 is a constant: both the Wm^T da[2] and the f[2] dc[2] terms go.
"""
import numpy as np


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def forward_step(P, x, h, c):
    """One LSTM step for one sample: the gates, c[t], h[t] and y[t]."""
    H = P["Wm"].shape[1]
    a = P["W1"] @ x + P["b1"] + P["Wm"] @ h
    i, f, o = (sigmoid(a[k * H:(k + 1) * H]) for k in (0, 1, 3))
    g = np.tanh(a[2 * H:3 * H])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return dict(i=i, f=f, g=g, o=o, c=c_new, h=h_new, y=P["W2"] @ h_new + P["b2"])


def gate_gradient(dc, dh, c_before, s):
    """da[t] from dc[t] and dh[t], with s the step's forward values."""
    return np.concatenate([dc * s["g"] * s["i"] * (1 - s["i"]),
                           dc * c_before * s["f"] * (1 - s["f"]),
                           dc * s["i"] * (1 - s["g"] ** 2),
                           dh * np.tanh(s["c"]) * s["o"] * (1 - s["o"])])


def two_step_lstm_by_hand(P, xs, vs, h0, c0, cut_h=False, cut_c=False):
    """ys (2, O), the gradients of every parameter and of h0, c0, and the gradients at the
    states {"h[1]", "c[1]", "h[2]", "c[2]", "c path"} (the last: f[2] dc[2]), for one sample:
    xs (2, N), vs (2, O). cut_h / cut_c: h[1] / c[1] is a constant entering step 2."""
    O = P["W2"].shape[0]
    s1 = forward_step(P, xs[0], h0, c0)
    s2 = forward_step(P, xs[1], s1["h"], s1["c"])
    dy1, dy2 = 2 * (s1["y"] - vs[0]) / O, 2 * (s2["y"] - vs[1]) / O

    dh2 = P["W2"].T @ dy2
    dc2 = dh2 * s2["o"] * (1 - np.tanh(s2["c"]) ** 2)
    da2 = gate_gradient(dc2, dh2, s1["c"], s2)

    h_path = 0 if cut_h else P["Wm"].T @ da2
    c_path = 0 if cut_c else s2["f"] * dc2
    dh1 = P["W2"].T @ dy1 + h_path
    dc1 = dh1 * s1["o"] * (1 - np.tanh(s1["c"]) ** 2) + c_path
    da1 = gate_gradient(dc1, dh1, c0, s1)

    grads = {
        "W1": np.outer(da1, xs[0]) + np.outer(da2, xs[1]),
        "Wm": np.outer(da1, h0) + np.outer(da2, s1["h"]),
        "b1": da1 + da2,
        "W2": np.outer(dy1, s1["h"]) + np.outer(dy2, s2["h"]),
        "b2": dy1 + dy2,
        "h0": P["Wm"].T @ da1,
        "c0": s1["f"] * dc1,
    }
    states = {"h[1]": dh1, "c[1]": dc1, "h[2]": dh2, "c[2]": dc2, "c path": c_path}
    return np.stack([s1["y"], s2["y"]]), grads, states
