"""How backward adds up the shares it hands back unwritten (shares.py): a slice's gradient
(Scatter) added in place into its tensor's one sum, alongside other consumers' shares and at
repeated positions; a weight's gradients (Product) multiplied out a block of steps at once,
with blocks bounded by the weight's size, and the same sums as the plain arrays."""
import numpy as np
import pytest
from engine_oracles import finite_difference

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, autodiff
from tinygrad_rnn.shares import Product


@pytest.fixture
def rng():
    return np.random.default_rng(20240501)


# --- slices: one sum of the tensor's shape, added in place ---

def test_slices_and_other_consumers_of_one_tensor_sum_their_gradients(rng):
    """x[t] at every step (the RNN's input) mixed with whole-tensor consumers, before and
    after the slices, and a fancy index with repeats."""
    data = rng.standard_normal((4, 3))

    def loss(x):
        total = (x * x).sum()
        for t in range(4):
            total = total + (x[t] * (t + 1)).tanh().sum()
        return total + x[[0, 0, 3]].sum() + (x.T * 2).sum() + x[1:3, ::2].exp().sum()

    x = Tensor(data, requires_grad=True)
    loss(x).backward()
    expected = finite_difference(lambda a: loss(Tensor(a)).item(), [data])[0]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("slice_first", [False, True])
def test_a_leaf_given_broadcast_gradients_and_a_slice_sums_them_in_its_own_shape(slice_first):
    """x (3, 2) added to a (4, 3, 2) array twice hands x gradients of shape (4, 3, 2), kept
    in that shape while more of it arrive; x[1] then adds its share into x's row 1, not
    into the broadcast array's batch entry 1. Either order of the walk gives 4 + 4 (+ 2)."""
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    broadcast = [(x + np.ones((4, 3, 2))).sum() for _ in range(2)]
    sliced = (x[1] * 2.0).sum()
    terms = [sliced, *broadcast] if slice_first else [*broadcast, sliced]
    loss = terms[0] + terms[1] + terms[2]
    loss.backward()
    np.testing.assert_array_equal(x.grad, [[8.0, 8.0], [10.0, 10.0], [8.0, 8.0]])


def count_dense_arrays_of_shape(monkeypatch, shape):
    """Count the zero-filled arrays of `shape` numpy makes while the test runs."""
    made = []
    zeros = np.zeros

    def counting(*args, **kwargs):
        array = zeros(*args, **kwargs)
        if array.shape == shape:
            made.append(array.shape)
        return array
    monkeypatch.setattr(np, "zeros", counting)
    return made


@pytest.mark.parametrize("leaf", [True, False])
def test_t_slices_of_one_tensor_cost_one_dense_gradient_not_t(monkeypatch, leaf, rng):
    """y[t] = ys[t] at every step: the T shares (g at ys[t]) are added into one array of ys's
    shape in place; a dense array per slice would be O(T^2) work and memory traffic."""
    data = rng.standard_normal((50, 3, 4))
    x = Tensor(data, requires_grad=True)
    ys = x if leaf else x * 1.0
    made = count_dense_arrays_of_shape(monkeypatch, data.shape)
    total = (ys[0] * ys[0]).sum()
    for t in range(1, 50):
        total = total + (ys[t] * (t + 1.0)).sum() + ys[t, 0, [1, 1]].sum()
    total.backward()
    assert len(made) == 1
    expected = np.broadcast_to(np.arange(1.0, 51.0)[:, None, None], data.shape).copy()
    expected[0] = 2 * data[0]
    expected[1:, 0, 1] += 2.0            # ys[t, 0, [1, 1]]: a repeated index counts twice
    np.testing.assert_array_equal(x.grad, expected)


def test_a_position_picked_twice_by_tuples_of_ints_gets_both_shares():
    x = Tensor(np.zeros((4, 3)), requires_grad=True)
    (x[(0, 0), (1, 1)] * Tensor([1.0, 2.0])).sum().backward()
    expected = np.zeros((4, 3))
    expected[0, 1] = 3.0
    np.testing.assert_array_equal(x.grad, expected)


def test_anomaly_mode_checks_a_slice_gradient_without_writing_it_out(monkeypatch):
    x = Tensor(np.ones((30, 2)), requires_grad=True)
    made = count_dense_arrays_of_shape(monkeypatch, x.shape)
    with tg.detect_anomaly():
        total = x[0].sum()
        for t in range(1, 30):
            total = total + x[t].sum()
        total.backward()
    assert len(made) == 1
    np.testing.assert_array_equal(x.grad, np.ones((30, 2)))


def test_a_checkpointed_unroll_sums_its_outputs_gradient_in_one_array(monkeypatch):
    """The checkpointed unroll's ys (T, B, O) is read a step at a time by the loss: its
    gradient is one array, not one per step (which made the step 5x slower at T = 1000)."""
    from tinygrad_rnn import nn
    model = nn.Elman(3, 4, 2, seed=0)
    xs, vs = np.ones((40, 2, 3)), np.zeros((40, 2, 2))
    ys, _ = model(xs, checkpoint_every=8)
    made = count_dense_arrays_of_shape(monkeypatch, ys.shape)
    nn.sequence_loss(ys, vs, "sum_squared_error").backward()
    assert len(made) <= 1


# --- weights: products multiplied out a block of steps at once ---

def log_product_blocks(monkeypatch):
    """Record how many Products each block the walk multiplies out holds."""
    blocks = []
    sum_of = Product.sum_of

    def logged(products):
        blocks.append(len(products))
        return sum_of(products)
    monkeypatch.setattr(Product, "sum_of", staticmethod(logged))
    return blocks


