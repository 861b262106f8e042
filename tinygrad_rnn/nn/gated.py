"""Gated recurrent cells, the lecture's "advanced memory components", unrolled by nn/unroll.py.

    LSTM (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000), PyTorch's layout:
        a    = W1 x[t] + b1 + Wm h[t-1]                 (B, 4H): one linear for all four gates
        i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)    (blocks of H)
        c[t] = f * c[t-1] + i * g                       the cell state: a highway through time
        h[t] = o * tanh(c[t]),       y[t] = g_out(W2 h[t] + b2)
    GRU (Cho et al. 2014), PyTorch's form, with a second bias bm inside the reset gate:
        a, m = W1 x[t] + b1,  Wm h[t-1] + bm            (B, 3H) each: blocks r, z, n
        r, z = sigmoid(a_r + m_r), sigmoid(a_z + m_z)
        n    = tanh(a_n + r * m_n)
        h[t] = (1 - z) * n + z * h[t-1] = n + z * (h[t-1] - n),    y[t] = g_out(W2 h[t] + b2)

Parameters: LSTM W1 (4H, N), Wm (4H, H), b1 (4H,), W2 (O, H), b2 (O,), gates in PyTorch's
order i, f, g, o (so its weight_ih / weight_hh map one to one; its two biases sum to b1);
GRU W1 (3H, N), Wm (3H, H), b1 (3H,), bm (3H,), W2, b2, gates r, z, n. The LSTM's state is the
pair (h, c), the GRU's is h; a truncation cuts the whole state (both h and c).

Each step records one linear for all the gates' hidden-side projection (the input side is
hoisted: computed for a block of steps at once), then one node per gate computation (gates.py):
the gates side by side, gates[t] (role "gate": i, f, g, o or r, z, n), c[t] (role "cell", the
visualizer's own row beside h[t]) and h[t] (role "state"). A node over all gates, rather than
one per gate, keeps backward to one array per step: each slice of the gates would cost a dense
array of zeros.

    >>> model = LSTM(3, 8, 2, seed=0)
    >>> ys, (h, c) = model(np.zeros((5, 4, 3)), truncation="chunked:2")   # ys (5, 4, 2)
"""
from collections.abc import Mapping

import numpy as np

from .. import settings
from ..errors import ShapeError, StateDictError
from ..functional import linear
from ..tensor import Tensor, apply
from .layers import as_rng, get_activation
from .module import init_uniform
from .recurrent import ProjectedInput, RecurrentModule, zeros_state


def _described(value):
    """'Tensor of shape (2, 3)' / 'tuple of 2' / 'ndarray of shape ...': what a state was."""
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    shape = getattr(value, "shape", None)
    return type(value).__name__ + ("" if shape is None else f" of shape {tuple(shape)}")


class GatedRecurrent(ProjectedInput):
    """What LSTM and GRU share: gate blocks of H rows in W1, Wm and the biases, the hoisted
    input projection W1 x[t] + b1 of ProjectedInput (computed for blocks of steps at once,
    recorded step by step), an output head W2, b2, and checks that name the gate layout."""

    GATES = ()                 # the gates' names, in the order of their row blocks
    GATE_PARAMETERS = ()       # the parameters made of one block of H rows per gate

    def __init__(self, input_size, hidden_size, output_size, output_activation,
                 learn_initial_state, hoist_input, seed):
        RecurrentModule.__init__(self)      # the weights' shapes are the gates', made here
        owner = type(self).__name__
        input_size = settings.positive_int(owner, "input_size", input_size)
        hidden_size = settings.positive_int(owner, "hidden_size", hidden_size)
        output_size = settings.positive_int(owner, "output_size", output_size)
        hoist_input = settings.flag(owner, "hoist_input", hoist_input)
        learn_initial_state = settings.flag(owner, "learn_initial_state", learn_initial_state)
        rng = as_rng(seed, owner)
        rows = len(self.GATES) * hidden_size
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.hoist_input = hoist_input
        self.W1 = init_uniform(rng, (rows, input_size), hidden_size, "W1")
        self.Wm = init_uniform(rng, (rows, hidden_size), hidden_size, "Wm")
        self.b1 = init_uniform(rng, (rows,), hidden_size, "b1")
        if "bm" in self.GATE_PARAMETERS:
            self.bm = init_uniform(rng, (rows,), hidden_size, "bm")
        self.W2 = init_uniform(rng, (output_size, hidden_size), hidden_size, "W2")
        self.b2 = init_uniform(rng, (output_size,), hidden_size, "b2")
        self.g = get_activation(output_activation)
        if learn_initial_state:
            self.h0 = Tensor(np.zeros(hidden_size), requires_grad=True, name="h0")

    def output(self, h, t):
        return self.g(linear(h, self.W2, self.b2)).annotate(role="output", name=f"y[{t}]")

    def enter(self, state, t):
        return state

    def _check_tensor(self, what, tensor, expected):
        if not isinstance(tensor, Tensor) or tensor.shape != expected:
            raise ShapeError(f"{type(self).__name__}: the state {what} must be a Tensor of shape "
                             f"{expected} (batch, hidden_size); got {_described(tensor)}")

    def load_state_dict(self, state):
        """As Module.load_state_dict, but a gate parameter of the wrong size is named with
        the gate layout it must have (a GRU's 3H rows given to an LSTM, say)."""
        H, gates = self.hidden_size, len(self.GATES)
        name = type(self).__name__
        for key in self.GATE_PARAMETERS if isinstance(state, Mapping) else ():
            if key not in state:
                continue
            try:
                shape = np.shape(state[key])
            except (TypeError, ValueError):    # not an array (ragged lists): the general check
                continue                       # below names it
            expected = getattr(self, key).shape
            if shape != expected:
                rows = shape[0] if shape else None
                hint = (f"; {rows} rows are {rows // H} gate blocks of {H}"
                        if rows and rows % H == 0 else "")
                raise StateDictError(
                    f"{name}.load_state_dict: {key} has shape {shape}, but this {name} keeps its "
                    f"{gates} gates ({', '.join(self.GATES)}) as {gates} blocks of hidden_size="
                    f"{H} rows: {key} must be {expected}{hint}")
        super().load_state_dict(state)


