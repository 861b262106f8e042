"""References for one LSTM training step: hand-written numpy BPTT, a PyTorch eager loop and
torch.nn.LSTM, on the sizes of reference_numpy.SIZES.

The model, for t = 1..T with h[0] = c[0] = 0, in PyTorch's gate order i, f, g, o:

    a    = x[t] @ W1.T + h[t-1] @ Wm.T + b1                 (B, 4H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c[t] = f * c[t-1] + i * g,   h[t] = o * tanh(c[t]),   y[t] = h[t] @ W2.T + b2
    R    = sum_t sum((y[t] - v[t])**2)

Shapes: xs (T, B, N), vs (T, B, O), W1 (4H, N), Wm (4H, H), b1 (4H,), W2 (O, H), b2 (O,).
Every function takes numpy params, xs, vs and returns (loss: float, grads: {name: array}).
Importing this module never fails: without torch, TORCH_AVAILABLE is False and only the numpy
reference works.
"""
import numpy as np
from reference_numpy import output_layer_of_all_steps, problem_dims
from reference_torch import copy_weights

try:
    import torch
except ImportError:  # the numpy reference must still run where torch is not installed
    torch = None

TORCH_AVAILABLE = torch is not None
PARAM_NAMES = ("W1", "Wm", "b1", "W2", "b2")


def make_lstm_problem(size, dtype=np.float64, seed=0):
    """Random LSTM parameters (uniform in [-1/sqrt(H), 1/sqrt(H)], torch's default) and
    standard normal data: (params, xs, vs)."""
    dims = problem_dims(size)
    B, T, N, H, O = (dims[key] for key in ("B", "T", "N", "H", "O"))
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(H)
    shapes = {"W1": (4 * H, N), "Wm": (4 * H, H), "b1": (4 * H,), "W2": (O, H), "b2": (O,)}
    params = {name: rng.uniform(-bound, bound, shape).astype(dtype)
              for name, shape in shapes.items()}
    xs = rng.standard_normal((T, B, N)).astype(dtype)
    vs = rng.standard_normal((T, B, O)).astype(dtype)
    return params, xs, vs


def _sigmoid(a):
    return 0.5 * (np.tanh(0.5 * a) + 1)


