"""The public Tensor API: dtype rules, attributes, and every op's value (against numpy written
out in the test) and gradient (against finite differences, or derived by hand in a comment)."""
import numpy as np
import pytest
from engine_oracles import check_op, distinct

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# --- dtype rules ---

@pytest.mark.parametrize("data", [3, [1, 2], np.arange(3, dtype=np.int32),
                                  np.array([1, 2], dtype=np.uint8), 2.5, np.float64(1.5)])
def test_integers_and_python_floats_become_float64(data):
    t = Tensor(data)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


@pytest.mark.parametrize("data", [True, [[True, False]], np.array([False, True])])
def test_booleans_stay_a_bool_mask(data):
    t = Tensor(data)
    assert t.dtype == np.bool_
    np.testing.assert_array_equal(t.data, np.asarray(data))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_floating_dtypes_are_kept(dtype):
    assert Tensor(np.ones(2, dtype=dtype)).dtype == dtype
    assert Tensor([1, 2], dtype=dtype).dtype == dtype


@pytest.mark.parametrize("expression", [
    lambda x: x * 2.0, lambda x: 2.0 * x, lambda x: x + 1, lambda x: 1 - x, lambda x: x / 3,
    lambda x: 3 / x, lambda x: x ** 2, lambda x: x * np.float64(0.5), lambda x: -x,
    lambda x: x.exp(), lambda x: x.sum(), lambda x: x @ x, lambda x: x * x.tanh(),
], ids=["x*2.0", "2.0*x", "x+1", "1-x", "x/3", "3/x", "x**2", "x*np.float64", "-x", "exp", "sum",
        "x@x", "x*tanh(x)"])
def test_float32_stays_float32_with_python_numbers(expression):
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    out = expression(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("data", ["abc", ["a", "b"], None, {"a": 1}, object(), [[1, 2], [3]], 1j,
                                  np.array(["x"]), np.array([1, 2], dtype=object)])
def test_non_numeric_data_is_a_dtype_error(data):
    with pytest.raises(tg.DTypeError) as raised:
        Tensor(data)
    assert isinstance(raised.value, TypeError)
    assert "Tensor" in str(raised.value)


# --- attributes ---

def test_attributes_item_numpy_and_repr():
    w = Tensor([[1.0, 2.0, 3.0]], requires_grad=True, name="w")
    assert w.shape == (1, 3) and w.ndim == 2 and w.size == 3 and w.dtype == np.float64
    assert w.name == "w" and w.requires_grad and w.grad is None and len(w) == 1
    assert np.shares_memory(w.numpy(), w.data)
    assert Tensor([[4.0]]).item() == 4.0 and isinstance(Tensor(4.0).item(), float)
    text = repr(w * 2)
    assert text.startswith("Tensor(") and "op='mul'" in text and "requires_grad=True" in text
    assert "name='w'" in repr(w) and "2." in repr(w)
    assert "float32" in repr(Tensor(np.ones(1, dtype=np.float32)))
    rows = list(Tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.data.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]


def test_data_is_writable_in_place():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.data -= 0.5                             # an optimizer step
    np.testing.assert_array_equal((x * 2).data, [1.0, 3.0])


# --- arithmetic with numbers and arrays on either side ---

ARRAY = np.array([0.75, 1.5, 1.25])           # broadcasts against x of shape (2, 3)
# Each expression runs on a Tensor and, as the reference, on the plain numpy array.
ARITHMETIC = {
    "x + 2": lambda x: x + 2, "2 + x": lambda x: 2 + x, "x + a": lambda x: x + ARRAY,
    "a + x": lambda x: ARRAY + x, "x - 2.5": lambda x: x - 2.5, "2.5 - x": lambda x: 2.5 - x,
    "x - a": lambda x: x - ARRAY, "a - x": lambda x: ARRAY - x, "x * 3": lambda x: x * 3,
    "3 * x": lambda x: 3 * x, "x * a": lambda x: x * ARRAY, "a * x": lambda x: ARRAY * x,
    "x / 4": lambda x: x / 4, "4 / x": lambda x: 4 / x, "x / a": lambda x: x / ARRAY,
    "a / x": lambda x: ARRAY / x, "x ** 2": lambda x: x ** 2, "x ** 0.5": lambda x: x ** 0.5,
    "x ** -1": lambda x: x ** -1, "2 ** x": lambda x: 2 ** x, "x ** a": lambda x: x ** ARRAY,
    "a ** x": lambda x: ARRAY ** x, "x ** x": lambda x: x ** x, "-x": lambda x: -x,
}


@pytest.mark.parametrize("name", ARITHMETIC)
def test_arithmetic_with_numbers_and_arrays(name, rng):
    expression = ARITHMETIC[name]
    out = check_op(expression, expression, [rng.uniform(0.5, 2.0, (2, 3))], rng)
    assert isinstance(out, Tensor)


def test_integer_powers_of_negative_bases():
    x = Tensor([-2.0, -0.5, 3.0], requires_grad=True)
    (x ** 3).sum().backward()                 # d x^3 = 3 x^2, sign of the base irrelevant
    np.testing.assert_allclose(x.grad, [12.0, 0.75, 27.0], rtol=1e-15)


def test_tensor_tensor_arithmetic_broadcasts(rng):
    a, b = rng.uniform(0.5, 2, (2, 1, 3)), rng.uniform(0.5, 2, (4, 1))

    def expression(a, b):                     # numpy is the reference
        return (a + b) * a / b - b ** a

    check_op(expression, expression, [a, b], rng)


# --- matmul ---

@pytest.mark.parametrize("shapes", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((2, 1, 2, 3), (5, 3, 4)), ((5, 2, 3), (3,)), ((3,), (5, 3, 4)),
], ids=str)
def test_matmul(shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    check_op(lambda a, b: a @ b, np.matmul, arrays, rng)


def test_matmul_with_a_numpy_array_on_either_side(rng):
    m = rng.standard_normal((3, 2))
    check_op(lambda x: x @ m, lambda x: x @ m, [rng.standard_normal((4, 3))], rng)
    check_op(lambda x: m.T @ x, lambda x: m.T @ x, [rng.standard_normal((3, 4))], rng)


# --- elementwise functions ---

FUNCTIONS = {    # numpy's own formula, and the domain where the function is smooth
    "exp": (np.exp, "any"), "log": (np.log, "positive"), "tanh": (np.tanh, "any"),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), "any"),
    "relu": (lambda x: np.where(x > 0, x, 0.0), "away"),
    "sqrt": (np.sqrt, "positive"), "abs": (np.abs, "away"),
    "softplus": (lambda x: np.log1p(np.exp(x)), "any"),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_elementwise_functions(name, rng):
    reference, domain = FUNCTIONS[name]
    x = {"any": rng.uniform(-3, 3, (3, 4)), "positive": rng.uniform(0.5, 3, (3, 4)),
         "away": rng.uniform(0.2, 3, (3, 4)) * rng.choice([-1, 1], (3, 4))}[domain]
    check_op(lambda t: getattr(t, name)(), reference, [x], rng)


