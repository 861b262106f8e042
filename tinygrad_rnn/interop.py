"""A bridge to PyTorch, for models that outgrow the tiny engine: the same model, the same
weights, the same numbers.

    import tinygrad_rnn.interop as interop        # needs PyTorch: pip install torch
    twin = interop.to_torch(model)                # torch.nn.Module: ys, state = twin(xs)
    back = interop.from_torch(twin)               # ours again, with the twin's weights

`to_torch(model)` maps nn.Elman to torch.nn.RNN, nn.LSTM to torch.nn.LSTM and nn.GRU to
torch.nn.GRU, each with a torch.nn.Linear head (W2, b2) and the output activation, wrapped in a
`TorchRecurrent` module whose forward mirrors ours: `ys, state = twin(xs, state=None,
truncation="full")` with xs (T, B, N) time first and the state in our shapes (h (B, H), or
(h, c) for an LSTM). nn.Stacked maps to `TorchStacked`, one TorchRecurrent per layer. Weights
map one to one (PyTorch's gate order and layout): W1 is weight_ih_l0, Wm weight_hh_l0; the
one bias b1 of Elman and LSTM is bias_ih_l0 with bias_hh_l0 = 0 (PyTorch adds the two), the
GRU's b1 and bm are bias_ih_l0 and bias_hh_l0; a learned initial state is a parameter h0 (c0).

Truncation in PyTorch is `detach()`: TorchRecurrent runs chunked(k) as chunks of k steps with
the state detached between them (elman: k = 1), which is exactly where our cut sits. window(h)
is not a set of cuts on one chain (it runs h chains) and is refused.

`from_torch(module)` builds ours from a TorchRecurrent / TorchStacked, or from a bare
torch.nn.RNN / LSTM / GRU (one layer, one direction) and an optional `head` Linear (without
one, y[t] = h[t]: an identity head W2 = I, b2 = 0). num_layers > 1, bidirectional=True and
batch_first=True are refused: a deep model here is nn.Stacked, whose layers each have a head
(build it layer by layer, or map it with to_torch and back), and our models read (T, B, N).

Only this module imports torch; nothing else in tinygrad_rnn does.
"""
import numpy as np

try:
    import torch
except ImportError as exc:          # an optional bridge: say what to install, not a traceback
    raise ImportError("tinygrad_rnn.interop needs PyTorch, which is not installed: "
                      "pip install torch (the CPU build is enough)") from exc

from . import settings
from .errors import DTypeError, SettingError, ShapeError
from .nn.gated import GRU, LSTM
from .nn.layers import ACTIVATIONS
from .nn.module import floating_dtype
from .nn.recurrent import Elman, Stacked
from .tensor import Tensor
from .truncation import Chunked, Full, resolve

TORCH_ACTIVATIONS = {None: None, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
                     "relu": torch.relu}
_ACTIVATION_NAMES = {id(fn): (None if name == "identity" else name)
                     for name, fn in ACTIVATIONS.items()}
_KINDS = {Elman: torch.nn.RNN, LSTM: torch.nn.LSTM, GRU: torch.nn.GRU}
_DTYPES = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


class TorchRecurrent(torch.nn.Module):
    """One recurrent layer and its head: `rnn` (torch.nn.RNN, LSTM or GRU), `head`
    (torch.nn.Linear), `output_activation` (None, "tanh", "sigmoid" or "relu") and, when
    learned, the initial state `h0` (and `c0`) of shape (H,)."""

    def __init__(self, rnn, head, output_activation=None, h0=None, c0=None):
        super().__init__()
        self.rnn, self.head, self.output_activation = rnn, head, output_activation
        self.h0 = None if h0 is None else torch.nn.Parameter(h0)
        self.c0 = None if c0 is None else torch.nn.Parameter(c0)

    @property
    def is_lstm(self):
        return isinstance(self.rnn, torch.nn.LSTM)

    def initial_state(self, batch):
        """The state entering step 1 in torch's shapes ((1, B, H), a pair for the LSTM), or
        None (zeros) when it is not learned."""
        if self.h0 is None:
            return None
        h = self.h0.expand(1, batch, -1)
        return (h, self.c0.expand(1, batch, -1)) if self.is_lstm else h

    def run(self, xs, state):
        """xs (k, B, N) and a torch-shaped state -> (ys (k, B, O), the state after)."""
        hs, state = self.rnn(xs, state)
        ys = self.head(hs)
        activation = TORCH_ACTIVATIONS[self.output_activation]
        return (ys if activation is None else activation(ys)), state

    def forward(self, xs, state=None, truncation="full"):
        """xs (T, B, N) -> (ys (T, B, O), state), as our model's forward; chunked(k) and
        elman detach the state every k steps."""
        return _chunked_forward([self], xs, None if state is None else (state,), truncation,
                                single=True)


