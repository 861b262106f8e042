"""The backward walk: fan-out sums, each vjp once and after its consumers, accumulation into
leaves, retain_grad, no_grad, detach, cut, and a 100,000-op chain without recursion."""
import numpy as np
import pytest
from engine_oracles import finite_difference

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.primitives import PRIMITIVES


@pytest.fixture
def rng():
    return np.random.default_rng(20240501)


def log_vjp_calls(monkeypatch, calls, *names):
    """Wrap the vjp of the named primitives so every call appends the name to `calls`;
    monkeypatch puts the original vjp back after the test."""
    for name in names:
        prim = PRIMITIVES[name]

        def logged(*args, vjp=prim.vjp, name=name):
            calls.append(name)
            return vjp(*args)
        monkeypatch.setattr(prim, "vjp", logged)


# --- values used more than once ---

def test_x_times_x_gets_both_shares(rng):
    data = rng.standard_normal(4)
    x = Tensor(data, requires_grad=True)
    (x * x * x).sum().backward()                  # d x^3 = 3 x^2, via two fan-outs of x
    np.testing.assert_allclose(x.grad, 3 * data ** 2, rtol=1e-14)


def test_weight_used_at_every_step_gets_the_sum_of_its_uses(rng):
    xs = rng.standard_normal((6, 3))
    w = Tensor(rng.standard_normal(3), requires_grad=True)
    total = None
    for x in xs:
        term = (w * x).sum()
        total = term if total is None else total + term
    total.backward()
    np.testing.assert_allclose(w.grad, xs.sum(axis=0), rtol=1e-13)   # d/dw sum_t <w, x_t>


def test_scalar_used_three_times_gets_all_three_shares():
    a = Tensor(2.0, requires_grad=True)
    (a * 1.0 + a * 2.0 + a * 3.0).backward()     # 0-d sums are numpy scalars, not arrays
    assert a.grad == 6.0
    b = Tensor(np.float32(2.0), requires_grad=True)
    (b * 1.0 + b * 2.0 + b * 3.0 + b * 4.0).backward()
    assert b.grad == 10.0 and b.grad.dtype == np.float32
    # .grad is a 0-d array, as torch's is a 0-d tensor: it can be written in place
    for leaf in (a, b):
        assert type(leaf.grad) is np.ndarray and leaf.grad.shape == ()
        leaf.grad[...] = 0
        assert leaf.grad == 0


