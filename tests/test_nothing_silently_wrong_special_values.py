"""Nothing silently wrong at special values: NaN, +-inf, -0.0, numbers near the end of float64
and ties, in each op's value and in its gradient through backward(), against PyTorch (float64)
where it is installed, and the fixed behaviour pinned without it.

The fixes pinned here (each gave a finite, plausible number where torch's is NaN or inf, a
gradient of 0 where torch's is not, NaN where torch's is a number, or lost the answer to
rounding):
- relu at NaN passes the gradient on, as torch's (it was 0);
- maximum with a NaN operand gives both operands the gradient, as torch's (it gave both 0);
- max() / min() of values holding NaN give the gradient to the NaN entries, as torch's max()
  (every entry's was NaN), and an infinite gradient reaches only the max (the others' was
  inf * 0 = NaN);
- log_softmax (and cross_entropy) subtract the max before the log-sum-exp: at logits near
  1e308 (or 1e16) the result was 0 where it is -log 2; a row holding +inf is NaN throughout,
  as torch's (the finite logits had -inf and a gradient);
- the p-norm's gradient at an infinite norm is inf for p < 1 and, where the norm overflowed,
  NaN (p > 2) or inf (p < 1) as torch's (it was 0), and 0 for an infinite gradient at a zero
  norm (it was NaN);
- a ** b: the slope of a NaN power (-inf ** 0.5) is NaN (it was 0); the exponent's gradient at
  a = 0 for b < 0 is -inf, as torch's (it was NaN);
- logsumexp's gradient is the softmax computed from x: at [1e16, 1e16, 1] it is [0.5, 0.5, 0]
  (it was [1, 1, 0], as torch's still is: exp(x - out) after out rounded to the max).

Differences kept on purpose (each stated at its row in primitives.py), asserted below:
- abs at NaN has a NaN gradient (torch's sign(NaN) = 0 would make the NaN's gradient vanish);
- max over an axis follows torch's max(dim) at NaN and at an infinite gradient (the NaN entry
  gets g, the others 0), where torch.amax gives NaN to every entry.
Zeros' signs are numpy's (relu(-0.0) is 0.0, torch's -0.0): compared as equal."""
import numpy as np
import pytest
from refusals import cases

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")    # inf - inf, on purpose

nan, inf = np.nan, np.inf
LOG2 = np.log(2.0)


def torch_or_skip():
    torch = pytest.importorskip("torch")
    return torch


def value_and_grads(call, arrays):
    """call(*tensors), and each input's gradient of the weighted sum sum(w * out) (w = 1, 2, ...,
    so a gradient moved to the wrong entry shows)."""
    tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = call(*tensors)
    weights = np.arange(1.0, out.data.size + 1).reshape(out.shape)
    (out * weights).sum().backward()
    return out.data, [t.grad for t in tensors]


def torch_value_and_grads(torch, call, arrays):
    tensors = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = call(torch, *tensors)
    weights = torch.arange(1.0, out.numel() + 1, dtype=torch.float64).reshape(out.shape)
    (out * weights).sum().backward()
    return out.detach().numpy(), [np.zeros(t.shape) if t.grad is None else t.grad.numpy()
                                  for t in tensors]


def assert_same(ours, theirs, what):
    """NaN where the other has NaN, infinities of the same sign where the other has them, and
    finite values equal up to rounding (the sign of a zero is not compared)."""
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300, equal_nan=True,
                               err_msg=what)


def cross_entropy(torch, z, target):
    return torch.nn.functional.cross_entropy(z, torch.tensor(target))


