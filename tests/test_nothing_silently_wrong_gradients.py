"""Nothing silently wrong about gradients: requires_grad, backward's arguments and a .grad set
by hand, grad mode (no_grad / enable_grad), and gradients at the edges of an op's domain, where
torch's values are the reference (masks pick rather than multiply, the p-norm at 0, an empty
batch). (Tensor arguments, dtypes and conversions: test_nothing_silently_wrong_tensor.py.)"""
import numpy as np
import pytest
from refusals import refuses

import tinygrad_rnn as tg
from tinygrad_rnn import DTypeError, SettingError, Tensor

# --- requires_grad: a leaf's flag may change, a node's may not ---

def test_requires_grad_is_checked_when_set():
    x = Tensor([1.0, 2.0])
    x.requires_grad = True
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    refuses(DTypeError, lambda: setattr(x, "requires_grad", "yes"), "True or False")
    refuses(DTypeError, lambda: setattr(Tensor([True]), "requires_grad", True), "only floating")
    y = x * 2.0
    refuses(tg.BackwardError, lambda: setattr(y, "requires_grad", False), "only a leaf",
            "'mul'", "detach()")
    y.requires_grad = True                        # unchanged: allowed
    assert y.requires_grad


# --- backward's arguments, and .grad set by hand ---

def test_retain_graph_none_is_pytorchs_default():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward(retain_graph=None)
    assert x.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("seed", [np.array([1 + 1j, 1.0]), np.array([None, None])], ids=str)
def test_a_seed_of_complex_or_none_values_is_refused(seed):
    x = Tensor([1.0, 2.0], requires_grad=True)
    refuses(DTypeError, lambda: (x * 2.0).backward(seed), "grad must be numeric")


def test_a_grad_set_by_hand_to_a_tensor_is_added_into_and_garbage_is_refused():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = tg.ones(2)                           # PyTorch's .grad is a tensor
    (x * 2.0).sum().backward()
    assert type(x.grad) is np.ndarray and x.grad.tolist() == [3.0, 3.0]
    y = Tensor(2.0, requires_grad=True)
    y.grad = "abc"
    refuses(DTypeError, lambda: (y * 2.0).backward(), ".grad", "not numbers")


# --- grad mode: no_grad and enable_grad are decorators too, with or without parentheses ---

def test_no_grad_and_enable_grad_decorate_with_or_without_parentheses():
    x = Tensor([1.0], requires_grad=True)
    double = tg.no_grad(lambda t: t * 2.0)
    assert not double(x).requires_grad
    assert not tg.no_grad()(lambda t: t * 2.0)(x).requires_grad
    with tg.no_grad():
        assert tg.enable_grad(lambda t: t * 2.0)(x).requires_grad
    assert tg.is_grad_enabled()
    refuses(SettingError, lambda: tg.no_grad(5), "no_grad", "decorator")


def test_a_grad_mode_object_can_be_entered_again_and_nested():
    """The object no_grad() returns was a one-shot generator: a raw AttributeError on reuse."""
    x, off = Tensor([1.0], requires_grad=True), tg.no_grad()
    for _ in range(2):
        with off:
            with off:
                assert not (x * 2.0).requires_grad
            assert not tg.is_grad_enabled()
        assert tg.is_grad_enabled()


def test_a_decorated_generator_runs_every_resumption_in_its_mode():
    """Decorating a generator function covered only the call that makes the generator: its
    body ran in whatever mode the caller was in at each next()."""
    x = Tensor([1.0, 2.0], requires_grad=True)

    @tg.no_grad
    def doubled(t):
        received = yield t * 2.0
        yield t * received
        return "done"

    items = doubled(x)
    assert not next(items).requires_grad
    assert tg.is_grad_enabled()                     # the caller's mode between resumptions
    assert not items.send(3.0).requires_grad
    with pytest.raises(StopIteration, match="done"):
        next(items)

    @tg.enable_grad
    def recorded(t):
        try:
            yield t * 3.0
        except KeyError:
            yield t * 5.0

    with tg.no_grad():
        items = recorded(x)
        first = next(items)
        second = items.throw(KeyError())            # thrown in, handled in the mode
    assert first.requires_grad and second.requires_grad and tg.is_grad_enabled()
    (first.sum() + second.sum()).backward()
    np.testing.assert_array_equal(x.grad, [8.0, 8.0])


# --- gradients at the edges: masks pick, they do not multiply (torch's values) ---

@pytest.mark.parametrize("call, expected", [
    (lambda x: x.relu(), [0.0, 0.25]),
    (lambda x: x.clamp(min=0.0), [0.0, 0.25]),
    (lambda x: tg.maximum(x, 0.0), [0.0, 0.25]),
    (lambda x: tg.where(np.array([False, True]), x, 0.0), [0.0, 0.25]),
    (lambda x: tg.where(np.array([True, False]), 0.0, x), [0.0, 0.25]),
], ids=["relu", "clamp", "maximum", "where, chosen", "where, not chosen"])
@pytest.mark.filterwarnings("ignore:divide by zero")        # sqrt's slope at 0, on purpose
def test_an_infinite_gradient_behind_a_mask_gives_the_unchosen_input_zero(call, expected):
    """sqrt at 0 sends an infinite gradient back; the input that was not chosen gets 0 (torch),
    not inf * 0 = NaN."""
    x = Tensor([-1.0, 4.0], requires_grad=True)
    call(x).sqrt().sum().backward()
    np.testing.assert_array_equal(x.grad, expected)


@pytest.mark.parametrize("p", [0.5, 1.5, 3])
def test_the_p_norm_gradient_is_zero_at_zero_entries_and_at_a_zero_norm(p):
    """torch's subgradient: |x|^(p-1) is infinite at 0 for p < 1, and x / norm is 0 / 0."""
    x = Tensor([0.0, 2.0], requires_grad=True)
    x.norm(p).backward()
    np.testing.assert_allclose(x.grad, [0.0, 1.0], rtol=1e-12)
    zeros = Tensor(np.zeros((2, 3)), requires_grad=True)
    zeros.norm(p, axis=1).sum().backward()
    np.testing.assert_array_equal(zeros.grad, np.zeros((2, 3)))
    rows = Tensor([[3.0, -4.0], [0.0, 0.0]], requires_grad=True)
    rows.norm(p, axis=1).sum().backward()
    expected = np.sign([3.0, -4.0]) * (np.abs([3.0, -4.0]) / np.sum(np.abs([3.0, 4.0]) ** p)
                                       ** (1 / p)) ** (p - 1)
    np.testing.assert_allclose(rows.grad, [expected, [0.0, 0.0]], rtol=1e-12)


@pytest.mark.parametrize("loss", [
    lambda x: x.mean(), lambda x: x.mean(axis=1).sum(), lambda x: x.mean(axis=0).sum(),
    lambda x: tg.mse_loss(x, np.zeros((0, 3))),
    lambda x: tg.cross_entropy(x, np.zeros(0, dtype=int)),
    lambda x: tg.binary_cross_entropy_with_logits(x, np.zeros((0, 3))),
], ids=["mean", "mean of rows", "mean of columns", "mse_loss", "cross_entropy", "bce"])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")        # the mean of nothing is NaN
def test_an_empty_batch_has_an_empty_gradient(loss):
    """The mean of no elements is NaN, as torch's; backward divided by the count (0) and raised
    ZeroDivisionError."""
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    loss(x).backward()
    assert x.grad.shape == (0, 3)