def lstm_bptt_numpy(params, xs, vs):
    """Loss and gradients of one training step, hand-written: the input projection of all
    steps and dR/dW1 are one matmul each; the recurrence runs step by step.

    Backward through one step, with dh and dc the gradients arriving at h[t] and c[t]:
        dc += dh * o * (1 - tanh(c)^2);   do = dh * tanh(c)
        di = dc * g;  df = dc * c[t-1];  dg = dc * i;  dc[t-1] = dc * f
        da = (di i(1-i), df f(1-f), dg (1-g^2), do o(1-o));  dh[t-1] = da @ Wm
    """
    W1, Wm, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    T, B, N = xs.shape
    H = Wm.shape[1]
    projection = (xs.reshape(T * B, N) @ W1.T).reshape(T, B, 4 * H)
    projection += b1
    hs = np.zeros((T + 1, B, H), dtype=xs.dtype)
    cs = np.zeros((T + 1, B, H), dtype=xs.dtype)
    gates = np.empty((T, B, 4 * H), dtype=xs.dtype)     # i, f, g, o after their activations
    tanh_cs = np.empty((T, B, H), dtype=xs.dtype)
    errors = np.empty(vs.shape, dtype=xs.dtype)
    loss = 0.0
    for t in range(T):
        a = projection[t] + hs[t] @ Wm.T
        gates[t] = _sigmoid(a)
        gates[t, :, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        i, f, g, o = (gates[t, :, k * H:(k + 1) * H] for k in range(4))
        cs[t + 1] = f * cs[t] + i * g
        tanh_cs[t] = np.tanh(cs[t + 1])
        hs[t + 1] = o * tanh_cs[t]
        errors[t] = hs[t + 1] @ W2.T + b2 - vs[t]
        loss += np.sum(errors[t] ** 2)

    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    das = np.empty((T, B, 4 * H), dtype=xs.dtype)
    dh_from_next = np.zeros((B, H), dtype=xs.dtype)
    dc = np.zeros((B, H), dtype=xs.dtype)
    for t in reversed(range(T)):
        dy = 2.0 * errors[t]
        grads["W2"] += dy.T @ hs[t + 1]
        grads["b2"] += dy.sum(axis=0)
        dh = dy @ W2 + dh_from_next
        i, f, g, o = (gates[t, :, k * H:(k + 1) * H] for k in range(4))
        dc = dc + dh * o * (1 - tanh_cs[t] ** 2)
        da = das[t]
        da[:, :H] = dc * g * i * (1 - i)
        da[:, H:2 * H] = dc * cs[t] * f * (1 - f)
        da[:, 2 * H:3 * H] = dc * i * (1 - g ** 2)
        da[:, 3 * H:] = dh * tanh_cs[t] * o * (1 - o)
        dc = dc * f
        grads["Wm"] += da.T @ hs[t]
        grads["b1"] += da.sum(axis=0)
        dh_from_next = da @ Wm
    grads["W1"] = das.reshape(T * B, 4 * H).T @ xs.reshape(T * B, N)
    return float(loss), grads


def lstm_bptt_numpy_best(params, xs, vs):
    """Same result as `lstm_bptt_numpy`, with everything but the recurrence done for all steps
    at once, as `reference_numpy.elman_bptt_numpy_best` does for Elman:

    1. the input projection P = X W1^T + b1, one (T*B, N) matmul;
    2. a forward loop holding only the recurrence: a = P[t] + h[t-1] Wm^T, the four gates from
       one tanh over a (sigmoid(a) = (tanh(a/2) + 1) / 2), c[t] and h[t];
    3. the output layer and the loss for all steps, Y = H W2^T + b2, one (T*B, H) matmul;
    4. a backward loop holding only the recurrence, with dH = dY W2 (the loss's share of dR/dh)
       computed once: dc, then the gates' gradients before their activations side by side in
       dA[t] (one multiply by the activations' slopes), and dh[t-1] = dA[t] Wm;
    5. every weight gradient one matmul over all steps: dW1 = dA^T X, dWm = dA^T H_prev,
       dW2 = dY^T H, and the biases one sum each.
    """
    W1, Wm, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    T, B, N = xs.shape
    H = Wm.shape[1]
    X = xs.reshape(T * B, N)
    # sigmoid(a) = 0.5 tanh(0.5 a) + 0.5 for i, f, o; tanh(a) for g: one tanh of a * half
    half = np.full(4 * H, 0.5, dtype=xs.dtype)
    half[2 * H:3 * H] = 1.0
    shift = np.where(half == 0.5, 0.5, 0.0).astype(xs.dtype)
    # the activations' slopes in terms of their tanh u: sigmoid' = 0.25 (1 - u^2), tanh' = 1 - u^2
    quarter = half * half

    A = (X @ W1.T).reshape(T, B, 4 * H)       # the pre-activations, then their tanh u
    A += b1
    gates = np.empty((T, B, 4 * H), dtype=xs.dtype)
    hs = np.zeros((T + 1, B, H), dtype=xs.dtype)
    cs = np.zeros((T + 1, B, H), dtype=xs.dtype)
    tanh_cs = np.empty((T, B, H), dtype=xs.dtype)
    WmT = Wm.T
    for t in range(T):
        u = A[t]
        u += hs[t] @ WmT
        u *= half
        np.tanh(u, out=u)
        np.multiply(u, half, out=gates[t])
        gates[t] += shift
        i, f, g, o = (gates[t, :, k * H:(k + 1) * H] for k in range(4))
        np.multiply(f, cs[t], out=cs[t + 1])
        cs[t + 1] += i * g
        np.tanh(cs[t + 1], out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])
    H_all, loss, dY, dH = output_layer_of_all_steps(hs, W2, b2, vs)
    slopes = A * A                                     # the activations' slopes, all steps
    np.subtract(1.0, slopes, out=slopes)
    slopes *= quarter
    cell_slopes = 1.0 - tanh_cs * tanh_cs              # tanh'(c[t])
    dA = np.empty((T, B, 4 * H), dtype=xs.dtype)
    dh = np.zeros((B, H), dtype=xs.dtype)
    dc = np.zeros((B, H), dtype=xs.dtype)
    for t in reversed(range(T)):
        dh += dH[t]
        i, f, g, o = (gates[t, :, k * H:(k + 1) * H] for k in range(4))
        dc += dh * o * cell_slopes[t]
        da = dA[t]
        np.multiply(dc, g, out=da[:, :H])
        np.multiply(dc, cs[t], out=da[:, H:2 * H])
        np.multiply(dc, i, out=da[:, 2 * H:3 * H])
        np.multiply(dh, tanh_cs[t], out=da[:, 3 * H:])
        da *= slopes[t]
        dc *= f
        dh = da @ Wm
    dA_all = dA.reshape(T * B, 4 * H)
    grads = {"W1": dA_all.T @ X, "Wm": dA_all.T @ hs[:-1].reshape(T * B, H),
             "b1": dA_all.sum(axis=0), "W2": dY.T @ H_all, "b2": dY.sum(axis=0)}
    return loss, grads