ROW = [nan, -1.0, 2.0, 0.0, -0.0, inf, -inf]
# {case: (our expression, torch's expression (given the torch module first), inputs)}
CASES = {
    # --- fixed: each of these differed from torch before ---
    "relu at NaN": (lambda x: x.relu(), lambda t, x: x.relu(), [ROW]),
    "maximum with NaN and ties": (
        tg.maximum, lambda t, x, y: t.maximum(x, y),
        [[nan, 1.0, nan, 2.0, 3.0, -0.0, inf, -inf], [1.0, nan, nan, 2.0, -inf, 0.0, inf, 5.0]]),
    "maximum(x, 0) at NaN": (lambda x: tg.maximum(x, 0.0),
                             lambda t, x: t.maximum(x, t.zeros((), dtype=t.float64)), [ROW]),
    "max() holding NaN": (lambda x: x.max(), lambda t, x: x.max(), [[1.0, nan, 3.0, inf]]),
    "max() holding two NaN": (lambda x: x.max(), lambda t, x: x.max(), [[nan, 1.0, nan]]),
    "min() holding NaN": (lambda x: x.min(), lambda t, x: x.min(), [[1.0, -inf, nan]]),
    "max(axis) holding NaN": (lambda x: x.max(axis=1), lambda t, x: x.max(dim=1).values,
                              [[[1.0, nan, 3.0], [nan, -inf, 0.0], [2.0, 1.0, 0.0]]]),
    "max() at 0, sqrt after": (lambda x: x.max().sqrt(), lambda t, x: x.max().sqrt(),
                               [[-1.0, 0.0, -2.0]]),
    "log_softmax near 1e308": (lambda x: x.log_softmax(-1), lambda t, x: x.log_softmax(-1),
                               [[1e308, 1e308, 1.0]]),
    "log_softmax near 1e16": (lambda x: x.log_softmax(-1), lambda t, x: x.log_softmax(-1),
                              [[1e16, 1e16, 1.0]]),
    "log_softmax holding inf": (lambda x: x.log_softmax(-1), lambda t, x: x.log_softmax(-1),
                                [[[inf, 1.0, 2.0], [inf, inf, 1.0], [1.0, 2.0, 3.0]]]),
    "cross_entropy near 1e308": (lambda z: tg.cross_entropy(z, [0, 1]),
                                 lambda t, z: cross_entropy(t, z, [0, 1]),
                                 [[[1e308, 1e308, 1.0], [1e308, 1.0, 1e308]]]),
    "cross_entropy holding inf": (lambda z: tg.cross_entropy(z, [1, 0]),
                                  lambda t, z: cross_entropy(t, z, [1, 0]),
                                  [[[inf, 1.0, 2.0], [0.0, 1.0, 2.0]]]),
    "norm 0.5 holding inf": (lambda x: x.norm(0.5), lambda t, x: x.norm(0.5), [[inf, 1.0, 2.0]]),
    "norm 0.5 overflowing": (lambda x: x.norm(0.5), lambda t, x: x.norm(0.5),
                             [[1e308, 1e308, 1.0]]),
    "norm 3 overflowing": (lambda x: x.norm(3), lambda t, x: x.norm(3), [[1e308, 1e308, 1.0]]),
    "norm 3 at 0, sqrt after": (lambda x: (x * 0.0).norm(3).sqrt(),
                                lambda t, x: (x * 0.0).norm(3).sqrt(), [[-1.0, 0.0, 2.0]]),
    "-inf ** 0.5": (lambda x: x ** 0.5, lambda t, x: x ** 0.5, [[-inf, 4.0, 0.0, nan]]),
    "0 ** b for b < 0": (lambda b: 0.0 ** b, lambda t, b: 0.0 ** b, [[-2.0, -1.0, -inf, 2.0]]),
    "a ** b at a = 0": (lambda a, b: a ** b, lambda t, a, b: a ** b,
                        [[0.0, -0.0, 0.0, 0.0], [-2.0, -1.0, -0.5, 3.0]]),
    # --- equal before and after: pinned as they are ---
    "norm 1.5 along an axis": (lambda x: x.norm(1.5, axis=1), lambda t, x: x.norm(1.5, dim=1),
                               [[[inf, 1.0], [1e308, 1e308], [0.0, 0.0], [3.0, -4.0]]]),
    "x ** 1 at NaN": (lambda a, b: a ** b, lambda t, a, b: a ** b, [[nan, 2.0], [1.0, 1.0]]),
    "maximum at inf": (tg.maximum, lambda t, x, y: t.maximum(x, y), [[inf, -inf], [1.0, -inf]]),
    "max() ties": (lambda x: x.max(), lambda t, x: x.max(), [[3.0, 1.0, 3.0, -inf]]),
    "max(axis) ties": (lambda x: x.max(axis=1), lambda t, x: x.amax(dim=1),
                       [[[3.0, 3.0, 1.0], [inf, inf, 0.0], [-inf, -inf, -inf]]]),
    "max(dim) ties": (lambda x: x.max(dim=1).values, lambda t, x: x.max(dim=1).values,
                      [[[3.0, 3.0, 1.0], [nan, 1.0, nan]]]),
    "clamp at NaN and the bounds": (lambda x: x.clamp(0.0, 2.0), lambda t, x: x.clamp(0.0, 2.0),
                                    [ROW]),
    "where with NaN and inf": (lambda x, y: tg.where(np.array([True, False, True]), x, y),
                               lambda t, x, y: t.where(t.tensor([True, False, True]), x, y),
                               [[nan, nan, inf], [inf, -inf, nan]]),
    "softmax holding inf": (lambda x: x.softmax(-1), lambda t, x: x.softmax(-1),
                            [[[inf, 1.0, 2.0], [-inf, 1.0, 2.0], [1e308, -1e308, 0.0]]]),
    "log_softmax holding -inf": (lambda x: x.log_softmax(-1), lambda t, x: x.log_softmax(-1),
                                 [[[-inf, 1.0, 2.0], [-inf, -inf, -inf], [nan, 1.0, 2.0]]]),
    "logsumexp at the ends": (lambda x: x.logsumexp(-1), lambda t, x: x.logsumexp(-1),
                              [[[inf, 1.0], [-inf, -inf], [nan, 1.0], [1e308, 1.0]]]),
    "exp, log, sqrt, tanh, sigmoid": (
        lambda x: x.exp() + x.log() + x.sqrt() + x.tanh() + x.sigmoid(),
        lambda t, x: x.exp() + x.log() + x.sqrt() + x.tanh() + x.sigmoid(),
        [[nan, inf, 0.0, -0.0, 2.0]]),
    "softplus at the ends": (lambda x: x.softplus(),
                             lambda t, x: t.nn.functional.softplus(x), [ROW]),
    "div by zeros and infinities": (lambda a, b: a / b, lambda t, a, b: a / b,
                                    [[1.0, -1.0, 0.0, inf, 1.0], [0.0, -0.0, 0.0, inf, inf]]),
    "mse_loss holding inf": (lambda y: tg.mse_loss(y, np.array([1.0, inf])),
                             lambda t, y: t.nn.functional.mse_loss(
                                 y, t.tensor([1.0, inf], dtype=t.float64)),
                             [[inf, 2.0]]),
    "matmul holding inf": (lambda a, b: a @ b, lambda t, a, b: a @ b,
                           [[[inf, 1.0], [2.0, nan]], [[1.0, 2.0], [3.0, 4.0]]]),
}