def weight_used_at_every_step(rng, steps, batch, sizes, dtype=np.float64):
    """W (O, I) and b used by linear at each of `steps` steps, with the loss sum_t <c[t],
    linear(x[t], W, b)>: (W, b, xs, cs, loss); dW = sum_t c[t]^T x[t] exactly."""
    O, I = sizes
    W = Tensor(rng.standard_normal((O, I)).astype(dtype), requires_grad=True)
    b = Tensor(rng.standard_normal(O).astype(dtype), requires_grad=True)
    xs = rng.standard_normal((steps, batch, I)).astype(dtype)
    cs = rng.standard_normal((steps, batch, O)).astype(dtype)
    terms = [(tg.functional.linear(Tensor(x), W, b) * c).sum() for x, c in zip(xs, cs)]
    return W, b, xs, cs, tg.stack(terms).sum()


def test_a_weight_used_at_every_step_multiplies_its_gradients_out_in_blocks(monkeypatch, rng):
    """linear's weight gradient is a Product (g^T x, not multiplied out): the T shares of a
    weight used at every step are multiplied out a block at a time, one matmul per block."""
    blocks = log_product_blocks(monkeypatch)
    W, b, xs, cs, loss = weight_used_at_every_step(rng, steps=150, batch=1, sizes=(140, 140))
    loss.backward()
    expected = np.einsum("tbo,tbi->oi", cs, xs)
    np.testing.assert_allclose(W.grad, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(b.grad, cs.sum(axis=(0, 1)), rtol=1e-12)
    assert sum(blocks) == 150 and len(blocks) == 3 and max(blocks) == autodiff.LEAF_BLOCK + 1


def test_a_block_of_products_holds_rows_of_at_most_a_few_times_its_weight(monkeypatch, rng):
    """Each Product here holds 4 rows of g and x, 1 KiB, against the (16, 16) weight's 2 KiB: a
    block is multiplied out once its rows pass PRODUCT_BLOCK times the weight, so the rows it
    copies stay about the size of the products it replaces."""
    blocks = log_product_blocks(monkeypatch)
    W, _, xs, cs, loss = weight_used_at_every_step(rng, steps=20, batch=4, sizes=(16, 16))
    loss.backward()
    np.testing.assert_allclose(W.grad, np.einsum("tbo,tbi->oi", cs, xs), rtol=1e-12)
    share = 4 * (16 + 16) * 8
    assert sum(blocks) == 20 and max(blocks) == autodiff.PRODUCT_BLOCK * W.data.nbytes // share + 1


def test_a_product_larger_than_its_block_is_multiplied_out_alone(monkeypatch, rng):
    """x (64, 256) against a (1, 256) weight: each product's rows are 64 times the weight, so
    none waits for another and no rows are copied."""
    blocks = log_product_blocks(monkeypatch)
    W, _, xs, cs, loss = weight_used_at_every_step(rng, steps=5, batch=64, sizes=(1, 256))
    loss.backward()
    np.testing.assert_allclose(W.grad, np.einsum("tbo,tbi->oi", cs, xs), rtol=1e-12)
    assert blocks == []


@pytest.mark.parametrize("x_shape, W_shape", [((3, 4), (0, 4)), ((2, 0), (3, 0)),
                                              ((0, 4), (2, 4)), ((2, 3, 4), (0, 4)),
                                              ((4,), (0, 4))])
def test_a_weight_or_input_with_no_entries_gets_its_gradient(x_shape, W_shape):
    W = Tensor(np.ones(W_shape), requires_grad=True)
    out = tg.functional.linear(Tensor(np.ones(x_shape)), W)
    (out * 2.0).sum().backward()              # a sum over no rows, or a weight of no entries
    np.testing.assert_array_equal(W.grad, np.zeros(W_shape))


def test_a_weight_that_is_a_node_gets_its_product_multiplied_out(rng):
    W0 = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = rng.standard_normal((5, 4))
    W = W0 * 2.0                              # a node: its gradient is a plain array
    loss = tg.functional.linear(Tensor(x), W).sum() + (W * W).sum()
    loss.backward()
    np.testing.assert_allclose(W0.grad, 2 * (np.ones((5, 3)).T @ x + 2 * W.data), rtol=1e-13)


def test_products_and_plain_shares_of_one_weight_add_up(rng):
    W, _, xs, cs, loss = weight_used_at_every_step(rng, steps=5, batch=3, sizes=(2, 3))
    (loss + (W * W).sum() + W[0, 1] * 4.0).backward()
    expected = np.einsum("tbo,tbi->oi", cs, xs) + 2 * W.data
    expected[0, 1] += 4.0
    np.testing.assert_allclose(W.grad, expected, rtol=1e-12)


def test_products_keep_float32_and_a_broadcast_input(rng):
    """x (I,) against a full bias (4, O): the product sums over the bias's leading axis."""
    W = Tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    x = rng.standard_normal(3).astype(np.float32)
    bias = Tensor(rng.standard_normal((4, 2)).astype(np.float32), requires_grad=True)
    c = rng.standard_normal((4, 2)).astype(np.float32)
    (tg.functional.linear(Tensor(x), W, bias) * c).sum().backward()
    assert W.grad.dtype == np.float32
    np.testing.assert_allclose(W.grad, c.sum(axis=0)[:, None] * x[None, :], rtol=1e-5)


def test_a_product_is_its_plain_array_when_asked_for_one(rng):
    g, x = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 4))
    product = Product(g, x, (3, 4))
    np.testing.assert_allclose(np.asarray(product), np.einsum("tbo,tbi->oi", g, x), rtol=1e-13)
    assert np.asarray(product, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="copy=False"):
        np.array(product, copy=False)