def _require_torch():
    if not TORCH_AVAILABLE:
        raise RuntimeError("this reference needs PyTorch, which is not installed "
                           "(TORCH_AVAILABLE is False)")


def lstm_bptt_torch_loop(params, xs, vs):
    """Loss and gradients as a PyTorch eager loop over the T steps (torch ops, autograd), the
    way one writes an LSTM cell by hand in PyTorch: the gates from one sum, chunk(4)."""
    _require_torch()
    leaves = {name: torch.from_numpy(params[name]).requires_grad_(True) for name in PARAM_NAMES}
    W1, Wm, b1, W2, b2 = (leaves[name] for name in PARAM_NAMES)
    xs_t, vs_t = torch.from_numpy(xs), torch.from_numpy(vs)
    T, B, _ = xs.shape
    H = Wm.shape[1]
    h = torch.zeros(B, H, dtype=W1.dtype)
    c = torch.zeros(B, H, dtype=W1.dtype)
    loss = torch.zeros((), dtype=W1.dtype)
    for t in range(T):
        # The input projection per step, as the Elman loop does: hoisted as one (T, B, 4H)
        # product, each step's slice would cost a (T, B, 4H) scatter of zeros in backward.
        i, f, g, o = (xs_t[t] @ W1.T + b1 + h @ Wm.T).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        loss = loss + ((h @ W2.T + b2 - vs_t[t]) ** 2).sum()
    loss.backward()
    return loss.item(), {name: leaf.grad.numpy() for name, leaf in leaves.items()}


def build_torch_lstm(params):
    """(lstm, head): torch.nn.LSTM and nn.Linear holding copies of params (bias_hh = 0, so
    bias_ih is b1), in params' dtype. Build once; time `torch_lstm_step`."""
    _require_torch()
    W1, Wm, b1, W2, b2 = (torch.from_numpy(params[name]) for name in PARAM_NAMES)
    H, N, O = Wm.shape[1], W1.shape[1], W2.shape[0]
    lstm = torch.nn.LSTM(N, H, dtype=W1.dtype)
    head = torch.nn.Linear(H, O, dtype=W1.dtype)
    copy_weights(lstm, head, (W1, Wm, b1, W2, b2))
    return lstm, head


def torch_lstm_step(lstm, head, xs, vs):
    """One training step through modules from `build_torch_lstm` (gradients cleared first)."""
    _require_torch()
    for parameter in (*lstm.parameters(), *head.parameters()):
        parameter.grad = None
    hs, _ = lstm(torch.from_numpy(xs))
    loss = ((head(hs) - torch.from_numpy(vs)) ** 2).sum()
    loss.backward()
    grads = {"W1": lstm.weight_ih_l0.grad, "Wm": lstm.weight_hh_l0.grad,
             "b1": lstm.bias_ih_l0.grad, "W2": head.weight.grad, "b2": head.bias.grad}
    return loss.item(), {name: grad.numpy().copy() for name, grad in grads.items()}
