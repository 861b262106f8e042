"""Hand-written numpy BPTT for an Elman network: the baseline our engine is measured against.

The model, for t = 1..T with h[0] = 0:

    h[t] = tanh(x[t] @ W1.T + h[t-1] @ Wm.T + b1)
    y[t] = h[t] @ W2.T + b2
    R    = sum_t sum((y[t] - v[t])**2)

Shapes: xs (T, B, N), vs (T, B, O), W1 (H, N), Wm (H, H), b1 (H,), W2 (O, H), b2 (O,).

Two versions of one training step (forward over all T steps, then exact gradients of R for all
five parameters, no optimizer update):

- `elman_bptt_numpy`: the textbook loop, every matmul inside the forward and backward loops.
- `elman_bptt_numpy_hoisted`: the input projection x[t] @ W1.T of all steps is one matmul before
  the loop, and dR/dW1 is one matmul after it. Only the recurrence itself stays sequential.

    >>> params, xs, vs = make_problem("small")
    >>> loss, grads = elman_bptt_numpy(params, xs, vs)
    >>> sorted(grads)
    ['W1', 'W2', 'Wm', 'b1', 'b2']
"""
from collections.abc import Mapping, Sequence

import numpy as np

# "tiny" is for tests and smoke runs; the other three are the benchmark sizes. O = N throughout.
SIZES = {
    "tiny": dict(B=2, T=4, N=3, H=5),
    "small": dict(B=1, T=50, N=16, H=32),
    "medium": dict(B=32, T=100, N=64, H=128),
    "large": dict(B=64, T=200, N=256, H=512),
}

PARAM_NAMES = ("W1", "Wm", "b1", "W2", "b2")


def problem_dims(size):
    """Dims dict {B, T, N, H, O} from a size name, a mapping, or a tuple (B, T, N, H[, O]).

    >>> problem_dims("small")
    {'B': 1, 'T': 50, 'N': 16, 'H': 32, 'O': 16}
    """
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; known sizes: {', '.join(SIZES)}")
        dims = dict(SIZES[size])
    elif isinstance(size, Mapping):
        dims = dict(size)
    elif isinstance(size, Sequence) and len(size) in (4, 5):
        dims = dict(zip(("B", "T", "N", "H", "O"), size))
    else:
        raise ValueError(f"size must be a name, a mapping or (B, T, N, H[, O]); got {size!r}")
    dims.setdefault("O", dims["N"])
    missing = {"B", "T", "N", "H"} - set(dims)
    if missing:
        raise ValueError(f"size {size!r} is missing dims {sorted(missing)}")
    return {key: int(dims[key]) for key in ("B", "T", "N", "H", "O")}


def make_problem(size, dtype=np.float64, seed=0):
    """Random parameters and data for one problem: (params, xs, vs).

    Weights and biases are uniform in [-1/sqrt(H), 1/sqrt(H)], torch's default for nn.RNN and for
    a Linear layer fed by H units, so the torch references start from a familiar place. xs and vs
    are standard normal. Values are drawn in float64 and then cast, so the float32 problem for a
    seed is the float64 problem rounded.

    params: {"W1": (H, N), "Wm": (H, H), "b1": (H,), "W2": (O, H), "b2": (O,)}
    xs: (T, B, N), vs: (T, B, O)

    >>> params, xs, vs = make_problem((2, 4, 3, 5), dtype=np.float32)
    >>> xs.shape, vs.shape, params["Wm"].shape, params["W1"].dtype
    ((4, 2, 3), (4, 2, 3), (5, 5), dtype('float32'))
    """
    dims = problem_dims(size)
    B, T, N, H, O = (dims[key] for key in ("B", "T", "N", "H", "O"))
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(H)
    shapes = {"W1": (H, N), "Wm": (H, H), "b1": (H,), "W2": (O, H), "b2": (O,)}
    params = {name: rng.uniform(-bound, bound, shape).astype(dtype)
              for name, shape in shapes.items()}
    xs = rng.standard_normal((T, B, N)).astype(dtype)
    vs = rng.standard_normal((T, B, O)).astype(dtype)
    return params, xs, vs


def elman_bptt_numpy(params, xs, vs):
    """Loss and gradients of one training step, written as the plain forward and backward loops.

    params: {"W1": (H, N), "Wm": (H, H), "b1": (H,), "W2": (O, H), "b2": (O,)}
    xs: (T, B, N), vs: (T, B, O)
    Returns (loss: float, grads: dict with the same keys and shapes as params).
    """
    W1, Wm, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    T, B, _ = xs.shape
    H = Wm.shape[0]

    # hs[t] is h[t] of the docstring, so hs[0] is the zero initial state.
    hs = np.zeros((T + 1, B, H), dtype=xs.dtype)
    errors = np.empty(vs.shape, dtype=xs.dtype)
    loss = 0.0
    for t in range(T):
        hs[t + 1] = np.tanh(xs[t] @ W1.T + hs[t] @ Wm.T + b1)
        y = hs[t + 1] @ W2.T + b2
        errors[t] = y - vs[t]
        loss += np.sum(errors[t] ** 2)

    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    # dR/dh[t] has two sources: y[t] directly, and h[t+1] through Wm; the second arrives from
    # the step after, so it is carried backwards in dh_from_next.
    dh_from_next = np.zeros((B, H), dtype=xs.dtype)
    for t in reversed(range(T)):
        dy = 2.0 * errors[t]                              # (B, O)
        grads["W2"] += dy.T @ hs[t + 1]
        grads["b2"] += dy.sum(axis=0)
        dh = dy @ W2 + dh_from_next                       # (B, H)
        dpre = dh * (1.0 - hs[t + 1] ** 2)                # through tanh:
                                                          # d tanh(a)/da = 1 - tanh(a)^2
        grads["W1"] += dpre.T @ xs[t]
        grads["Wm"] += dpre.T @ hs[t]
        grads["b1"] += dpre.sum(axis=0)
        dh_from_next = dpre @ Wm
    return float(loss), grads


