"""Hand-written oracles for the recurrent-model tests: the lecture's forward passes and chain
rule for the Elman and Jordan networks, in plain numpy, one sample and one time step at a time,
with the Jacobians written out. The oracles never call the engine; a test compares the engine
with them. The last section holds what the tests share to read and set the engine's models
(copied gradients, random weights, final states).

The loss is the lecture's R = sum_t R[t] with R[t] = L(y[t], v[t]) the squared error averaged
over the batch and the outputs (what `nn.sequence_loss(ys, vs, "mse")` computes), so
dR[t]/dy[t, b] = 2 (y[t, b] - v[t, b]) / (B O).

Truncation is a predicate `cut(t, s)`: True when, for the loss term R[t], the state entering
step s is a constant (for Elman h[s-1], for Jordan s[s]). The walk back from R[t] stops at the
first such step. The predicates of the four policies are written here from their definitions
in DESIGN.md, independently of tinygrad_rnn/truncation.py.
"""
import numpy as np


def full_cut(t, s):
    """BPTT to the origin: nothing is constant."""
    return False


def elman_cut(t, s):
    """Elman (1990): the state entering every step but the first is a constant."""
    return s > 1


def chunked_cut(k):
    """Chunks of k steps: the state entering steps k+1, 2k+1, ... is a constant."""
    return lambda t, s: s > 1 and (s - 1) % k == 0


def window_cut(h):
    """BPTT(h): R[t] walks back through steps t, t-1, ..., t-h+1 and no further."""
    return lambda t, s: s > 1 and s <= t - h + 1


def tanh_prime_from_value(a):
    """d tanh(z)/dz written with a = tanh(z): 1 - a^2."""
    return 1.0 - a ** 2


# --- Elman: h[t] = tanh(W1 x[t] + Wm h[t-1] + b1), y[t] = g(W2 h[t] + b2) ---

def elman_forward(P, xs, h0, output_tanh=False):
    """hs (T+1, B, H) with hs[0] the initial state, ys (T, B, O); column-vector algebra per
    sample."""
    T, B, _ = xs.shape
    H, O = P["Wm"].shape[0], P["W2"].shape[0]
    hs = np.zeros((T + 1, B, H))
    ys = np.zeros((T, B, O))
    hs[0] = np.broadcast_to(h0, (B, H))
    for t in range(1, T + 1):
        for b in range(B):
            hs[t, b] = np.tanh(P["W1"] @ xs[t - 1, b] + P["Wm"] @ hs[t - 1, b] + P["b1"])
            z = P["W2"] @ hs[t, b] + P["b2"]
            ys[t - 1, b] = np.tanh(z) if output_tanh else z
    return hs, ys


def elman_bptt(P, xs, vs, h0, cut=full_cut, output_tanh=False):
    """Gradients of R = sum_t R[t] for W1, Wm, b1, W2, b2 and the initial state h0 (shape (H,),
    summed over the batch it is broadcast to). For each term R[t] and sample b:

        dR[t]/dh[t]   = (dy[t]/dh[t])^T dR[t]/dy[t],         dy[t]/dh[t] = g'(z[t]) W2
        dR[t]/dh[s-1] = (dh[s]/dh[s-1])^T dR[t]/dh[s],       dh[s]/dh[s-1] = diag(1 - h[s]^2) Wm
        and at each step s the direct terms of W1, Wm, b1 (the lecture's f'(.) o x[s], ...).
    """
    T, B, _ = xs.shape
    O = P["W2"].shape[0]
    hs, ys = elman_forward(P, xs, h0, output_tanh)
    grads = {name: np.zeros_like(P[name]) for name in ("W1", "Wm", "b1", "W2", "b2")}
    grads["h0"] = np.zeros(P["Wm"].shape[0])
    for t in range(1, T + 1):
        for b in range(B):
            dR_dy = 2.0 * (ys[t - 1, b] - vs[t - 1, b]) / (B * O)
            dy_dz = np.diag(tanh_prime_from_value(ys[t - 1, b])) if output_tanh else np.eye(O)
            dR_dz = dy_dz.T @ dR_dy
            grads["W2"] += np.outer(dR_dz, hs[t, b])
            grads["b2"] += dR_dz
            dR_dh = P["W2"].T @ dR_dz                          # dR[t]/dh[t]
            for s in range(t, 0, -1):
                D = np.diag(tanh_prime_from_value(hs[s, b]))   # dh[s]/da[s]
                dR_da = D.T @ dR_dh
                grads["W1"] += np.outer(dR_da, xs[s - 1, b])
                grads["Wm"] += np.outer(dR_da, hs[s - 1, b])
                grads["b1"] += dR_da
                if cut(t, s):
                    break                                       # h[s-1] is a constant for R[t]
                jacobian = D @ P["Wm"]                          # dh[s]/dh[s-1]
                dR_dh = jacobian.T @ dR_dh                      # now dR[t]/dh[s-1]
                if s == 1:
                    grads["h0"] += dR_dh
    return ys, grads


