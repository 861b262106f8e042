"""The lecture's recurrent networks, each a cell unrolled by nn/unroll.py.

    Elman (1990):  h[t] = f(W1 x[t] + Wm h[t-1] + b1),   y[t] = g(W2 h[t] + b2)
    Jordan (1986): s[t] = mu s[t-1] + y[t-1],            h[t] = f(W1 x[t] + Wm s[t] + b1),
                   y[t] = g(W2 h[t] + b2)
    StateSpace:    y[t], s[t] = fn(x[t], s[t-1])  for any fn built from tensor ops
    Stacked:       layers of cells, each layer's y[t] the next layer's x[t] (deep RNNs)

Calling a model: `ys, state = model(xs, state=None, truncation="full")` with xs (T, B, N)
and ys (T, B, O). Parameter names and shapes are the lecture's: W1 (H, N), Wm (H, H) for
Elman and (H, O) for Jordan, b1 (H,), W2 (O, H), b2 (O,).
"""
from collections.abc import Mapping
from functools import partial

import numpy as np

from .. import settings
from ..context import name_scope, recording
from ..errors import DTypeError, SettingError, ShapeError
from ..functional import linear
from ..tensor import Tensor, leaf
from .input_projection import InputProjection
from .layers import as_rng, get_activation
from .module import Module, init_uniform
from .unroll import as_sequence, as_state, unroll


def zeros_state(shape, dtype, name, step, role="state"):
    """A state of zeros entering the sequence, named and tagged for the visualizer."""
    return Tensor(np.zeros(shape, dtype=dtype), name=name).annotate(role=role, step=step)


def _check_shape(model, what, tensor, expected):
    shape = getattr(tensor, "shape", None)
    if not isinstance(tensor, Tensor) or shape != expected:
        raise ShapeError(f"{model}: the {what} must be a Tensor of shape {expected}, got "
                         f"{type(tensor).__name__} of shape {shape}")


class RecurrentModule(Module):
    """What every recurrent model shares: calling it unrolls it."""

    releases_values = True     # values no vjp reads are dropped at each step's end (memory.py)

    def forward(self, xs, state=None, truncation="full", checkpoint_every=None):
        """xs (T, B, N) -> (ys (T, B, O), final state). See truncation.py for `truncation`;
        checkpoint_every=k recomputes segments of k steps during backward (less memory)."""
        return unroll(self, xs, state, truncation, checkpoint_every)


class ProjectedInput(RecurrentModule):
    """A recurrent model whose input enters as W1 x[t] + b1 (Elman, Jordan, and the gated cells,
    whose W1 projects the input for every gate at once): that projection does not depend on
    the state, so forward() computes it for blocks of steps at once (input_projection.py) and
    binds it to the steps it unrolls, while each step still records its own linear(x[t], W1,
    b1) node."""

    def __init__(self, input_size, hidden_size, output_size, memory_size, activation,
                 output_activation, hoist_input, seed):
        """The lecture's weights, initialised as PyTorch's RNN layers are: W1 (H, N), Wm
        (H, memory_size: H for Elman's h, O for Jordan's s), b1 (H,), W2 (O, H), b2 (O,)."""
        super().__init__()
        owner = type(self).__name__
        input_size = settings.positive_int(owner, "input_size", input_size)
        hidden_size = settings.positive_int(owner, "hidden_size", hidden_size)
        output_size = settings.positive_int(owner, "output_size", output_size)
        memory_size = settings.positive_int(owner, "the state size", memory_size)
        rng = as_rng(seed, owner)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.hoist_input = settings.flag(owner, "hoist_input", hoist_input)
        self.W1 = init_uniform(rng, (hidden_size, input_size), hidden_size, "W1")
        self.Wm = init_uniform(rng, (hidden_size, memory_size), hidden_size, "Wm")
        self.b1 = init_uniform(rng, (hidden_size,), hidden_size, "b1")
        self.W2 = init_uniform(rng, (output_size, hidden_size), hidden_size, "W2")
        self.b2 = init_uniform(rng, (output_size,), hidden_size, "b2")
        self.f, self.g = get_activation(activation), get_activation(output_activation)

    def forward(self, xs, state=None, truncation="full", checkpoint_every=None):
        """xs (T, B, N) -> (ys (T, B, O), final state). See truncation.py for `truncation`;
        checkpoint_every=k recomputes segments of k steps during backward (less memory)."""
        xs = as_sequence(xs, type(self).__name__, self.input_size)
        step = self.step
        if self.hoist_input:
            step = partial(self.step, projection=InputProjection(xs, self.W1, self.b1))
        return unroll(self, xs, state, truncation, checkpoint_every, step=step)

    def initial_hidden(self, batch, dtype):
        """h[0]: the learned h0 when learn_initial_state=True, else zeros (batch, H)."""
        if "h0" in self._parameters:
            return self.h0.annotate(role="state", step=0)    # (H,): broadcasts over the batch
        return zeros_state((batch, self.hidden_size), dtype, "h[0]", 0)

    def project_input(self, x, t, projection=None):
        """W1 x[t] + b1 as one linear node, its value from `projection`'s block if given."""
        if projection is not None:
            return projection(x, t)
        return linear(x, self.W1, self.b1)


