"""The gate arithmetic of the LSTM and GRU cells (nn/gated.py), in numpy: the forwards and
vector-Jacobian products of five rows of the ops table (primitives.py).

Gates live side by side in one array, blocks of H along the last axis, in PyTorch's order:
an LSTM's a = (a_i, a_f, a_g, a_o), a GRU's (r, z, n). A cell step records

    LSTM   gates = lstm_gates(a)         i, f, g, o = s(a_i), s(a_f), tanh(a_g), s(a_o)
           c     = lstm_cell(gates, c')   f c' + i g
           h     = lstm_hidden(gates, c)  o tanh(c)
    GRU    gates = gru_gates(a, m)        r = s(a_r + m_r), z = s(a_z + m_z),
                                          n = tanh(a_n + r m_n)
           h     = gru_hidden(gates, h')  n + z (h' - n)  =  (1 - z) n + z h'

with s the logistic sigmoid. Each is one node whose vjp returns the gradient of all the gates
at once, the blocks written side by side (a concatenation): slicing the gates apart would
cost one node per gate and, in backward, one dense array of zeros per slice.
"""
import numpy as np

from .errors import ShapeError


def blocks(x, count):
    """The `count` equal blocks of x's last axis, as views."""
    size = x.shape[-1] // count
    return [x[..., k * size:(k + 1) * size] for k in range(count)]


def check_blocks(x, count, state=None):
    """ShapeError unless x's last axis holds `count` gates of one size side by side, of the
    state's size H when a state is given: blocks() would cut the gates apart elsewhere (a last
    axis of 7 read as three gates of 2, a column dropped) or broadcast a state of the wrong
    size."""
    if x.ndim == 0 or x.shape[-1] % count:
        raise ShapeError(f"the last axis must hold the {count} gates side by side ({count} H "
                         f"values), got shape {x.shape}")
    if state is not None and (state.ndim == 0 or x.shape[-1] != count * state.shape[-1]):
        raise ShapeError(f"gates of shape {x.shape} hold {count} blocks of "
                         f"{x.shape[-1] // count}, the state of shape {state.shape} is not of "
                         f"that size H")


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)     # the tanh form: no overflow for large |x|


def _side_by_side(parts, dtype):
    """The parts (None: zeros) written into one array along the last axis, broadcast to a
    common leading shape."""
    given = [p for p in parts if p is not None]
    lead = np.broadcast_shapes(*(p.shape[:-1] for p in given))
    size = given[0].shape[-1]
    out = np.empty(lead + (size * len(parts),), dtype=dtype)
    for k, part in enumerate(parts):
        out[..., k * size:(k + 1) * size] = 0 if part is None else part
    return out


# --- LSTM ---

def lstm_gates(a):
    """(..., 4H) pre-activations -> the gates i, f, g, o side by side."""
    check_blocks(a, 4)
    out = sigmoid(a)
    g_block = blocks(a, 4)[2]
    blocks(out, 4)[2][...] = np.tanh(g_block)
    return out


def lstm_gates_vjp(g, out, a):
    """d s(x) = s (1 - s) on the i, f, o blocks, d tanh(x) = 1 - tanh^2 on the g block."""
    slope = out * (1 - out)
    g_block = blocks(out, 4)[2]
    blocks(slope, 4)[2][...] = 1 - g_block * g_block
    return g * slope


def lstm_cell(gates, c):
    """c[t] = f c[t-1] + i g."""
    check_blocks(gates, 4, c)
    i, f, g, _ = blocks(gates, 4)
    return f * c + i * g


def lstm_cell_vjp_gates(grad, out, gates, c):
    i, f, g, _ = blocks(gates, 4)
    return _side_by_side([grad * g, grad * c, grad * i, None], grad.dtype)


def lstm_cell_vjp_state(grad, out, gates, c):
    return grad * blocks(gates, 4)[1]         # d c[t] / d c[t-1] = f: the highway


def lstm_hidden(gates, c):
    """h[t] = o tanh(c[t])."""
    check_blocks(gates, 4, c)
    return blocks(gates, 4)[3] * np.tanh(c)


def lstm_hidden_vjp_gates(grad, out, gates, c):
    return _side_by_side([None, None, None, grad * np.tanh(c)], grad.dtype)


def lstm_hidden_vjp_state(grad, out, gates, c):
    t = np.tanh(c)
    return grad * blocks(gates, 4)[3] * (1 - t * t)


# --- GRU ---

def gru_gates(a, m):
    """(..., 3H) input and hidden projections -> the gates r, z, n side by side."""
    check_blocks(a, 3)
    if m.ndim == 0 or m.shape[-1] != a.shape[-1]:
        raise ShapeError(f"the projections a of shape {a.shape} and m of shape {m.shape} must "
                         f"both hold the 3 gates side by side (3 H values on the last axis)")
    a_r, a_z, a_n = blocks(a, 3)
    m_r, m_z, m_n = blocks(m, 3)
    r = sigmoid(a_r + m_r)
    return np.concatenate([r, sigmoid(a_z + m_z), np.tanh(a_n + r * m_n)], axis=-1)


def gru_gates_vjp(grad, out, a, m):
    """Both inputs' gradients from one pass: with n_pre = a_n + r m_n,
    d n_pre = g_n (1 - n^2), d r_pre = (g_r + d n_pre m_n) r (1 - r), d z_pre = g_z z (1 - z);
    d a = (d r_pre, d z_pre, d n_pre) and d m = (d r_pre, d z_pre, r d n_pre)."""
    r, z, n = blocks(out, 3)
    g_r, g_z, g_n = blocks(grad, 3)
    m_n = blocks(m, 3)[2]
    d_n = g_n * (1 - n * n)
    d_r = (g_r + d_n * m_n) * r * (1 - r)
    d_z = g_z * z * (1 - z)
    return (_side_by_side([d_r, d_z, d_n], grad.dtype),
            _side_by_side([d_r, d_z, d_n * r], grad.dtype))


def gru_hidden(gates, h):
    """h[t] = n + z (h[t-1] - n)."""
    check_blocks(gates, 3, h)
    _, z, n = blocks(gates, 3)
    return n + z * (h - n)


def gru_hidden_vjp_gates(grad, out, gates, h):
    _, z, n = blocks(gates, 3)
    return _side_by_side([None, grad * (h - n), grad * (1 - z)], grad.dtype)


def gru_hidden_vjp_state(grad, out, gates, h):
    return grad * blocks(gates, 3)[1]         # d h[t] / d h[t-1] = z