# --- Jordan: s[t] = mu s[t-1] + y[t-1], h[t] = tanh(W1 x[t] + Wm s[t] + b1),
#     y[t] = g(W2 h[t] + b2) ---

def jordan_forward(P, xs, s1, mu, output_tanh=False):
    """ss (T, B, O) with ss[0] = s[1], hs (T, B, H), ys (T, B, O)."""
    T, B, _ = xs.shape
    H, O = P["W1"].shape[0], P["W2"].shape[0]
    ss, hs, ys = np.zeros((T, B, O)), np.zeros((T, B, H)), np.zeros((T, B, O))
    for t in range(1, T + 1):
        for b in range(B):
            ss[t - 1, b] = np.broadcast_to(s1, (O,)) if t == 1 else mu * ss[t - 2, b] + ys[t - 2, b]
            hs[t - 1, b] = np.tanh(P["W1"] @ xs[t - 1, b] + P["Wm"] @ ss[t - 1, b] + P["b1"])
            z = P["W2"] @ hs[t - 1, b] + P["b2"]
            ys[t - 1, b] = np.tanh(z) if output_tanh else z
    return ss, hs, ys


def jordan_bptt(P, xs, vs, s1, mu, cut=full_cut, output_tanh=False):
    """Gradients of R for W1, Wm, b1, W2, b2 and the initial state s1 (shape (O,)).

    Walking back from R[t], step s receives a gradient on y[s] (from R[t] itself when s = t,
    else from s[s+1] = mu s[s] + y[s]) and one on s[s] (mu times the one on s[s+1]); the
    gradient on s[s] is then dR/ds[s] = mu dR/ds[s+1] + (dh[s]/ds[s])^T dR/dh[s], and
    it flows on only if s[s] is not cut.
    """
    T, B, _ = xs.shape
    O = P["W2"].shape[0]
    ss, hs, ys = jordan_forward(P, xs, s1, mu, output_tanh)
    grads = {name: np.zeros_like(P[name]) for name in ("W1", "Wm", "b1", "W2", "b2")}
    grads["s1"] = np.zeros(O)
    for t in range(1, T + 1):
        for b in range(B):
            dR_dy = 2.0 * (ys[t - 1, b] - vs[t - 1, b]) / (B * O)
            dR_ds_from_next = np.zeros(O)
            for s in range(t, 0, -1):
                dy_dz = np.diag(tanh_prime_from_value(ys[s - 1, b])) if output_tanh else np.eye(O)
                dR_dz = dy_dz.T @ dR_dy
                grads["W2"] += np.outer(dR_dz, hs[s - 1, b])
                grads["b2"] += dR_dz
                D = np.diag(tanh_prime_from_value(hs[s - 1, b]))
                dR_da = D.T @ (P["W2"].T @ dR_dz)
                grads["W1"] += np.outer(dR_da, xs[s - 1, b])
                grads["Wm"] += np.outer(dR_da, ss[s - 1, b])
                grads["b1"] += dR_da
                dR_ds = dR_ds_from_next + P["Wm"].T @ dR_da              # dh[s]/ds[s] = D Wm
                if cut(t, s):
                    break                                       # s[s] is a constant for R[t]
                if s == 1:
                    grads["s1"] += dR_ds
                    break
                dR_dy = dR_ds                                   # ds[s]/dy[s-1] = I
                dR_ds_from_next = mu * dR_ds                    # ds[s]/ds[s-1] = mu I
    return ys, grads


# --- reading and setting the engine's models (the only helpers here that touch a model) ---

def engine_grads(model, names=None):
    """{name: copy of .grad} for the named parameters, all of them (in named_parameters order)
    when names is None; zeros where the engine left None. Copies: the next backward of the same
    model accumulates into, or zero_grad clears, the .grad arrays themselves."""
    params = dict(model.named_parameters())
    names = params if names is None else names
    return {n: (np.zeros(params[n].shape) if params[n].grad is None else params[n].grad.copy())
            for n in names}


def randomize(model, seed, scale):
    """Every parameter redrawn from N(0, scale^2), in named_parameters order, from
    default_rng(seed). Weights this large make the recurrent paths carry a visible share of the
    gradient, and a learned initial state non-zero (so its gradient is not trivially zero)."""
    rng = np.random.default_rng(seed)
    for _, p in model.named_parameters():
        p.data[...] = rng.normal(scale=scale, size=p.shape)
    return model


def final_state_arrays(state):
    """The arrays of a state a model returned, flattened in layer order: one Tensor (Elman,
    Jordan) or a tuple of layer states (Stacked)."""
    if isinstance(state, tuple):
        return [a for s in state for a in final_state_arrays(s)]
    return [state.data]
