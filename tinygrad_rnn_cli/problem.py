"""The small random problems the commands draw and check: a model of the lecture's sizes
(2 inputs, 3 hidden units, 1 output), T steps of random inputs and targets, batch 1, all from
one seed.

    >>> net, params, xs, vs = build("elman", steps=6, seed=0)
    >>> list(params), xs.shape, vs.shape
    (['W1', 'Wm', 'b1', 'W2', 'b2'], (6, 1, 2), (6, 1, 1))
"""
import re

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.truncation import Full

MODELS = ("elman", "jordan", "lstm", "gru", "mlp")
INPUTS, HIDDEN, OUTPUTS = 2, 3, 1


def make_model(model, seed=0):
    """(model, {name: parameter}): the per-step MLP's parameters get the lecture's names W1,
    b1, W2, b2, and each tensor carries its name (gradcheck's report names inputs by it)."""
    if model == "elman":
        net = nn.Elman(INPUTS, HIDDEN, OUTPUTS, seed=seed)
    elif model == "jordan":
        net = nn.Jordan(INPUTS, HIDDEN, OUTPUTS, seed=seed)
    elif model == "lstm":
        net = nn.LSTM(INPUTS, HIDDEN, OUTPUTS, seed=seed)
    elif model == "gru":
        net = nn.GRU(INPUTS, HIDDEN, OUTPUTS, seed=seed)
    elif model == "mlp":
        net = nn.WindowedMLP(INPUTS, [HIDDEN], OUTPUTS, window=1, seed=seed)
    else:
        raise tg.SettingError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    params = {}
    for name, tensor in net.named_parameters():
        layer = re.fullmatch(r"mlp\.layer(\d+)\.([Wb])", name)
        params[f"{layer[2]}{int(layer[1]) + 1}" if layer else name] = tensor
    for name, tensor in params.items():
        tensor.name = name
    return net, params


def build(model, steps, seed=0):
    """(model, named parameters, xs (T, 1, 2), vs (T, 1, 1)): the problem of `steps` steps."""
    net, params = make_model(model, seed)
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, 1, INPUTS))
    vs = rng.standard_normal((steps, 1, OUTPUTS))
    return net, params, xs, vs


def policy_drops_paths(policy, steps):
    """True when some loss term R[t], t <= steps, of a recurrent model loses gradient paths
    under the policy: a cut on its chain between steps 2 and t."""
    if isinstance(policy, Full):
        return False
    for t in range(2, steps + 1):
        chain = policy.chain_for_output(t)
        if any(policy.cuts_before(s, chain) for s in range(2, t + 1)):
            return True
    return False


def drops_paths(net, policy, steps):
    """True when the policy drops gradient paths of this model: only a model with recurrence
    has paths back through time to drop (a per-step MLP has none, whatever the policy)."""
    return isinstance(net, nn.RecurrentModule) and policy_drops_paths(policy, steps)
