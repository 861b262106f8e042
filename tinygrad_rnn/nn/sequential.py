"""Sequential: modules applied one after the other, and the activations as modules, as in
PyTorch.

    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    y = model(x)                                   # Linear, then tanh, then Linear
    tagger = nn.Sequential(nn.Embedding(43, 16), nn.LSTM(16, 32, 3))
    ys, state = tagger(tokens, truncation="chunked:8")   # keywords go to the last module

The submodules are registered under "0", "1", ... (state_dict names "0.W", "1.W1", ...).
"""
import inspect

from ..errors import DTypeError, SettingError, TensorIndexError
from ..tensor import constant
from .module import Module


class Sequential(Module):
    """Modules applied in order: Sequential(a, b, c)(x) = c(b(a(x))); keyword arguments are
    passed to the last module (a recurrent model's truncation or state)."""

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise DTypeError(f"Sequential: every part must be a Module (nn.Linear, nn.Tanh, "
                                 f"nn.LSTM, ...); part {i} is a {type(module).__name__}")
            setattr(self, str(i), module)

    def forward(self, x, **kwargs):
        modules = list(self._modules.values())
        if kwargs:
            _check_keywords(modules, kwargs)
        for module in modules[:-1]:
            x = module(x)
        return modules[-1](x, **kwargs) if modules else x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        try:
            return modules[index]
        except (IndexError, TypeError):
            raise TensorIndexError(f"Sequential: index {index!r} for {len(modules)} modules"
                                   ) from None


def _check_keywords(modules, kwargs):
    """Keywords go to the last module: one that does not take them is named here, not by a
    TypeError from inside its forward()."""
    if not modules:
        raise SettingError(f"Sequential: keyword arguments {sorted(kwargs)} go to the last "
                           f"module, and this Sequential has none")
    last = modules[-1]
    try:
        parameters = list(inspect.signature(last.forward).parameters.values())
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    taken = [p.name for p in parameters[1:]                 # [0] is the input the chain feeds
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(kwargs) - set(taken))
    if unknown:
        raise SettingError(f"Sequential: keyword arguments go to the last module, a "
                           f"{type(last).__name__}, which takes no {', '.join(map(repr, unknown))}"
                           f" (it takes {taken or 'no keywords'})")


class Tanh(Module):
    """tanh as a module (an array or a number is read as a constant Tensor, as by Linear)."""

    def forward(self, x):
        return constant(x).tanh()


class Sigmoid(Module):
    """The logistic sigmoid 1 / (1 + e^-x) as a module."""

    def forward(self, x):
        return constant(x).sigmoid()


class ReLU(Module):
    """max(x, 0) as a module."""

    def forward(self, x):
        return constant(x).relu()