@pytest.mark.parametrize("weight_shape", [(), (3,)], ids=["scalar weight", "vector weight"])
def test_recurrence_with_a_shared_weight_matches_finite_differences(weight_shape, rng):
    """h[t] = tanh(w * h[t-1] + x[t]): the weight and h[t] each feed two consumers."""
    xs, h0 = rng.standard_normal((5, 3)), rng.standard_normal(3)
    w0 = rng.standard_normal(weight_shape)

    def loss(w, h):
        total = Tensor(0.0)
        for x in xs:
            h = (w * h + x).tanh()
            total = total + (h * h).sum()
        return total

    w, h = Tensor(w0, requires_grad=True), Tensor(h0, requires_grad=True)
    loss(w, h).backward()
    expected_w, expected_h = finite_difference(lambda a, b: loss(Tensor(a), Tensor(b)).item(),
                                               [w0, h0])
    np.testing.assert_allclose(w.grad, expected_w, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(h.grad, expected_h, rtol=1e-6, atol=1e-9)


def test_each_vjp_runs_once_after_all_its_consumers(monkeypatch, rng):
    calls = []
    log_vjp_calls(monkeypatch, calls, "tanh", "mul")
    data = rng.standard_normal(3)
    x = Tensor(data, requires_grad=True)
    h = x.tanh()                              # h feeds three products, one of them twice
    loss = (h * 2.0).sum() + (h * h).sum() + (h * (h * 2.0)).sum()
    loss.backward()
    assert calls.count("tanh") == 1
    assert calls[-1] == "tanh", f"tanh's vjp ran before one of its consumers: {calls}"
    # loss = 2h + 3h^2, so d loss / dx = (2 + 6h)(1 - h^2)
    t = np.tanh(data)
    np.testing.assert_allclose(x.grad, (2 + 6 * t) * (1 - t ** 2), rtol=1e-13)


def test_a_node_waits_for_a_long_branch_and_a_short_one(monkeypatch):
    calls = []
    log_vjp_calls(monkeypatch, calls, "tanh")
    x = Tensor([0.3, -0.2], requires_grad=True)
    h = x.tanh()
    long = h
    for _ in range(50):
        long = long + 1.0
    (long.sum() + h.sum()).backward()          # d/dh = 1 + 1 along two paths of unequal depth
    assert calls == ["tanh"]
    np.testing.assert_allclose(x.grad, 2 * (1 - np.tanh([0.3, -0.2]) ** 2), rtol=1e-14)


# --- what backward leaves behind ---

def test_leaf_gradients_accumulate_across_separate_backward_calls(rng):
    data = rng.standard_normal(3)
    x = Tensor(data, requires_grad=True)
    (x * x).sum().backward()
    (3 * x).sum().backward()                  # a second, separate graph
    np.testing.assert_allclose(x.grad, 2 * data + 3, rtol=1e-14)
    x.zero_grad()
    assert x.grad is None


def test_a_backward_that_fails_midway_leaves_every_leaf_gradient_as_it_was():
    """Leaves' .grad are written once the walk has succeeded: an error partway through (here
    anomaly mode catching d sqrt(x)/dx = inf at x = 0) does not leave half a gradient."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    w.grad = np.array([5.0, 5.0])
    x = Tensor([0.0, 1.0], requires_grad=True)
    loss = x.sqrt().sum() + (w * 3).sum()     # the walk reaches w before sqrt fails
    with tg.detect_anomaly(), np.errstate(divide="ignore"), \
            pytest.raises(tg.NumericalError, match="sqrt"):
        loss.backward()
    np.testing.assert_array_equal(w.grad, [5.0, 5.0])
    assert x.grad is None


def test_seeded_backward_of_a_non_scalar():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(grad=np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])
    y = Tensor([1.0, 2.0], requires_grad=True)
    (y * 5).backward(Tensor([2.0, 3.0]))      # the seed may be a Tensor
    np.testing.assert_array_equal(y.grad, [10.0, 15.0])


def test_backward_from_a_scalar_leaf_seeds_one():
    x = Tensor(2.5, requires_grad=True)
    x.backward()
    assert x.grad == 1.0


def test_retain_grad_keeps_a_non_leaf_gradient(rng):
    data = rng.standard_normal(3)
    x = Tensor(data, requires_grad=True)
    h = (x * 3).retain_grad()
    other = h + 1                             # a non-leaf that did not ask
    loss = (other * other).sum()
    loss.retain_grad()
    loss.backward()
    np.testing.assert_allclose(h.grad, 2 * (3 * data + 1), rtol=1e-14)
    np.testing.assert_allclose(x.grad, 6 * (3 * data + 1), rtol=1e-14)
    assert other.grad is None
    assert loss.grad == 1.0


def test_constants_get_no_gradient():
    c = Tensor([1.0, 2.0])
    x = Tensor([3.0, 4.0], requires_grad=True)
    (c * x).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


def test_float32_leaves_keep_float32_gradients_when_mixed_with_float64():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    for _ in range(2):                        # x * float64 array is float64: g comes back float64
        (x * np.array([0.5, 0.25])).sum().backward()
        assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [1.0, 0.5])


def test_backward_twice_with_retain_graph_doubles_the_gradient():
    x = Tensor([1.0, -2.0], requires_grad=True)
    loss = (x.tanh() * x).sum()
    loss.backward(retain_graph=True)
    once = x.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * once, rtol=1e-15)


# --- no_grad, detach, cut ---

def test_no_grad_records_nothing():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (w * 2 + 1).tanh()
        with tg.enable_grad():
            recorded = w * 2
    assert tg.is_grad_enabled()
    np.testing.assert_allclose(y.data, np.tanh([3.0, 5.0]))
    assert not y.requires_grad and y.is_leaf and y.op is None and y.parents == ()
    assert recorded.op == "mul" and recorded.requires_grad
    after = w * 2
    assert after.op == "mul" and after.parents[0] is w


def test_detach_shares_data_and_is_a_leaf():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    d = h.detach()
    assert np.shares_memory(d.data, h.data)
    assert d.is_leaf and not d.requires_grad and d.parents == ()
    h.data[0] = 10.0                          # shared, not copied
    assert d.data[0] == 10.0
    loss = (x.detach() * x).sum()             # only the second factor carries gradient
    loss.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_cut_is_identity_forward_zero_gradient_and_stays_in_the_graph():
    x = Tensor([1.0, -2.0], requires_grad=True)
    c = x.cut()
    np.testing.assert_array_equal(c.data, x.data)
    assert c.op == "cut" and c.parents == (x,) and not c.is_leaf
    assert not c.requires_grad
    (c * x).sum().backward()                  # d/dx [cut(x) x] = cut(x) = x, not 2x
    np.testing.assert_array_equal(x.grad, [1.0, -2.0])
    assert tg.cut(x).op == "cut"              # the module-level spelling


def test_backward_walk_stops_at_a_cut(monkeypatch):
    calls = []
    log_vjp_calls(monkeypatch, calls, "tanh")
    w = Tensor([0.5, -1.5], requires_grad=True)
    past = w.tanh()
    loss = (past.cut() * w).sum()
    loss.backward()
    assert calls == []                        # the node behind the cut was never visited
    np.testing.assert_allclose(w.grad, np.tanh([0.5, -1.5]), rtol=1e-15)
    past.sum().backward()                     # and not consumed: its own graph still walks
    assert calls == ["tanh"]


def test_chain_of_100000_ops_backward_without_recursion():
    steps = 100_000
    x = Tensor(np.zeros(4), requires_grad=True)
    c = Tensor(np.full(4, 0.5), requires_grad=True)
    y = x
    for _ in range(steps):
        y = y + c
    y.sum().backward()
    np.testing.assert_array_equal(y.data, np.full(4, 0.5 * steps))
    np.testing.assert_array_equal(x.grad, np.ones(4))
    np.testing.assert_array_equal(c.grad, np.full(4, float(steps)))
