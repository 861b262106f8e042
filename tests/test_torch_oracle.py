"""A second engine as the oracle: the same expressions in tinygrad_rnn and in PyTorch (float64),
values and gradients equal to 1e-10. Skipped cleanly where torch is not installed."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOLERANCE = dict(rtol=1e-10, atol=1e-10)


def both(tg_fn, torch_fn, arrays, seed=0):
    """Run tg_fn on Tensors and torch_fn on torch tensors built from the same arrays; compare
    the outputs, then backward the same random weighted sum in both and compare gradients."""
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, expected = tg_fn(*ours), torch_fn(*theirs)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOLERANCE)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    (out * weights).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad), f"input {i}"
        else:
            np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOLERANCE, err_msg=f"input {i}")


rng = np.random.default_rng(11)
A, B = rng.uniform(0.5, 2.0, (2, 3)), rng.uniform(0.5, 2.0, (3,))        # positive: log, sqrt, **
X = rng.standard_normal((2, 3, 4))
DISTINCT = rng.permutation(24).reshape(2, 3, 4) * 0.5 + rng.uniform(-0.1, 0.1, (2, 3, 4))
MASK = np.array([True, False, True, True])

CASES = {
    # arithmetic, broadcasting, numbers on either side
    "add": ((lambda a, b: a + b), (lambda a, b: a + b), [A, B]),
    "sub": ((lambda a, b: b - a), (lambda a, b: b - a), [A, B]),
    "mul": ((lambda a, b: a * b * a), (lambda a, b: a * b * a), [A, B]),
    "div": ((lambda a, b: a / b), (lambda a, b: a / b), [A, B]),
    "pow": ((lambda a, b: a ** b), (lambda a, b: a ** b), [A, B]),
    "numbers": ((lambda a: 3 / a - 2 * a + a ** 2 - 1),) * 2 + ([A],),
    "neg": ((lambda a: -a), (lambda a: -a), [A]),
    # matmul in every arrangement
    "vec @ vec": ((lambda a, b: a @ b), (lambda a, b: a @ b), [rng.standard_normal(3)] * 2),
    "mat @ vec": ((lambda a, b: a @ b), (lambda a, b: a @ b), [A, B]),
    "vec @ mat": ((lambda a, b: a @ b), (lambda a, b: a @ b), [B, A.T.copy()]),
    "mat @ mat": ((lambda a, b: a @ b), (lambda a, b: a @ b), [A, rng.standard_normal((3, 4))]),
    "batched": ((lambda a, b: a @ b), (lambda a, b: a @ b),
                [rng.standard_normal((2, 1, 2, 3)), rng.standard_normal((5, 3, 4))]),
    "linear": ((lambda x, w, b: tg.linear(x, w, b)), F.linear,
               [rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)]),
    "linear no bias": ((lambda x, w: tg.linear(x, w)), F.linear,
                       [rng.standard_normal((2, 5, 3)), rng.standard_normal((4, 3))]),
    # elementwise functions
    "exp": (Tensor.exp, torch.exp, [X]),
    "log": (Tensor.log, torch.log, [A]),
    "tanh": (Tensor.tanh, torch.tanh, [X]),
    "sigmoid": (Tensor.sigmoid, torch.sigmoid, [3 * X]),
    "relu": (Tensor.relu, torch.relu, [X]),
    "sqrt": (Tensor.sqrt, torch.sqrt, [A]),
    "abs": (Tensor.abs, torch.abs, [X]),
    "softplus": (Tensor.softplus, F.softplus, [3 * X]),
    # reductions
    "sum": ((lambda x: x.sum()), torch.sum, [X]),
    "sum axes": ((lambda x: x.sum(axis=(0, -1), keepdims=True)),
                 (lambda x: x.sum(dim=(0, -1), keepdim=True)), [X]),
    "mean": ((lambda x: x.mean(axis=1)), (lambda x: x.mean(dim=1)), [X]),
    "max": ((lambda x: x.max()), torch.max, [DISTINCT]),
    "max axis": ((lambda x: x.max(axis=-1, keepdims=True)),
                 (lambda x: x.amax(dim=-1, keepdim=True)), [DISTINCT]),
    "max axes": ((lambda x: x.max(axis=(0, 2))), (lambda x: x.amax(dim=(0, 2))), [DISTINCT]),
    # shapes
    "reshape": ((lambda x: x.reshape(4, -1)), (lambda x: x.reshape(4, -1)), [X]),
    "transpose": ((lambda x: x.transpose(2, 0, 1)), (lambda x: x.permute(2, 0, 1)), [X]),
    "T": ((lambda a: a.T @ a), (lambda a: a.T @ a), [A]),
    "slices": ((lambda x: x[1:, ::2, -1]), (lambda x: x[1:, ::2, -1]), [X]),
    "repeated index": ((lambda x: x[[0, 0, 2, 0]]), (lambda x: x[[0, 0, 2, 0]]), [X[0].T.copy()]),
    "index pairs": ((lambda x: x[[0, 0, 1], [2, 2, 0]]), (lambda x: x[[0, 0, 1], [2, 2, 0]]), [A]),
    "mask": ((lambda x: x[MASK]), (lambda x: x[torch.tensor(MASK)]), [X[0].T.copy()]),
    "stack": ((lambda a, b: tg.stack([a, b, a], axis=1)),
              (lambda a, b: torch.stack([a, b, a], dim=1)), [A, A[::-1].copy()]),
    "concatenate": ((lambda a, b: tg.concatenate([a, b, a], axis=-1)),
                    (lambda a, b: torch.cat([a, b, a], dim=-1)), [A, rng.standard_normal((2, 1))]),
    "where": ((lambda a, b: tg.where(MASK[:3], a, b)),
              (lambda a, b: torch.where(torch.tensor(MASK[:3]), a, b)), [A, B]),
    "maximum": ((lambda a, b: tg.maximum(a, b)), torch.maximum, [A, B + 0.01]),
    # the softmax family and losses
    "softmax": ((lambda x: tg.softmax(x, axis=1)), (lambda x: torch.softmax(x, dim=1)), [X]),
    "log_softmax": ((lambda x: tg.log_softmax(x)), (lambda x: torch.log_softmax(x, dim=-1)), [X]),
    "logsumexp": ((lambda x: tg.logsumexp(x, axis=0)), (lambda x: torch.logsumexp(x, dim=0)), [X]),
    "mse_loss": ((lambda y, v: tg.mse_loss(y, v)), F.mse_loss, [A, A[::-1].copy()]),
    "mse_loss sum": ((lambda y: tg.mse_loss(y, B * A, reduction="sum")),
                     (lambda y: F.mse_loss(y, torch.tensor(B * A), reduction="sum")), [A]),
    "cross_entropy": ((lambda z: tg.cross_entropy(z, [3, 0, 3])),
                      (lambda z: F.cross_entropy(z, torch.tensor([3, 0, 3]))), [X[0] * 5]),
    "cross_entropy 1000": ((lambda z: tg.cross_entropy(z, [1, 1, 0])),
                           (lambda z: F.cross_entropy(z, torch.tensor([1, 1, 0]))),
                           [np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [3.0, -2.0]])]),
    "bce with logits": ((lambda z: tg.binary_cross_entropy_with_logits(z, MASK * 1.0)),
                        (lambda z: F.binary_cross_entropy_with_logits(z, torch.tensor(MASK * 1.0))),
                        [np.array([1000.0, -1000.0, 0.3, -2.0])]),
}


@pytest.mark.parametrize("name", CASES)
def test_same_values_and_gradients_as_torch(name):
    tg_fn, torch_fn, arrays = CASES[name]
    both(tg_fn, torch_fn, arrays)


def elman_loss(lib, xs, ys, w1, wm, b, wo, truncate=False, states=None):
    """h[t] = tanh(x[t] W1^T + h[t-1] Wm^T + b), y[t] = h[t] Wo^T, loss = sum_t |y[t] - ys[t]|^2.
    `lib` supplies the two spellings that differ: how to stop the gradient, how to keep h's."""
    h = lib["zeros"]((xs.shape[1], wm.shape[0]))
    loss = 0.0
    for t in range(len(xs)):
        h_in = lib["stop"](h) if truncate and t > 0 else h
        h = (lib["const"](xs[t]) @ w1.T + h_in @ wm.T + b).tanh()
        lib["keep"](h)
        if states is not None:
            states.append(h)
        error = h @ wo.T - lib["const"](ys[t])
        loss = loss + (error * error).sum()
    return loss