class Elman(ProjectedInput):
    """Elman's network: the hidden state h[t] is the memory.

    >>> model = Elman(3, 8, 2, seed=0)
    >>> ys, h = model(np.zeros((5, 4, 3)), truncation="elman")   # ys (5, 4, 2), h (4, 8)
    """

    def __init__(self, input_size, hidden_size, output_size, activation="tanh",
                 output_activation=None, learn_initial_state=False, hoist_input=True, seed=None):
        super().__init__(input_size, hidden_size, output_size, hidden_size, activation,
                         output_activation, hoist_input, seed)
        if settings.flag("Elman", "learn_initial_state", learn_initial_state):
            self.h0 = Tensor(np.zeros(hidden_size), requires_grad=True, name="h0")

    def initial_state(self, batch, dtype):
        return self.initial_hidden(batch, dtype)

    def check_state(self, state, batch):
        _check_shape("Elman", "state h", state, (batch, self.hidden_size))

    def enter(self, h, t):
        return h

    def step(self, x, h, t, projection=None):
        pre = linear(h, self.Wm, self.project_input(x, t, projection))  # W1 x[t] + b1 + Wm h[t-1]
        h = self.f(pre).annotate(role="state", name=f"h[{t}]")
        y = self.g(linear(h, self.W2, self.b2)).annotate(role="output", name=f"y[{t}]")
        return y, h


class Jordan(ProjectedInput):
    """Jordan's network: the state s[t] is a fixed moving average of past outputs.

    The carry after step t is the pair (s[t], y[t]); entering step t+1 computes
    s[t+1] = mu s[t] + y[t]. Under a truncation it is s[t] that is cut.
    """

    def __init__(self, input_size, hidden_size, output_size, mu=0.5, activation="tanh",
                 output_activation=None, learn_initial_state=False, hoist_input=True, seed=None):
        super().__init__(input_size, hidden_size, output_size, output_size, activation,
                         output_activation, hoist_input, seed)
        self.mu = settings.real("Jordan", "mu", mu)
        if settings.flag("Jordan", "learn_initial_state", learn_initial_state):
            self.s1 = Tensor(np.zeros(output_size), requires_grad=True, name="s1")

    def initial_state(self, batch, dtype):
        if "s1" in self._parameters:
            return self.s1.annotate(role="state", step=1)
        return zeros_state((batch, self.output_size), dtype, "s[1]", 1)

    def check_state(self, state, batch):
        expected = (batch, self.output_size)
        if not (isinstance(state, tuple) and len(state) == 2):
            raise ShapeError(f"Jordan: the state must be the pair (s, y) returned by an earlier "
                             f"call, each of shape {expected}; got {type(state).__name__}")
        _check_shape("Jordan", "state s", state[0], expected)
        _check_shape("Jordan", "state y", state[1], expected)

    def enter(self, carry, t):
        s, y = carry
        return (self.mu * s + y).annotate(role="state", name=f"s[{t}]")

    def step(self, x, s, t, projection=None):
        pre = linear(s, self.Wm, self.project_input(x, t, projection))  # W1 x[t] + b1 + Wm s[t]
        h = self.f(pre).annotate(role="hidden", name=f"h[{t}]")
        y = self.g(linear(h, self.W2, self.b2)).annotate(role="output", name=f"y[{t}]")
        return y, (s, y)