def elman_bptt_numpy_hoisted(params, xs, vs, product=np.matmul):
    """Same result as `elman_bptt_numpy`, with the input projection and dR/dW1 out of the loops.

    x[t] @ W1.T does not depend on h, so all T steps are one (T*B, N) @ (N, H) matmul; likewise
    dR/dW1 = sum_t dpre[t].T @ x[t] is one (H, T*B) @ (T*B, N) matmul once every dpre[t] is
    known. Fewer, larger matmuls use BLAS better; the price is two extra (T, B, H) arrays.

    `product(a, b)` is the per-step matrix product: np.matmul, which is what `a @ b` runs (the
    reference the issue's targets are stated against), or np.ndarray.dot, the same gemm
    without the gufunc machinery, about 1 us cheaper a call on B=1 matrices (the engine uses it).

    params: {"W1": (H, N), "Wm": (H, H), "b1": (H,), "W2": (O, H), "b2": (O,)}
    xs: (T, B, N), vs: (T, B, O)
    Returns (loss: float, grads: dict with the same keys and shapes as params).
    """
    W1, Wm, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    T, B, N = xs.shape
    H = Wm.shape[0]

    input_projection = (xs.reshape(T * B, N) @ W1.T).reshape(T, B, H)
    input_projection += b1  # in place: a second (T, B, H) temporary costs memory and page faults
    hs = np.zeros((T + 1, B, H), dtype=xs.dtype)
    errors = np.empty(vs.shape, dtype=xs.dtype)
    loss = 0.0
    for t in range(T):
        hs[t + 1] = np.tanh(input_projection[t] + product(hs[t], Wm.T))
        y = product(hs[t + 1], W2.T) + b2
        errors[t] = y - vs[t]
        loss += np.sum(errors[t] ** 2)

    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    dpres = np.empty((T, B, H), dtype=xs.dtype)  # kept for the single dR/dW1 matmul below
    dh_from_next = np.zeros((B, H), dtype=xs.dtype)
    for t in reversed(range(T)):
        dy = 2.0 * errors[t]
        grads["W2"] += product(dy.T, hs[t + 1])
        grads["b2"] += dy.sum(axis=0)
        dh = product(dy, W2) + dh_from_next
        dpres[t] = dh * (1.0 - hs[t + 1] ** 2)
        grads["Wm"] += product(dpres[t].T, hs[t])
        grads["b1"] += dpres[t].sum(axis=0)
        dh_from_next = product(dpres[t], Wm)
    grads["W1"] = dpres.reshape(T * B, H).T @ xs.reshape(T * B, N)
    return float(loss), grads


def output_layer_of_all_steps(hs, W2, b2, vs):
    """The output layer and the squared-error loss of every step at once, from the states
    hs (T + 1, B, H) with hs[0] the initial one: (H (T*B, H), loss, dY = dR/dY (T*B, O),
    dH = dY W2 (T, B, H), the loss's share of dR/dh)."""
    T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    H_all = hs[1:].reshape(T * B, H)
    errors = H_all @ W2.T
    errors += b2
    errors -= vs.reshape(T * B, W2.shape[0])
    dY = 2.0 * errors
    return H_all, float(np.vdot(errors, errors)), dY, (dY @ W2).reshape(T, B, H)


def elman_bptt_numpy_best(params, xs, vs):
    """Same result as `elman_bptt_numpy`, with everything but the recurrence done for all steps
    at once: the best numpy a person writes by hand.

    1. the input projection P = X W1^T + b1, one (T*B, N) matmul;
    2. a forward loop holding only the recurrence, h[t] = tanh(P[t] + h[t-1] Wm^T);
    3. the output layer and the loss for all steps, Y = H W2^T + b2, one (T*B, H) matmul;
    4. a backward loop holding only the recurrence, with G = 1 - h^2 computed once:
       d[t] = (dH[t] + d[t+1] Wm) * G[t], where dH = dY W2 is the loss's share of dR/dh;
    5. every weight gradient one matmul over all steps: dW1 = D^T X, dWm = D^T H_prev,
       dW2 = dY^T H, and the biases one sum each.

    params: {"W1": (H, N), "Wm": (H, H), "b1": (H,), "W2": (O, H), "b2": (O,)}
    xs: (T, B, N), vs: (T, B, O)
    Returns (loss: float, grads: dict with the same keys and shapes as params).
    """
    W1, Wm, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    T, B, N = xs.shape
    H = Wm.shape[0]
    X = xs.reshape(T * B, N)

    P = (X @ W1.T).reshape(T, B, H)
    P += b1
    hs = np.zeros((T + 1, B, H), dtype=xs.dtype)       # hs[0] = h[0] = 0
    WmT = Wm.T
    for t in range(T):
        np.tanh(P[t] + hs[t] @ WmT, out=hs[t + 1])
    H_all, loss, dY, dH = output_layer_of_all_steps(hs, W2, b2, vs)
    G = 1.0 - hs[1:] ** 2
    D = np.empty((T, B, H), dtype=xs.dtype)
    d = np.zeros((B, H), dtype=xs.dtype)
    for t in reversed(range(T)):
        d = (dH[t] + d @ Wm) * G[t]
        D[t] = d
    D_all = D.reshape(T * B, H)
    grads = {"W1": D_all.T @ X, "Wm": D_all.T @ hs[:-1].reshape(T * B, H), "b1": D_all.sum(axis=0),
             "W2": dY.T @ H_all, "b2": dY.sum(axis=0)}
    return loss, grads