class LSTM(GatedRecurrent):
    """Long short-term memory: the state is the pair (h, c); c[t] = f c[t-1] + i g carries
    what is remembered, the forget gate f deciding how much of it survives each step.

    forget_bias sets the f-gate block b1[H:2H] at initialization (1.0: remember by default,
    the usual choice since Gers et al.); None keeps PyTorch's uniform draw there.

    >>> model = LSTM(3, 8, 2, seed=0)
    >>> ys, (h, c) = model(np.zeros((5, 4, 3)))     # ys (5, 4, 2), h and c (4, 8)
    """

    GATES = ("i", "f", "g", "o")
    GATE_PARAMETERS = ("W1", "Wm", "b1")

    def __init__(self, input_size, hidden_size, output_size, output_activation=None,
                 learn_initial_state=False, forget_bias=1.0, seed=None, hoist_input=True):
        super().__init__(input_size, hidden_size, output_size, output_activation,
                         learn_initial_state, hoist_input, seed)
        if forget_bias is not None:
            forget_bias = settings.real("LSTM", "forget_bias", forget_bias, wanted=(
                "a finite number (the f-gate block of b1 at initialization) or None"))
            self.b1.data[self.hidden_size:2 * self.hidden_size] = forget_bias
        if "h0" in self._parameters:
            self.c0 = Tensor(np.zeros(hidden_size), requires_grad=True, name="c0")

    def initial_state(self, batch, dtype):
        if "c0" in self._parameters:
            c = self.c0.annotate(role="cell", step=0)
        else:
            c = zeros_state((batch, self.hidden_size), dtype, "c[0]", 0, role="cell")
        return self.initial_hidden(batch, dtype), c

    def check_state(self, state, batch):
        expected = (batch, self.hidden_size)
        if not (isinstance(state, tuple) and len(state) == 2):
            raise ShapeError(f"LSTM: the state must be the pair (h, c) an earlier call returned, "
                             f"each a Tensor of shape {expected} (batch, hidden_size); got "
                             f"{_described(state)}")
        self._check_tensor("h", state[0], expected)
        self._check_tensor("c", state[1], expected)

    def step(self, x, state, t, projection=None):
        h, c = state
        a = linear(h, self.Wm, self.project_input(x, t, projection))   # W1 x[t] + b1 + Wm h[t-1]
        gates = apply("lstm_gates", a).annotate(role="gate", name=f"gates[{t}]")    # i, f, g, o
        c = apply("lstm_cell", gates, c).annotate(role="cell", name=f"c[{t}]")       # f c + i g
        h = apply("lstm_hidden", gates, c).annotate(role="state", name=f"h[{t}]")    # o tanh c
        return self.output(h, t), (h, c)


class GRU(GatedRecurrent):
    """Gated recurrent unit: the state is h; the update gate z mixes the old h[t-1] with the
    candidate n, so h[t] = h[t-1] when z = 1.

    >>> model = GRU(3, 8, 2, seed=0)
    >>> ys, h = model(np.zeros((5, 4, 3)))          # ys (5, 4, 2), h (4, 8)
    """

    GATES = ("r", "z", "n")
    GATE_PARAMETERS = ("W1", "Wm", "b1", "bm")

    def __init__(self, input_size, hidden_size, output_size, output_activation=None,
                 learn_initial_state=False, seed=None, hoist_input=True):
        super().__init__(input_size, hidden_size, output_size, output_activation,
                         learn_initial_state, hoist_input, seed)

    def initial_state(self, batch, dtype):
        return self.initial_hidden(batch, dtype)

    def check_state(self, state, batch):
        expected = (batch, self.hidden_size)
        if isinstance(state, tuple):
            raise ShapeError(f"GRU: the state is h alone, a Tensor of shape {expected} (batch, "
                             f"hidden_size); got {_described(state)} (the pair (h, c) is an "
                             f"LSTM's state)")
        self._check_tensor("h", state, expected)

    def step(self, x, h, t, projection=None):
        a = self.project_input(x, t, projection)       # W1 x[t] + b1
        m = linear(h, self.Wm, self.bm)                # Wm h[t-1] + bm
        gates = apply("gru_gates", a, m).annotate(role="gate", name=f"gates[{t}]")   # r, z, n
        h = apply("gru_hidden", gates, h).annotate(role="state", name=f"h[{t}]")  # n + z (h - n)
        return self.output(h, t), h
