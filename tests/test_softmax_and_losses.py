"""The softmax family and the losses: values against numpy formulas written out here, gradients
derived by hand in the comments, and stability for logits of +-1000."""
import numpy as np
import pytest
from engine_oracles import check_op

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


@pytest.fixture
def rng():
    return np.random.default_rng(17)


# --- the softmax family ---

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family(axis, rng):
    x = 2 * rng.standard_normal((3, 4))

    def exp(a):                               # the naive formulas, fine for small a
        return np.exp(a)

    def softmax(a):
        return exp(a) / exp(a).sum(axis=axis, keepdims=True)

    check_op(lambda t: tg.softmax(t, axis=axis), softmax, [x], rng)
    check_op(lambda t: tg.log_softmax(t, axis=axis), lambda a: np.log(softmax(a)), [x], rng)
    check_op(lambda t: tg.logsumexp(t, axis=axis), lambda a: np.log(exp(a).sum(axis=axis)),
             [x], rng)
    check_op(lambda t: t.logsumexp(axis=axis, keepdims=True),
             lambda a: np.log(exp(a).sum(axis=axis, keepdims=True)), [x], rng)


def test_softmax_family_is_stable_for_large_logits():
    x = Tensor([[1000.0, -1000.0, 1000.0]], requires_grad=True)
    np.testing.assert_allclose(tg.logsumexp(x).data, [1000 + np.log(2)], rtol=1e-15)
    np.testing.assert_allclose(tg.softmax(x).data, [[0.5, 0.0, 0.5]])
    half = -np.log(2)
    np.testing.assert_allclose(tg.log_softmax(x).data, [[half, -2000 + half, half]])
    tg.logsumexp(x).sum().backward()          # d logsumexp = softmax
    np.testing.assert_allclose(x.grad, [[0.5, 0.0, 0.5]])


# --- losses ---

def test_mse_loss_value_and_gradient_by_hand(rng):
    p, t = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    prediction, target = Tensor(p, requires_grad=True), Tensor(t, requires_grad=True)
    loss = tg.mse_loss(prediction, target)
    np.testing.assert_allclose(loss.item(), np.mean((p - t) ** 2), rtol=1e-14)
    loss.backward()                           # d/dp mean (p - t)^2 = 2 (p - t) / n
    np.testing.assert_allclose(prediction.grad, 2 * (p - t) / 8, rtol=1e-14)
    np.testing.assert_allclose(target.grad, -2 * (p - t) / 8, rtol=1e-14)
    summed = tg.mse_loss(Tensor(p), t, reduction="sum")
    np.testing.assert_allclose(summed.item(), np.sum((p - t) ** 2), rtol=1e-14)
    assert tg.mse_loss(Tensor(p), t, reduction="none").shape == (4, 2)


@pytest.mark.parametrize("targets", [[2, 0, 1], np.array([2, 0, 1]), Tensor([2, 0, 1])],
                         ids=["list", "array", "Tensor"])
def test_cross_entropy_value_and_gradient_by_hand(targets, rng):
    z = rng.standard_normal((3, 4))
    logits = Tensor(z, requires_grad=True)
    loss = tg.cross_entropy(logits, targets)
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.eye(4)[[2, 0, 1]]
    picked = softmax[[0, 1, 2], [2, 0, 1]]
    np.testing.assert_allclose(loss.item(), -np.mean(np.log(picked)), rtol=1e-13)
    loss.backward()                           # d/dz = (softmax - onehot) / B
    np.testing.assert_allclose(logits.grad, (softmax - onehot) / 3, rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_stable_for_logits_of_1000():
    logits = Tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = tg.cross_entropy(logits, [1, 1])   # row 0 is off by 2000, row 1 is right
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), 1000.0, rtol=1e-15)
    loss.backward()
    assert np.all(np.isfinite(logits.grad))
    np.testing.assert_allclose(logits.grad, [[0.5, -0.5], [0.0, 0.0]], atol=1e-300)


def test_binary_cross_entropy_with_logits_value_and_gradient(rng):
    z, y = rng.standard_normal(5), np.array([0.0, 1.0, 1.0, 0.3, 0.0])
    logits = Tensor(z, requires_grad=True)
    loss = tg.binary_cross_entropy_with_logits(logits, y)
    sigma = 1 / (1 + np.exp(-z))
    expected = -np.mean(y * np.log(sigma) + (1 - y) * np.log(1 - sigma))
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-13)
    loss.backward()                           # d/dz = (sigma - y) / n
    np.testing.assert_allclose(logits.grad, (sigma - y) / 5, rtol=1e-12)


def test_binary_cross_entropy_with_logits_is_stable_for_1000():
    logits = Tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    loss = tg.binary_cross_entropy_with_logits(logits, [0.0, 1.0, 1.0, 0.0], reduction="none")
    np.testing.assert_allclose(loss.data, [1000.0, 1000.0, 0.0, 0.0], atol=1e-300)
    loss.sum().backward()                     # sigma(z) - y
    np.testing.assert_allclose(logits.grad, [1.0, -1.0, 0.0, 0.0], atol=1e-300)
