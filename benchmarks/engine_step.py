"""One Elman training step through tinygrad_rnn's recorded graph, on the references' problems.

The same model and loss as reference_numpy.py (h[t] = tanh(W1 x[t] + Wm h[t-1] + b1),
y[t] = W2 h[t] + b2, R = sum_t ||y[t] - v[t]||^2), built from nn.Elman and nn.sequence_loss:
the graph the visualizer draws, not a separate fast path.

    >>> from reference_numpy import make_problem
    >>> params, xs, vs = make_problem("small")
    >>> model = build_elman(params)
    >>> loss, grads = elman_bptt_engine(model, xs, vs)
"""
import numpy as np
from reference_numpy import PARAM_NAMES

from tinygrad_rnn import nn


def build_elman(params, dtype=None):
    """An nn.Elman holding copies of the reference's weights (in `dtype`, default theirs)."""
    H, N = params["W1"].shape
    O = params["W2"].shape[0]
    model = nn.Elman(N, H, O, seed=0)
    for name in PARAM_NAMES:
        getattr(model, name).data = np.array(params[name], dtype=dtype or params[name].dtype)
    return model


def elman_forward_engine(model, xs, vs, checkpoint_every=None):
    """Forward over all steps: the loss R, its graph recorded, no backward."""
    ys, _ = model(xs, checkpoint_every=checkpoint_every)
    return nn.sequence_loss(ys, vs, "sum_squared_error")


def elman_bptt_engine(model, xs, vs, checkpoint_every=None):
    """Forward over all steps, full BPTT, gradients of every parameter: (loss, grads dict)."""
    model.zero_grad()
    loss = elman_forward_engine(model, xs, vs, checkpoint_every)
    loss.backward()
    return loss.item(), {name: getattr(model, name).grad for name in PARAM_NAMES}
