"""Feed-forward layers: Linear and MLP, and the activations they take by name."""
from .. import settings
from ..creation import default_generator
from ..errors import SettingError
from ..functional import linear
from ..tensor import Tensor
from .module import Module, init_uniform


def identity(x):
    """The activation that does nothing (a named function, not a lambda: models pickle)."""
    return x


ACTIVATIONS = {
    "tanh": Tensor.tanh,
    "sigmoid": Tensor.sigmoid,
    "relu": Tensor.relu,
    "identity": identity,
    None: identity,
}


def get_activation(spec):
    """An activation from its name ("tanh", "sigmoid", "relu", "identity"/None) or a callable."""
    if callable(spec) and not isinstance(spec, str):
        return spec
    if spec not in ACTIVATIONS:
        raise SettingError(f"activation must be one of {sorted(k for k in ACTIVATIONS if k)}, None "
                         f"or a callable, got {spec!r}")
    return ACTIVATIONS[spec]


def as_rng(seed, owner="model"):
    """A numpy Generator from a seed (an int >= 0), a Generator, or None: the module-level
    generator that tg.manual_seed seeds (creation.py); anything else is a SettingError naming
    `owner`."""
    return default_generator() if seed is None else settings.rng(owner, seed)


def sizes_list(owner, argument, sizes, minimum_length=0):
    """A list or tuple of positive ints (layer widths) as a list of ints."""
    if not isinstance(sizes, (list, tuple)):
        raise SettingError(f"{owner}: {argument} must be a list of positive integers, got "
                           f"{sizes!r} ({type(sizes).__name__})")
    if len(sizes) < minimum_length:
        raise SettingError(f"{owner}: {argument} needs at least {minimum_length} sizes, got "
                           f"{list(sizes)!r}")
    return [settings.positive_int(owner, f"{argument}[{i}]", size) for i, size in enumerate(sizes)]


class Linear(Module):
    """y = x @ W.T + b, with W of shape (out_features, in_features) as in PyTorch."""

    def __init__(self, in_features, out_features, bias=True, seed=None):
        super().__init__()
        in_features = settings.positive_int("Linear", "in_features", in_features)
        out_features = settings.positive_int("Linear", "out_features", out_features)
        bias = settings.flag("Linear", "bias", bias)
        rng = as_rng(seed, "Linear")
        self.W = init_uniform(rng, (out_features, in_features), in_features, "W")
        self.b = init_uniform(rng, (out_features,), in_features, "b") if bias else None

    def forward(self, x):
        return linear(x, self.W, self.b)


class MLP(Module):
    """A feed-forward net: sizes=[N, H1, ..., O] gives Linear layers with `activation` between
    them and `output_activation` (default none) after the last."""

    def __init__(self, sizes, activation="tanh", output_activation=None, seed=None):
        super().__init__()
        sizes = sizes_list("MLP", "sizes (at least [input, output])", sizes, minimum_length=2)
        rng = as_rng(seed, "MLP")
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            setattr(self, f"layer{i}", Linear(a, b, seed=rng))
        self._depth = len(sizes) - 1
        self._hidden = get_activation(activation)
        self._output = get_activation(output_activation)

    @property
    def layers(self):
        """The Linear layers in order, as registered (layer0, layer1, ...): a layer assigned
        anew (mlp.layer0 = Linear(...)) is the one that runs. A tuple, so that assigning into
        it (which would change nothing) is an error."""
        return tuple(getattr(self, f"layer{i}") for i in range(self._depth))

    def forward(self, x, hidden=None):
        """`hidden`, if given, is called on the last hidden layer's output (the sequence
        baselines name it h[t], the lecture's middle row)."""
        if hidden is not None:
            settings.function("MLP", "hidden", hidden)
        for layer in self.layers[:-1]:
            x = self._hidden(layer(x))
        if hidden is not None and len(self.layers) > 1:
            hidden(x)
        return self._output(self.layers[-1](x))