class TorchStacked(torch.nn.Module):
    """nn.Stacked in PyTorch: `layers`, a ModuleList of TorchRecurrent, each layer's y[t] the
    next one's x[t]; the state is the tuple of the layers' states."""

    def __init__(self, layers):
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, xs, state=None, truncation="full"):
        return _chunked_forward(list(self.layers), xs, state, truncation, single=False)


def _chunked_forward(layers, xs, state, truncation, single):
    """Run the layers over xs in chunks of k steps (the policy's), detaching every layer's
    state between chunks: PyTorch's spelling of our cuts. State in and out in our shapes,
    both checked as our models check them (a ShapeError or DTypeError naming what is wrong,
    not an error from inside torch)."""
    owner = "TorchRecurrent" if single else "TorchStacked"
    _check_sequence(owner, layers[0], xs)
    if state is not None:
        if not (isinstance(state, tuple) and len(state) == len(layers)):
            raise ShapeError(f"{owner}: the state must be a tuple of {len(layers)} layer states "
                             f"(as an earlier call returned), got {_shown(state)}")
        for i, (layer, layer_state) in enumerate(zip(layers, state)):
            _check_state(owner if single else f"{owner} layer {i}", layer, layer_state,
                         xs.shape[1])
    policy = resolve(truncation)
    if isinstance(policy, Full):
        k = len(xs)
    elif isinstance(policy, Chunked):
        k = policy.k
    else:
        raise SettingError(f"TorchRecurrent: {policy!r} is not a set of cuts on one chain (it "
                           f"runs several); use 'full', 'elman' or chunked(k), which map to "
                           f"detach() every k steps")
    batch = xs.shape[1]
    states = ([layer.initial_state(batch) for layer in layers] if state is None else
              [_to_torch_state(layer, s) for layer, s in zip(layers, state)])
    outputs = []
    for start in range(0, len(xs), k):
        if start:
            states = [_detached(s) for s in states]
        chunk = xs[start:start + k]
        for i, layer in enumerate(layers):
            chunk, states[i] = layer.run(chunk, states[i])
        outputs.append(chunk)
    ours = tuple(_from_torch_state(s) for s in states)
    return torch.cat(outputs), (ours[0] if single else ours)


def _check_sequence(owner, layer, xs):
    """xs must be a torch tensor (T, B, N) of the twin's dtype with T, B >= 1."""
    dtype, size = layer.rnn.weight_ih_l0.dtype, layer.rnn.input_size
    if not isinstance(xs, torch.Tensor):
        raise DTypeError(f"{owner}: xs must be a torch.Tensor (the twin is a torch module); got "
                         f"{type(xs).__name__}: pass torch.as_tensor(xs, dtype={dtype})")
    if xs.dtype != dtype:
        raise DTypeError(f"{owner}: xs holds {xs.dtype}, the twin's weights {dtype}: pass "
                         f"xs.to({dtype}), or make the twin with to_torch(model, dtype=...)")
    if xs.ndim != 3 or xs.shape[0] == 0 or xs.shape[1] == 0 or xs.shape[2] != size:
        raise ShapeError(f"{owner}: expected xs of shape (T, B, {size}) (time, batch, features) "
                         f"with T, B >= 1, got {tuple(xs.shape)}")