@pytest.mark.parametrize("truncate", [False, True], ids=["full BPTT", "Elman (cut each step)"])
def test_five_step_elman_recurrence_matches_torch(truncate):
    rng = np.random.default_rng(5)
    xs, ys = rng.standard_normal((5, 3, 2)), rng.standard_normal((5, 3, 1))
    weights = [rng.standard_normal(s) * 0.7 for s in [(4, 2), (4, 4), (4,), (1, 4)]]
    ours = [Tensor(w, requires_grad=True) for w in weights]
    theirs = [torch.tensor(w, requires_grad=True) for w in weights]
    tg_lib = {"zeros": lambda s: Tensor(np.zeros(s)), "const": Tensor, "stop": tg.cut,
              "keep": lambda h: h.retain_grad()}
    torch_lib = {"zeros": lambda s: torch.zeros(s, dtype=torch.float64), "const": torch.tensor,
                 "stop": lambda h: h.detach(), "keep": lambda h: h.retain_grad()}
    our_states, their_states = [], []
    loss = elman_loss(tg_lib, xs, ys, *ours, truncate=truncate, states=our_states)
    expected = elman_loss(torch_lib, xs, ys, *theirs, truncate=truncate, states=their_states)
    np.testing.assert_allclose(loss.item(), expected.item(), **TOLERANCE)
    loss.backward()
    expected.backward()
    for name, a, b in zip(["W1", "Wm", "b", "Wo"], ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOLERANCE, err_msg=name)
    for t, (a, b) in enumerate(zip(our_states, their_states), start=1):    # dR/dh[t]
        np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOLERANCE, err_msg=f"h[{t}]")
