"""Oracles the engine tests share: central finite differences in float64, written here from
scratch (the engine's own gradcheck is tested, not trusted), and value draws that keep each
op inside the region where it is smooth (positive for log and sqrt, away from the kinks of
relu, abs and max)."""
import numpy as np

from tinygrad_rnn import Tensor

EPS = 1e-6


def finite_difference(f, arrays, eps=EPS):
    """Gradients of the scalar f(*arrays) with respect to each array, one element at a time:
    (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    grads = []
    for a in arrays:
        grad = np.zeros(a.shape)
        for j in np.ndindex(a.shape):
            original = a[j]
            a[j] = original + eps
            plus = f(*arrays)
            a[j] = original - eps
            minus = f(*arrays)
            a[j] = original
            grad[j] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def directional_derivative(f, arrays, i, direction, eps=EPS):
    """(f(.., x_i + eps d, ..) - f(.., x_i - eps d, ..)) / (2 eps) for an array-valued f."""
    plus = list(arrays)
    minus = list(arrays)
    plus[i] = arrays[i] + eps * direction
    minus[i] = arrays[i] - eps * direction
    return (f(*plus) - f(*minus)) / (2 * eps)


def weighted_sum(api, weights):
    """The scalar arrays -> sum(api(*Tensors) * weights), computed on constant Tensors."""
    def f(*arrays):
        return float(np.sum(api(*[Tensor(a) for a in arrays]).data * weights))
    return f


def check_backward(api, arrays, rng, rtol=1e-5, atol=1e-7):
    """Build api(*leaves), backward a random weighted sum of its output, and compare every
    leaf's .grad with finite differences of the same weighted sum. Returns the output."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = api(*leaves)
    weights = rng.standard_normal(out.shape)
    (out * weights).sum().backward()
    expected = finite_difference(weighted_sum(api, weights), arrays)
    for i, (leaf, grad) in enumerate(zip(leaves, expected)):
        assert leaf.grad is not None, f"input {i} got no gradient"
        assert leaf.grad.shape == leaf.shape, f"input {i}: grad {leaf.grad.shape} vs {leaf.shape}"
        np.testing.assert_allclose(leaf.grad, grad, rtol=rtol, atol=atol, err_msg=f"input {i}")
    return out


def check_op(api, reference, arrays, rng):
    """api(*Tensors) has the shape and value of reference(*arrays) (numpy written out in the
    test), and its gradient equals finite differences (check_backward). Returns the output."""
    out = check_backward(api, arrays, rng)
    expected = np.asarray(reference(*arrays))
    assert out.shape == expected.shape, (out.shape, expected.shape)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    return out


# --- values inside each op's smooth domain ---

def normal(rng, shape):
    return np.asarray(rng.standard_normal(shape), dtype=np.float64)


def positive(rng, shape):
    """In [0.5, 2]: log, sqrt and a power's base stay far from 0."""
    return np.asarray(rng.uniform(0.5, 2.0, shape))


def away_from_zero(rng, shape):
    """|x| in [0.2, 2] with a random sign: relu, abs and a divisor keep off their kink or pole."""
    return np.asarray(rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape))


def distinct(rng, shape):
    """Values at least 0.3 apart, in random order: a max has a unique winner everywhere."""
    size = int(np.prod(shape, dtype=np.int64))
    spaced = rng.permutation(size) * 0.5 - size / 4 + rng.uniform(-0.1, 0.1, size)
    return spaced.reshape(shape)


def on_grid(rng, shape):
    """Integers plus a little jitter; off_grid sits half-way between: the two never tie."""
    return np.asarray(rng.integers(-3, 4, shape) + rng.uniform(-0.1, 0.1, shape), dtype=np.float64)


def off_grid(rng, shape):
    return on_grid(rng, shape) + 0.5