def test_sigmoid_does_not_overflow():
    x = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.sum().backward()                        # sigma' = sigma (1 - sigma)
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])


# --- reductions ---

AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (1,)]


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(op, axis, keepdims, rng):
    x = distinct(rng, (2, 3, 4))
    reference = {"sum": np.sum, "mean": np.mean, "max": np.max}[op]
    check_op(lambda t: getattr(t, op)(axis=axis, keepdims=keepdims),
             lambda a: reference(a, axis=axis, keepdims=keepdims), [x], rng)


def test_max_ties_share_the_gradient_evenly():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [0.5, 0, 0.5]])
    x.zero_grad()
    x.max().backward()                        # 3 appears twice overall
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [0, 0, 0]])


def test_mean_gradient_by_hand():
    x = Tensor(np.ones((2, 4)), requires_grad=True)
    x.mean(axis=1).sum().backward()           # each element counts 1/4 in its row's mean
    np.testing.assert_array_equal(x.grad, np.full((2, 4), 0.25))


# --- shape ops ---

RESHAPES = [lambda x: x.reshape(-1), lambda x: x.reshape(4, -1), lambda x: x.reshape((6, 4)),
            lambda x: x.reshape([2, -1, 3]), lambda x: x.reshape(24), lambda x: x.reshape(1, 24, 1)]


@pytest.mark.parametrize("index", range(len(RESHAPES)))
def test_reshape_with_minus_one_tuple_list_or_varargs(index, rng):
    """numpy's ndarray.reshape takes the same spellings: it is the reference, shape included."""
    api = RESHAPES[index]
    check_op(api, api, [rng.standard_normal((2, 3, 4))], rng)


