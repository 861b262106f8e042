"""The lecture's feed-forward baselines on sequences: they see a finite window, so they forget.

    WindowedMLP(window=1): the lecture's MLP, y[t] from x[t] alone.
    WindowedMLP(window=w): the "large MLP" fed the last w inputs x[t-w+1..t] (zeros before t=1).
    TemporalConv: the lecture's CNN, causal 1-D convolutions over time (filters shared across
                  steps), receptive field layers * (kernel_size - 1) + 1, then an MLP head.

All take xs (T, B, N) and return (ys (T, B, O), None), the same shape as the recurrent
models' (ys, state), so one training loop serves every model. Each step runs inside step(t),
so the visualizer draws one column per step with no edge between columns.
"""
import numpy as np

from .. import settings
from ..context import step as time_step
from ..errors import SettingError
from ..functional import concatenate, linear, stack
from ..tensor import Tensor, precomputed
from ..truncation import resolve
from .layers import MLP, as_rng, get_activation, sizes_list
from .module import Module, init_uniform
from .unroll import as_sequence


def feed_forward_call(model, state, truncation, checkpoint_every):
    """The recurrent models' keywords, checked for a model without recurrence. A truncation
    must still be a policy or its spelling (a typo is refused, not ignored), but changes
    nothing: there is no path through time to cut. checkpoint_every must be None or a
    positive integer, and changes nothing either: no step's graph reaches another step's.
    The state must be None, which is what this model returns: a state from a recurrent model
    would be dropped without a word."""
    owner = type(model).__name__
    if state is not None:
        raise SettingError(f"{owner}: a feed-forward model keeps no state between calls, so it "
                           f"takes state=None (what it returns), got a {type(state).__name__}")
    if truncation is not None:
        resolve(truncation)
    if checkpoint_every is not None:
        settings.positive_int(owner, "checkpoint_every", checkpoint_every)


class WindowedMLP(Module):
    """An MLP applied at every step to the concatenation of the last `window` inputs."""

    def __init__(self, input_size, hidden_sizes, output_size, window=1, activation="tanh",
                 output_activation=None, seed=None):
        super().__init__()
        input_size = settings.positive_int("WindowedMLP", "input_size", input_size)
        output_size = settings.positive_int("WindowedMLP", "output_size", output_size)
        hidden_sizes = sizes_list("WindowedMLP", "hidden_sizes", hidden_sizes)
        window = settings.positive_int("WindowedMLP", "window", window)
        self.input_size, self.output_size, self.window = input_size, output_size, window
        sizes = [input_size * window, *hidden_sizes, output_size]
        self.mlp = MLP(sizes, activation, output_activation, seed=seed)

    def forward(self, xs, state=None, truncation=None, checkpoint_every=None):
        """xs (T, B, N) -> (ys (T, B, O), None). `state`, `truncation` and `checkpoint_every`
        are taken so this model drops into code written for the recurrent ones; see
        feed_forward_call for what each may be."""
        feed_forward_call(self, state, truncation, checkpoint_every)
        xs = as_sequence(xs, type(self).__name__, self.input_size)
        steps, batch = xs.shape[0], xs.shape[1]
        blank = Tensor(np.zeros((batch, self.input_size), dtype=xs.dtype), name="x[<1]")
        learns = any(p.requires_grad for p in self.parameters())   # else no graph to draw
        inputs, outputs = [], []
        for t in range(1, steps + 1):
            with time_step(t):
                inputs.append(xs[t - 1].annotate(role="input", name=f"x[{t}]"))
                seen = [inputs[s - 1] if s >= 1 else blank
                        for s in range(t - self.window + 1, t + 1)]
                features = seen[0] if self.window == 1 else _window(seen, learns)
                y = self.mlp(features, hidden=lambda h, t=t: h.annotate(role="hidden",
                                                                        name=f"h[{t}]"))
                outputs.append(y.annotate(role="output", name=f"y[{t}]"))
        return stack(outputs), None


def _window(inputs, learns):
    """The inputs side by side, [x[t-w+1], ..., x[t]], as a node of the graph even when they
    are constants (as an input sequence is) if the model `learns` (some weight requires grad,
    so a graph is recorded): as a leaf, the window would hide from the picture which x[t]
    feed y[t]. Nothing flows back into constants, so backward never enters it."""
    window = concatenate(inputs, axis=-1)
    if window.is_leaf and learns:
        window = precomputed("concatenate", inputs, window.data, record_constants=True,
                             axis=-1)
    return window


class TemporalConv(Module):
    """Causal convolutions over time: z[t] = act(sum_k W_k x[t-k] + b) per layer, then an MLP
    head (channels -> hidden_sizes -> output) at every step."""

    def __init__(self, input_size, channels, output_size, kernel_size=3, layers=1,
                 hidden_sizes=(), activation="tanh", output_activation=None, seed=None):
        super().__init__()
        owner = "TemporalConv"
        input_size = settings.positive_int(owner, "input_size", input_size)
        channels = settings.positive_int(owner, "channels", channels)
        output_size = settings.positive_int(owner, "output_size", output_size)
        kernel_size = settings.positive_int(owner, "kernel_size", kernel_size)
        layers = settings.positive_int(owner, "layers", layers)
        hidden_sizes = sizes_list(owner, "hidden_sizes", hidden_sizes)
        rng = as_rng(seed, owner)
        self.input_size, self.output_size = input_size, output_size
        self.kernel_size, self.depth = kernel_size, layers
        self.receptive_field = layers * (kernel_size - 1) + 1
        widths = [input_size] + [channels] * layers
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            setattr(self, f"conv{i}_W",
                    init_uniform(rng, (kernel_size, b, a), a * kernel_size, f"conv{i}_W"))
            setattr(self, f"conv{i}_b", init_uniform(rng, (b,), a * kernel_size, f"conv{i}_b"))
        self.act = get_activation(activation)
        self.head = MLP([channels, *hidden_sizes, output_size], activation, output_activation,
                        seed=rng)

    @property
    def filters(self):
        """The layers' (W, b) pairs in order, as registered (conv0_W, conv0_b, ...): a filter
        assigned anew (conv.conv0_W = Tensor(...)) is the one that runs. A tuple, so that
        assigning into it (which would change nothing) is an error."""
        return tuple((getattr(self, f"conv{i}_W"), getattr(self, f"conv{i}_b"))
                     for i in range(self.depth))

    def forward(self, xs, state=None, truncation=None, checkpoint_every=None):
        """xs (T, B, N) -> (ys (T, B, O), None); the other arguments as WindowedMLP's."""
        feed_forward_call(self, state, truncation, checkpoint_every)
        xs = as_sequence(xs, type(self).__name__, self.input_size)
        steps = xs.shape[0]
        columns = []
        for t in range(1, steps + 1):
            with time_step(t):
                columns.append(xs[t - 1].annotate(role="input", name=f"x[{t}]"))
        for W, b in self.filters:
            taps = [W[k] for k in range(self.kernel_size)]     # (C_out, C_in) each, sliced once
            next_columns = []
            for t in range(steps):
                with time_step(t + 1):
                    # zero padding before t=1: the taps that would read it are left out
                    total = linear(columns[t], taps[0], b)
                    for k in range(1, min(self.kernel_size, t + 1)):
                        total = total + linear(columns[t - k], taps[k])
                    next_columns.append(self.act(total))
            columns = next_columns
        outputs = []
        for t, column in enumerate(columns):
            with time_step(t + 1):
                outputs.append(self.head(column).annotate(role="output", name=f"y[{t + 1}]"))
        return stack(outputs), None