@pytest.mark.parametrize("ours, theirs, arrays", cases(CASES))
def test_values_and_gradients_at_special_values_are_torchs(ours, theirs, arrays):
    torch = torch_or_skip()
    value, grads = value_and_grads(ours, arrays)
    expected, expected_grads = torch_value_and_grads(torch, theirs, arrays)
    assert value.shape == expected.shape
    assert_same(value, expected, "value")
    for i, (grad, expected_grad) in enumerate(zip(grads, expected_grads)):
        assert_same(grad, expected_grad, f"gradient of input {i}")


# --- the fixes, pinned without torch ---

def grad_of(call, values):
    x = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    call(x).sum().backward()
    return x.grad


def test_relu_and_maximum_pass_the_gradient_at_nan():
    np.testing.assert_array_equal(grad_of(lambda x: x.relu(), [nan, -1.0, 2.0, 0.0]),
                                  [1.0, 0.0, 1.0, 0.0])
    a = Tensor([nan, 1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([1.0, nan, 2.0, 1.0], requires_grad=True)
    tg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 0.5, 0.0])


def test_a_max_holding_nan_sends_the_gradient_to_the_nan_entries():
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), [1.0, nan, 3.0]), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: x.min(), [nan, 1.0, nan]), [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(grad_of(lambda x: x.max(axis=1), [[nan, 1.0], [2.0, 2.0]]),
                                  [[1.0, 0.0], [0.5, 0.5]])
    # an infinite gradient (sqrt at 0) reaches the max only: the others' is 0, not inf * 0
    np.testing.assert_array_equal(grad_of(lambda x: x.max().sqrt(), [-1.0, 0.0]), [0.0, inf])


def test_log_softmax_keeps_the_small_terms_of_large_logits():
    for big in (1e308, 1e16):
        logits = Tensor([[big, big, 1.0]], requires_grad=True)
        out = logits.log_softmax(axis=1)
        np.testing.assert_allclose(out.data[0, :2], [-LOG2, -LOG2], rtol=1e-15)
        assert out.data[0, 2] < -1e15
        loss = tg.cross_entropy(logits, [0])
        assert float(loss) == pytest.approx(LOG2, rel=1e-15)
        loss.backward()
        np.testing.assert_allclose(logits.grad, [[-0.5, 0.5, 0.0]], atol=1e-15)


def test_a_row_holding_inf_is_nan_throughout_in_log_softmax_and_cross_entropy():
    out = Tensor([[inf, 1.0], [1.0, 2.0]]).log_softmax(axis=1)
    assert np.isnan(out.data[0]).all() and np.isfinite(out.data[1]).all()
    logits = Tensor([[inf, 1.0, 2.0]], requires_grad=True)
    loss = tg.cross_entropy(logits, [1])
    loss.backward()
    assert np.isnan(float(loss)) and np.isnan(logits.grad).all()


def test_the_p_norm_gradient_at_an_infinite_norm_is_not_zero():
    np.testing.assert_array_equal(grad_of(lambda x: x.norm(0.5), [inf, 1.0, 2.0]),
                                  [nan, inf, inf])
    np.testing.assert_array_equal(grad_of(lambda x: x.norm(3), [1e308, 1e308, 1.0]),
                                  [nan, nan, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: x.norm(0.5), [1e308, 1e308, 1.0]),
                                  [inf, inf, inf])
    # an infinite gradient at a zero norm: the subgradient 0 picks, it does not multiply
    np.testing.assert_array_equal(grad_of(lambda x: x.norm(3).sqrt(), [0.0, 0.0]), [0.0, 0.0])


def test_pow_gradients_where_the_power_has_no_value_or_is_infinite():
    np.testing.assert_array_equal(grad_of(lambda x: x ** 0.5, [-inf, 4.0]), [nan, 0.25])
    np.testing.assert_array_equal(grad_of(lambda x: x ** 1.0, [nan]), [1.0])
    np.testing.assert_array_equal(grad_of(lambda b: 0.0 ** b, [-2.0, -inf, 2.0]),
                                  [-inf, -inf, 0.0])


# --- differences from torch kept on purpose ---

def test_abs_at_nan_has_a_nan_gradient():
    """torch's sign(NaN) is 0, so its |x| gives a NaN input the gradient 0; here it is NaN."""
    np.testing.assert_array_equal(grad_of(lambda x: x.abs(), [nan, -2.0, 0.0]),
                                  [nan, -1.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: x.norm(1), [nan, -2.0]), [nan, -1.0])


def test_max_over_an_axis_follows_torchs_max_dim_not_amax():
    """torch.amax gives every entry of a row whose max is NaN the gradient NaN (0 / 0), and the
    entries beside the max inf * 0 = NaN under an infinite gradient; here, as torch's max(dim),
    the NaN entry gets g and the others 0."""
    np.testing.assert_array_equal(grad_of(lambda x: x.max(axis=1), [[1.0, nan, 3.0]]),
                                  [[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(grad_of(lambda x: x.max(axis=1).sqrt(), [[-1.0, 0.0]]),
                                  [[0.0, inf]])


def test_logsumexp_gradient_keeps_the_small_terms_of_large_logits():
    """d logsumexp = softmax: torch takes exp(x - out), and out = max + log 2 rounds to max at
    1e16, giving [1, 1, 0]; here the softmax is computed from x. At an infinite out it is
    exp(x - out), as torch's: 0 beside an inf, NaN at the inf and in an all -inf row."""
    for big in (1e16, 1e308):
        np.testing.assert_allclose(grad_of(lambda x: x.logsumexp(), [big, big, 1.0]),
                                   [0.5, 0.5, 0.0], atol=1e-15)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(grad_of(lambda x: x.logsumexp(), [inf, 1.0]), [nan, 0.0])
        np.testing.assert_array_equal(grad_of(lambda x: x.logsumexp(), [-inf, -inf]),
                                      [nan, nan])
    np.testing.assert_array_equal(grad_of(lambda x: x.logsumexp(), [-inf, 0.0]), [0.0, 1.0])


def test_std_gradient_where_the_spread_is_zero_is_torchs_zero_not_nan():
    """sqrt's slope at 0 is inf and the centred values are 0: inf * 0 made the gradient NaN in
    every entry of a constant row; torch's std takes 0 there (a subgradient), and so does
    this one, also in the other rows and in float32."""
    np.testing.assert_array_equal(grad_of(lambda x: x.std(), [2.0, 2.0, 2.0]), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(grad_of(lambda x: x.std(1), [[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]]),
                               [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]], rtol=1e-15)
    single = Tensor(np.zeros(4, np.float32), requires_grad=True)
    std = single.std(correction=0)
    std.backward()
    assert std.dtype == single.grad.dtype == np.float32
    np.testing.assert_array_equal(single.grad, np.zeros(4))