TRANSPOSES = {
    "T 2-d": ((3, 4), lambda x: x.T, lambda a: a.T),
    "T 3-d": ((2, 3, 4), lambda x: x.T, lambda a: a.transpose(2, 1, 0)),
    "transpose()": ((2, 3, 4), lambda x: x.transpose(), lambda a: a.transpose()),
    "varargs": ((2, 3, 4), lambda x: x.transpose(1, 0, 2), lambda a: a.transpose(1, 0, 2)),
    "tuple": ((2, 3, 4), lambda x: x.transpose((2, 0, 1)), lambda a: a.transpose(2, 0, 1)),
    "list": ((2, 3, 4), lambda x: x.transpose([0, 2, 1]), lambda a: a.transpose(0, 2, 1)),
    "negative": ((2, 3, 4), lambda x: x.transpose(-1, 0, 1), lambda a: a.transpose(2, 0, 1)),
    "1-d": ((3,), lambda x: x.T, lambda a: a),
}


@pytest.mark.parametrize("name", TRANSPOSES)
def test_transpose(name, rng):
    shape, api, reference = TRANSPOSES[name]
    check_op(api, reference, [rng.standard_normal(shape)], rng)


MASK = np.array([True, False, True, True])
INDICES = {
    "int": lambda x: x[1], "negative int": lambda x: x[-1], "slice": lambda x: x[1:3],
    "step": lambda x: x[::2], "reversed": lambda x: x[::-1], "column": lambda x: x[:, 1],
    "ellipsis": lambda x: x[..., 0], "newaxis": lambda x: x[None], "element": lambda x: x[1, 2],
    "repeated list": lambda x: x[[0, 0, 2]], "repeated array": lambda x: x[np.array([3, 3, 3, 0])],
    "2-d array": lambda x: x[np.array([[0, 1], [1, 1]])],
    "pairs": lambda x: x[[0, 0, 1], [2, 2, 0]], "slice and list": lambda x: x[1:, [0, 0]],
    "row mask": lambda x: x[MASK], "element mask": lambda x: x[x.data > 0],
    "Tensor": lambda x: x[Tensor([0, 0, 3])],
    "Tensor pair": lambda x: x[Tensor([1, 1]), Tensor([2, 2])],
}


@pytest.mark.parametrize("name", INDICES)
def test_indexing(name, rng):
    api = INDICES[name]
    plain = {"Tensor": lambda a: a[[0, 0, 3]], "Tensor pair": lambda a: a[[1, 1], [2, 2]],
             "element mask": lambda a: a[a > 0]}.get(name, lambda a: api(_NumpyView(a)))
    check_op(api, plain, [rng.standard_normal((4, 3))], rng)


class _NumpyView:
    """Lets the same indexing lambda run on a plain array, as numpy's own reference."""

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return self.array[index]


def test_repeated_indices_accumulate_by_hand():
    x = Tensor(np.zeros((3, 2)), requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()          # row 0 picked three times, row 2 once
    np.testing.assert_array_equal(x.grad, [[3, 3], [0, 0], [1, 1]])
    y = Tensor(np.zeros((2, 2)), requires_grad=True)
    y[[1, 1], [0, 0]].sum().backward()        # the same element twice
    np.testing.assert_array_equal(y.grad, [[0, 0], [2, 0]])


# --- functions of several tensors ---

@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_stack(axis, rng):
    arrays = [rng.standard_normal((2, 3)) for _ in range(3)]
    check_op(lambda *xs: tg.stack(list(xs), axis=axis), lambda *xs: np.stack(xs, axis=axis),
             arrays, rng)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate(axis, rng):
    arrays = [rng.standard_normal((2, 2)), rng.standard_normal((2, 2))]
    arrays.append(rng.standard_normal((1, 2) if axis == 0 else (2, 3)))
    check_op(lambda *xs: tg.concatenate(list(xs), axis=axis),
             lambda *xs: np.concatenate(xs, axis=axis), arrays, rng)


def test_where_broadcasts_and_takes_numbers(rng):
    condition = np.array([[True], [False]])      # (2, 1) against (3,) and (2, 3)
    a, b = rng.standard_normal(3), rng.standard_normal((2, 3))
    check_op(lambda a, b: tg.where(condition, a, b), lambda a, b: np.where(condition, a, b),
             [a, b], rng)
    check_op(lambda a: tg.where(a.data > 0, a, 0.0), lambda a: np.where(a > 0, a, 0.0), [b], rng)


def test_maximum(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3) + 0.05
    check_op(tg.maximum, np.maximum, [a, b], rng)
    check_op(lambda a: tg.maximum(a, 0.5), lambda a: np.maximum(a, 0.5), [a], rng)


def test_maximum_ties_split_the_gradient():
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 3.0], requires_grad=True)
    tg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0])