class StateSpace(RecurrentModule):
    """The lecture's general state-space model: y[t], s[t] = fn(x[t], s[t-1]).

    `fn(x, s) -> (y, s_new)` is any function built from tensor ops; `initial_state` is a
    Tensor (or tuple of Tensors) broadcastable over the batch, or a function batch -> state.
    `parameters` names the tensors fn uses, so the optimizer and save() see them.

    >>> W = Tensor(rng.standard_normal((4, 4)), requires_grad=True)
    >>> U = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    >>> cell = StateSpace(lambda x, s: ((x @ U.T + s @ W.T).tanh(),) * 2,
    ...                   initial_state=Tensor(np.zeros(4)), parameters={"W": W, "U": U})
    """

    releases_values = False    # fn is the user's: its intermediate values may be wanted

    def __init__(self, fn, initial_state, parameters=None, input_size=None, name="StateSpace"):
        super().__init__()
        if not isinstance(name, str):
            raise SettingError(f"StateSpace: name must be a str (it names the model in "
                               f"messages), got {name!r} ({type(name).__name__})")
        settings.function(name, "fn", fn, "fn(x, s)", arguments=2)
        if callable(initial_state) and not isinstance(initial_state, Tensor):
            settings.function(name, "initial_state", initial_state, "initial_state(batch)",
                              arguments=1)
        elif not isinstance(initial_state, (Tensor, tuple)):
            raise SettingError(f"{name}: initial_state must be a Tensor, a tuple of Tensors or a "
                               f"function batch -> state, got {type(initial_state).__name__}")
        if input_size is not None:
            input_size = settings.positive_int(name, "input_size", input_size)
        if not isinstance(parameters or {}, Mapping):
            raise SettingError(f"{name}: parameters must be a dict {{name: Tensor}}, got "
                               f"{type(parameters).__name__}")
        self.fn, self.initial, self.input_size, self.name = fn, initial_state, input_size, name
        for key, tensor in (parameters or {}).items():
            _check_parameter_name(self, name, key)
            if not (isinstance(tensor, Tensor) and tensor.requires_grad and tensor.is_leaf):
                raise SettingError(f"{name}: parameters[{key!r}] must be a leaf Tensor that "
                                   f"requires grad (else it is neither trained nor saved), got "
                                   f"{_described(tensor)}")
        for key, tensor in (parameters or {}).items():
            setattr(self, key, tensor)

    def initial_state(self, batch, dtype):
        """The given state, or initial_state(batch); arrays in it are read as constants, as
        a state passed to forward() is."""
        state = self.initial(batch) if callable(self.initial) else self.initial
        state = as_state(state)
        _check_tensors(state, f"{self.name}: initial_state")
        return _annotate_state(state, "s[0]", entering=True)

    def check_state(self, state, batch):
        if not isinstance(state, (Tensor, tuple)):
            raise ShapeError(f"{self.name}: the state must be a Tensor or a tuple of Tensors, got "
                             f"{type(state).__name__}")

    def enter(self, s, t):
        return s

    def step(self, x, s, t):
        result = self.fn(x, s)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ShapeError(f"{self.name}: fn(x, s) must return the pair (y, s_new), got "
                             f"{_described(result)} at time step t={t}")
        y, s_new = result
        if not isinstance(y, Tensor):
            raise DTypeError(f"{self.name}: fn(x, s) returned y = {_described(y)}, not a Tensor, "
                             f"at time step t={t}")
        _check_tensors(s_new, f"{self.name}: fn(x, s) returned s_new", f" at time step t={t}")
        return y.annotate(role="output", name=f"y[{t}]"), _annotate_state(s_new, f"s[{t}]")


def _described(value):
    shape = f" of shape {value.shape}" if isinstance(value, Tensor) else ""
    grad = (", requires_grad=False" if isinstance(value, Tensor) and not value.requires_grad
            else "")
    return f"a {type(value).__name__}{shape}{grad}"


def _check_parameter_name(model, owner, key):
    """A parameter name must be a str that is not already an attribute of the model: 'fn',
    'forward' or '_parameters' would replace what the model runs on."""
    if not isinstance(key, str) or not key:
        raise SettingError(f"{owner}: parameter names must be non-empty strs, got {key!r} "
                           f"({type(key).__name__})")
    if key.startswith("_") or hasattr(model, key):
        raise SettingError(f"{owner}: parameters[{key!r}] would replace the model's own "
                           f"attribute {key!r}; choose another name")