def _check_state(owner, layer, state, batch):
    """A layer's state in our shapes and the twin's dtype: h (B, H), or the pair (h, c) for
    an LSTM."""
    expected, dtype = (batch, layer.rnn.hidden_size), layer.rnn.weight_ih_l0.dtype

    def fits(tensor):
        return (isinstance(tensor, torch.Tensor) and tuple(tensor.shape) == expected
                and tensor.dtype == dtype)
    if layer.is_lstm:
        ok = isinstance(state, tuple) and len(state) == 2 and all(map(fits, state))
        wanted = f"the pair (h, c), each of shape {expected}"
    else:
        ok = fits(state)
        wanted = f"h of shape {expected}"
    if not ok:
        raise ShapeError(f"{owner}: the state must be {wanted} in {dtype}, got {_shown(state)}")


def _shown(state):
    if isinstance(state, tuple):
        return "(" + ", ".join(_shown(s) for s in state) + ")"
    if isinstance(state, torch.Tensor):
        return f"a {state.dtype} tensor of shape {tuple(state.shape)}"
    return f"a {type(state).__name__}"


def _detached(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _to_torch_state(layer, state):
    if layer.is_lstm:
        return tuple(s.unsqueeze(0) for s in state)
    return state.unsqueeze(0)


def _from_torch_state(state):
    return tuple(s[0] for s in state) if isinstance(state, tuple) else state[0]


def _activation_name(fn, model, what):
    name = _ACTIVATION_NAMES.get(id(fn), "custom")
    if name == "custom":
        raise SettingError(f"to_torch: the {what} of {type(model).__name__} is a custom "
                           f"callable; only None, 'tanh', 'sigmoid' and 'relu' map to PyTorch")
    return name


def _tensor(array, dtype):
    return torch.tensor(np.asarray(array), dtype=dtype)


def to_torch(model, dtype=None):
    """The PyTorch twin of `model` (nn.Elman, nn.LSTM, nn.GRU or nn.Stacked of them), with
    the same weights, in `dtype` (np.float64 / np.float32; default: the model's).

    >>> twin = to_torch(nn.LSTM(3, 8, 2, seed=0))
    >>> ys, (h, c) = twin(torch.zeros(5, 4, 3, dtype=torch.float64))
    """
    if isinstance(model, Stacked):
        return TorchStacked([to_torch(layer, dtype) for layer in model.layers])
    kind = _KINDS.get(type(model))
    if kind is None:
        raise DTypeError(f"to_torch: expected nn.Elman, nn.LSTM, nn.GRU or an nn.Stacked of them, "
                         f"got {type(model).__name__} (it has no PyTorch module of the same "
                         f"computation)")
    numpy_dtype = model.W1.dtype if dtype is None else floating_dtype("to_torch", dtype)
    if numpy_dtype not in _DTYPES:
        raise DTypeError(f"to_torch: dtype must be float64 or float32, got {numpy_dtype}")
    torch_dtype = _DTYPES[numpy_dtype]
    options = {}
    if kind is torch.nn.RNN:
        nonlinearity = _activation_name(model.f, model, "activation")
        if nonlinearity not in ("tanh", "relu"):
            raise SettingError(f"to_torch: torch.nn.RNN takes nonlinearity 'tanh' or 'relu', "
                               f"this Elman uses {nonlinearity!r}")
        options["nonlinearity"] = nonlinearity
    output_activation = _activation_name(model.g, model, "output activation")
    rnn = kind(model.input_size, model.hidden_size, dtype=torch_dtype, **options)
    head = torch.nn.Linear(model.hidden_size, model.output_size, dtype=torch_dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(_tensor(model.W1.data, torch_dtype))
        rnn.weight_hh_l0.copy_(_tensor(model.Wm.data, torch_dtype))
        rnn.bias_ih_l0.copy_(_tensor(model.b1.data, torch_dtype))
        second = model.bm.data if isinstance(model, GRU) else np.zeros(model.b1.shape)
        rnn.bias_hh_l0.copy_(_tensor(second, torch_dtype))
        head.weight.copy_(_tensor(model.W2.data, torch_dtype))
        head.bias.copy_(_tensor(model.b2.data, torch_dtype))
    learned = {name: _tensor(getattr(model, name).data, torch_dtype)
               for name in ("h0", "c0") if name in model._parameters}
    return TorchRecurrent(rnn, head, output_activation, **learned)


def from_torch(module, head=None, output_activation=None):
    """Ours from PyTorch: a TorchRecurrent or TorchStacked (from to_torch), or a one-layer
    torch.nn.RNN / LSTM / GRU with an optional `head` torch.nn.Linear(H, O) and
    `output_activation` (None, "tanh", "sigmoid", "relu"). Float64 modules give float64
    models, float32 ones float32.

    >>> model = from_torch(torch.nn.GRU(3, 8), head=torch.nn.Linear(8, 2))
    """
    if isinstance(module, TorchStacked):
        return Stacked([from_torch(layer) for layer in module.layers])
    if isinstance(module, TorchRecurrent):
        model = from_torch(module.rnn, module.head, module.output_activation)
        for name in ("h0", "c0"):
            learned = getattr(module, name)
            if learned is not None:
                setattr(model, name, Tensor(_numpy(learned), requires_grad=True, name=name))
        return model
    kind = next((ours for ours, theirs in _KINDS.items() if type(module) is theirs), None)
    if kind is None:
        raise DTypeError(f"from_torch: expected torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU "
                         f"(one layer, one direction) or a module made by to_torch, got "
                         f"{type(module).__module__}.{type(module).__name__}")
    _check_mappable(module)
    H, N = module.hidden_size, module.input_size
    if head is not None and not (isinstance(head, torch.nn.Linear) and head.in_features == H):
        raise DTypeError(f"from_torch: head must be a torch.nn.Linear({H}, O) reading the "
                         f"{H} hidden units, got {head!r}")
    if head is not None and head.weight.is_meta:
        raise SettingError("from_torch: the head is on the meta device: it has shapes but no "
                           "weights to copy; materialize it first (head.to_empty(device='cpu') "
                           "and initialize it)")
    settings.one_of("from_torch", "output_activation", output_activation, TORCH_ACTIVATIONS)
    O = H if head is None else head.out_features
    options = ({"activation": module.nonlinearity} if kind is Elman else {})
    model = kind(N, H, O, output_activation=output_activation, seed=0, **options)
    b_ih, b_hh = (_numpy(module.bias_ih_l0), _numpy(module.bias_hh_l0)) if module.bias else \
        (np.zeros(model.b1.shape), np.zeros(model.b1.shape))
    weights = {"W1": _numpy(module.weight_ih_l0), "Wm": _numpy(module.weight_hh_l0),
               "W2": np.eye(H) if head is None else _numpy(head.weight),
               "b2": np.zeros(O) if head is None or head.bias is None else _numpy(head.bias)}
    if kind is GRU:
        weights.update(b1=b_ih, bm=b_hh)      # b_hn sits inside r * (...): they stay apart
    else:
        weights["b1"] = b_ih + b_hh           # added before any nonlinearity: one bias
    dtype = weights["W1"].dtype
    for name, value in weights.items():
        getattr(model, name).data = np.array(value, dtype=dtype)
    model.to(dtype)
    return model


def _check_mappable(module):
    name = type(module).__name__
    problems = []
    if module.num_layers != 1:
        problems.append(f"num_layers={module.num_layers} (expected 1: a deep model here is "
                        f"nn.Stacked, whose layers each have a head; map each layer, or build "
                        f"it with to_torch(nn.Stacked([...])) and back)")
    if module.bidirectional:
        problems.append("bidirectional=True (expected False: our recurrences run forward in "
                        "time only)")
    if module.batch_first:
        problems.append("batch_first=True (expected False: our models read inputs as (T, B, N), "
                        "so the batch-first tensor the module reads would give other numbers; "
                        "set module.batch_first = False, the weights are the same, and give "
                        "both (T, B, N))")
    if getattr(module, "proj_size", 0):
        problems.append(f"proj_size={module.proj_size} (expected 0)")
    if module.weight_ih_l0.dtype not in (torch.float64, torch.float32):
        problems.append(f"dtype {module.weight_ih_l0.dtype} (expected float64 or float32)")
    if module.weight_ih_l0.is_meta:
        problems.append("on the meta device (shapes but no weights to copy; materialize it "
                        "first)")
    if problems:
        raise SettingError(f"from_torch: this torch.nn.{name} cannot be mapped: "
                           + "; ".join(problems))


def _numpy(tensor):
    return tensor.detach().cpu().numpy().copy()
