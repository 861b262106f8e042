"""PyTorch eager references for the Elman training step, and a per-op overhead micro benchmark.

Same model, shapes and return values as reference_numpy (see its docstring): every function takes
numpy params, xs, vs and returns (loss: float, grads: {name: numpy array}), so results compare
directly. Two training steps:

- `elman_bptt_torch_loop`: a Python loop over steps with torch ops, then `loss.backward()`.
- `elman_bptt_torch_rnn`: torch.nn.RNN (tanh, batch_first=False) plus an nn.Linear head, set to
  the same weights. nn.RNN has two biases (input-hidden and hidden-hidden) where the model has
  one b1: bias_ih holds b1 and bias_hh is zero; their gradients are equal, and that is dR/db1.

The per-op chain, `make_add_chain_torch` / `make_add_chain_numpy`, runs y = y + c on 4-element
float64 arrays so that almost all of the time is framework overhead rather than arithmetic.

Importing this module never fails: without torch, TORCH_AVAILABLE is False and only the numpy
chain works.
"""
import numpy as np

try:
    import torch
except ImportError:  # the engine's benchmarks must still run where torch is not installed
    torch = None

TORCH_AVAILABLE = torch is not None

PARAM_NAMES = ("W1", "Wm", "b1", "W2", "b2")


def _require_torch():
    if not TORCH_AVAILABLE:
        raise RuntimeError("this reference needs PyTorch, which is not installed "
                           "(TORCH_AVAILABLE is False)")


def _leaf(array):
    """A fresh float leaf that requires grad and shares memory with the numpy array."""
    return torch.from_numpy(array).requires_grad_(True)


def elman_bptt_torch_loop(params, xs, vs):
    """Loss and gradients of one training step, as a torch eager loop over the T steps.

    params: {"W1": (H, N), "Wm": (H, H), "b1": (H,), "W2": (O, H), "b2": (O,)} numpy arrays
    xs: (T, B, N), vs: (T, B, O) numpy arrays of the same dtype
    Returns (loss: float, grads: {name: numpy array shaped like params[name]}).
    """
    _require_torch()
    leaves = {name: _leaf(params[name]) for name in PARAM_NAMES}
    W1, Wm, b1, W2, b2 = (leaves[name] for name in PARAM_NAMES)
    xs_t, vs_t = torch.from_numpy(xs), torch.from_numpy(vs)
    T, B, _ = xs.shape

    h = torch.zeros(B, Wm.shape[0], dtype=W1.dtype)
    loss = torch.zeros((), dtype=W1.dtype)
    for t in range(T):
        h = torch.tanh(xs_t[t] @ W1.T + h @ Wm.T + b1)
        y = h @ W2.T + b2
        loss = loss + ((y - vs_t[t]) ** 2).sum()
    loss.backward()
    return loss.item(), {name: leaf.grad.numpy() for name, leaf in leaves.items()}


def build_torch_rnn(params):
    """(rnn, head): torch.nn.RNN and nn.Linear holding copies of params, in params' dtype.

    Build once and reuse with `torch_rnn_step`, so a timing measures the step and not module
    construction (which also draws random initial weights that are then overwritten).
    """
    _require_torch()
    W1, Wm, b1, W2, b2 = (torch.from_numpy(params[name]) for name in PARAM_NAMES)
    H, N = W1.shape
    O = W2.shape[0]
    rnn = torch.nn.RNN(N, H, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                       dtype=W1.dtype)
    head = torch.nn.Linear(H, O, bias=True, dtype=W1.dtype)
    copy_weights(rnn, head, (W1, Wm, b1, W2, b2))
    return rnn, head


def copy_weights(recurrent, head, weights):
    """Put the references' (W1, Wm, b1, W2, b2) into a torch recurrent layer (torch.nn.RNN or
    LSTM, one layer) and its Linear head; bias_hh is 0, so bias_ih is b1."""
    W1, Wm, b1, W2, b2 = weights
    with torch.no_grad():
        recurrent.weight_ih_l0.copy_(W1)
        recurrent.weight_hh_l0.copy_(Wm)
        recurrent.bias_ih_l0.copy_(b1)
        recurrent.bias_hh_l0.zero_()
        head.weight.copy_(W2)
        head.bias.copy_(b2)


def torch_rnn_step(rnn, head, xs, vs):
    """One training step through modules from `build_torch_rnn`; clears their gradients first.

    xs: (T, B, N), vs: (T, B, O) numpy arrays. Returns (loss, grads) like the other references,
    with grads copied out so the next step cannot overwrite them.
    """
    _require_torch()
    for parameter in (*rnn.parameters(), *head.parameters()):
        parameter.grad = None
    hs, _ = rnn(torch.from_numpy(xs))          # (T, B, H); h[0] defaults to zeros
    ys = head(hs)                              # (T, B, O)
    loss = ((ys - torch.from_numpy(vs)) ** 2).sum()
    loss.backward()
    grads = {
        "W1": rnn.weight_ih_l0.grad,
        "Wm": rnn.weight_hh_l0.grad,
        "b1": rnn.bias_ih_l0.grad,
        "W2": head.weight.grad,
        "b2": head.bias.grad,
    }
    return loss.item(), {name: grad.numpy().copy() for name, grad in grads.items()}


def elman_bptt_torch_rnn(params, xs, vs):
    """Loss and gradients of one training step with torch.nn.RNN + nn.Linear (builds the modules).

    Same arguments and return value as `elman_bptt_torch_loop`.
    """
    rnn, head = build_torch_rnn(params)
    return torch_rnn_step(rnn, head, xs, vs)


def make_add_chain_torch(n_ops=1000):
    """A callable that runs y = x + c + c + ... (n_ops additions) and backpropagates to x and c.

    x and c are 4-element float64 leaves with requires_grad. c is shared by every op, like a
    recurrent weight used at every step, so backward also accumulates n_ops gradients into c.
    Each call starts from cleared gradients; afterwards c.grad is n_ops everywhere.
    Returns (run, x, c); time run() and divide by n_ops for the cost of one op forward+backward.
    """
    _require_torch()
    x = torch.ones(4, dtype=torch.float64, requires_grad=True)
    c = torch.full((4,), 0.5, dtype=torch.float64, requires_grad=True)
    seed_gradient = torch.ones(4, dtype=torch.float64)

    def run():
        x.grad = None
        c.grad = None
        y = x
        for _ in range(n_ops):
            y = y + c
        y.backward(seed_gradient)

    return run, x, c


def make_add_chain_numpy(n_ops=1000):
    """A callable that runs y = x + c + c + ... (n_ops additions) in plain numpy: no graph, no
    backward.

    The floor for the per-op cost: one numpy ufunc call on a 4-element float64 array.
    Returns (run, x, c); run() returns y, which equals x + n_ops * c.
    """
    x = np.ones(4)
    c = np.full(4, 0.5)

    def run():
        y = x
        for _ in range(n_ops):
            y = y + c
        return y

    return run, x, c