def _check_tensors(state, what, where=""):
    """A state must be a Tensor or (nested) tuples of Tensors."""
    parts = state if isinstance(state, tuple) else (state,)
    for part in parts:
        if isinstance(part, tuple):
            _check_tensors(part, what, where)
        elif not isinstance(part, Tensor):
            raise DTypeError(f"{what} = {_described(part)}{where}; a state must be a Tensor or a "
                             f"tuple of Tensors")


def _annotate_state(state, name, entering=False):
    """A state named and tagged as one, in the scope it enters. A constant initial state
    (`entering`) is entered as a new leaf on its memory, made here, at step 0 where the
    pictures draw h[0], so each call and each layer of a stack has its own s[0] (layer0/s[0],
    layer1/s[0]) whatever the tensor was used for before. Any other state is the node itself,
    named (and, entering, put at step 0) only if it has no name: a learned initial state keeps
    the name its `parameters` entry gives it; a constant fn passes on unchanged stays the one
    node it entered as."""
    if isinstance(state, tuple):
        return tuple(_annotate_state(s, f"{name}.{i}", entering) for i, s in enumerate(state))
    if entering and state.is_leaf and not state.requires_grad:
        return leaf(state._data, memory_of=state).annotate(role="state", name=name, step=0)
    if not state.is_leaf or state.name is None:
        tags = {"scope": recording.meta.get("scope"), "step": 0 if entering else None}
        state.annotate(role="state", name=name,
                       **{tag: value for tag, value in tags.items() if value is not None})
    return state


class Stacked(RecurrentModule):
    """A deep recurrent net: layer i's output y[t] is layer i+1's input x[t]. The state is the
    tuple of the layers' carries; a truncation cuts every layer's entering state."""

    def __init__(self, layers):
        super().__init__()
        if not isinstance(layers, (list, tuple)) or not layers:
            raise SettingError(f"Stacked needs a list of at least one recurrent layer, got "
                               f"{layers!r}")
        for i, layer in enumerate(layers):
            if not all(callable(getattr(layer, m, None))
                       for m in ("initial_state", "enter", "step", "check_state")):
                raise SettingError(f"Stacked: layer {i} is a {type(layer).__name__}, not a "
                                   f"recurrent cell (Elman, Jordan, StateSpace, Stacked)")
        for i, (below, above) in enumerate(zip(layers, layers[1:])):
            given, wanted = getattr(below, "output_size", None), getattr(above, "input_size", None)
            if given is not None and wanted is not None and given != wanted:
                raise ShapeError(f"Stacked: layer {i} ({type(below).__name__}) outputs {given} "
                                 f"features but layer {i + 1} ({type(above).__name__}) takes "
                                 f"{wanted}")
        for i, layer in enumerate(layers):
            setattr(self, f"layer{i}", layer)
        self._depth = len(layers)
        self.input_size = getattr(self.layers[0], "input_size", None)
        self.releases_values = all(getattr(layer, "releases_values", False)
                                   for layer in self.layers)

    @property
    def layers(self):
        """The layers in order, as registered (layer0, layer1, ...): a layer assigned anew is
        the one that runs. A tuple, so that assigning into it (which would change nothing) is an
        error."""
        return tuple(getattr(self, f"layer{i}") for i in range(self._depth))

    def initial_state(self, batch, dtype):
        states = []
        for i, layer in enumerate(self.layers):
            with name_scope(f"layer{i}"):
                states.append(layer.initial_state(batch, dtype))
        return tuple(states)

    def check_state(self, state, batch):
        if not (isinstance(state, tuple) and len(state) == len(self.layers)):
            raise ShapeError(f"Stacked: the state must be a tuple of {len(self.layers)} layer "
                             f"states, got {type(state).__name__}")
        for layer, layer_state in zip(self.layers, state):
            layer.check_state(layer_state, batch)

    def enter(self, carries, t):
        entering = []
        for i, (layer, carry) in enumerate(zip(self.layers, carries)):
            with name_scope(f"layer{i}"):
                entering.append(layer.enter(carry, t))
        return tuple(entering)

    def step(self, x, states, t):
        carries = []
        for i, (layer, state) in enumerate(zip(self.layers, states)):
            with name_scope(f"layer{i}"):
                x, carry = layer.step(x, state, t)
            carries.append(carry)
        return x, tuple(carries)
