"""Nothing silently wrong, the Tensor: conversions to Python numbers of one element only (as
PyTorch), bool data kept as a mask that indexes as a boolean numpy array does, integer dtypes
refused, and every axis, shape, permutation and flag argument checked with the op named.
Each case asserts the error type and a phrase of its message, or the right value."""
import operator

import numpy as np
import pytest
from refusals import cases, refusal_cases, refuses

import tinygrad_rnn as tg
from tinygrad_rnn import DTypeError, NumericalError, SettingError, ShapeError, Tensor
from tinygrad_rnn.errors import TensorIndexError

# --- conversions: one element converts, as in PyTorch ---

CONVERTED = {
    "bool of 0.0 is False": (lambda: bool(Tensor([0.0])), False),
    "bool of a 0-d 3.0 is True": (lambda: bool(Tensor(3.0)), True),
    "bool of NaN is True (as Python's)": (lambda: bool(Tensor([[np.nan]])), True),
    "bool of a False mask": (lambda: bool(Tensor(np.array([False]))), False),
    "float of a (1, 1) tensor": (lambda: float(Tensor([[2.5]])), 2.5),
    "int truncates toward zero": (lambda: int(Tensor(-2.7)), -2),
    "item of a one-element tensor": (lambda: Tensor([4.5]).item(), 4.5),
    "__index__ of a whole number": (lambda: operator.index(Tensor(3.0)), 3),
    "a list indexed by a tensor": (lambda: [10, 20, 30][Tensor(1.0)], 20),
    "range of a tensor": (lambda: list(range(Tensor([3.0]))), [0, 1, 2]),
    "format spec of one element": (lambda: f"{Tensor(1.5):.2f}", "1.50"),
    "string format of two": (lambda: f"{Tensor([1.0, 2.0]):>20}", "    Tensor([1., 2.])"),
    "np.asarray gives the values": (lambda: np.asarray(Tensor([1.0, 2.0])).tolist(), [1.0, 2.0]),
    "np.array of 0-d tensors": (lambda: np.array([Tensor(1.0), Tensor(2.0)]).dtype.str, "<f8"),
    "Tensor of 0-d tensors": (lambda: Tensor([Tensor(1.0), Tensor(2.0)]).data.tolist(),
                              [1.0, 2.0]),
}


@pytest.mark.parametrize("call, expected", cases(CONVERTED))
def test_one_element_converts_to_a_python_number(call, expected):
    result = call()
    assert result == expected and type(result) is type(expected)


REFUSED_CONVERSIONS = {
    "bool of two elements": (ShapeError, lambda: bool(Tensor([1.0, 2.0])), "ambiguous", "(2,)"),
    "bool of none": (ShapeError, lambda: bool(Tensor([])), "ambiguous", "0 elements"),
    "if on a vector": (ShapeError, lambda: 1 if Tensor([0.0, 0.0]) else 0, "ambiguous"),
    "float of two": (ShapeError, lambda: float(Tensor([1.0, 2.0])), "one-element", "(2,)"),
    "float of none": (ShapeError, lambda: float(Tensor([])), "one-element", "(0,)"),
    "int of two": (ShapeError, lambda: int(Tensor([[1.0], [2.0]])), "one-element", "(2, 1)"),
    "item of two": (ShapeError, lambda: Tensor([1.0, 2.0]).item(), "item()", "(2,)"),
    "int of NaN": (NumericalError, lambda: int(Tensor(np.nan)), "nan", "no integer"),
    "int of Inf": (NumericalError, lambda: int(Tensor([np.inf])), "inf"),
    "index of 2.5": (DTypeError, lambda: operator.index(Tensor(2.5)), "2.5", "whole numbers"),
    "index of NaN": (DTypeError, lambda: [1, 2][Tensor(np.nan)], "nan"),
    "range of two": (ShapeError, lambda: range(Tensor([1.0, 2.0])), "__index__", "(2,)"),
    "index of 1e300": (TensorIndexError, lambda: [1][Tensor(1e300)], "1e+300", "largest"),
    "number format of two": (ShapeError, lambda: f"{Tensor([1.0, 2.0]):.2f}", "'.2f'", "(2,)",
                             "one-element"),
    "len of 0-d": (DTypeError, lambda: len(Tensor(3.0)), "0-d"),
    "iter of 0-d": (DTypeError, lambda: list(Tensor(3.0)), "0-d"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(REFUSED_CONVERSIONS))
def test_more_or_fewer_than_one_element_is_refused(error, call, phrases):
    refuses(error, call, *phrases)


# --- dtypes: floating data, or a bool mask (computed as float64); never integers cut ---

def test_bool_data_is_a_mask_that_cannot_require_grad():
    mask = Tensor([True, False, True])
    assert mask.dtype == np.bool_ and not mask.requires_grad
    refuses(DTypeError, lambda: Tensor([True, False], requires_grad=True), "only floating",
            "bool")
    assert Tensor([True, False], dtype=np.float32).data.tolist() == [1.0, 0.0]
    assert Tensor([0.0, 2.0], dtype=bool).data.tolist() == [False, True]


@pytest.mark.parametrize("dtype", ["int32", np.int64, np.uint8, int, "complex128", object, str,
                                   "bogus"], ids=str)
def test_a_non_floating_non_bool_dtype_is_refused(dtype):
    error = refuses(DTypeError, lambda: Tensor([1.5, 2.5], dtype=dtype), "dtype=")
    assert isinstance(error, TypeError)


NOT_NUMBERS_UNDER_A_DTYPE = {
    "None as float64": lambda: Tensor(None, dtype=np.float64),
    "a str as float32": lambda: Tensor("1.5", dtype="float32"),
    "strings as bool": lambda: Tensor(["1e3", "inf"], dtype=bool),
    "complex as float64": lambda: Tensor(np.array([1 + 5j]), dtype=np.float64),
    "mse target None": lambda: tg.mse_loss(Tensor(1.0), None),
    "mse target with a None": lambda: tg.mse_loss(Tensor([1.0, 2.0]), [1.0, None]),
    "float32 mse target a str": lambda: tg.mse_loss(Tensor([1.0], dtype=np.float32), ["1"]),
}


@pytest.mark.parametrize("call", cases({name: (call,) for name, call in
                                        NOT_NUMBERS_UNDER_A_DTYPE.items()}))
def test_an_explicit_dtype_does_not_make_none_nan_or_parse_strings(call):
    """np.array(None, dtype=float) is NaN and np.array('1.5', dtype=float) is 1.5: data is read
    as it is first, and refused as Tensor(None) is, whatever dtype it is asked in."""
    refuses(DTypeError, call, "numeric")


@pytest.mark.parametrize("dtype", [np.float32, "float16", np.float64])
def test_floating_dtypes_are_taken(dtype):
    assert Tensor([1.5], dtype=dtype).dtype == np.dtype(dtype)


@pytest.mark.parametrize("keyword, value, phrase", [
    ("requires_grad", "no", "requires_grad must be True or False"),
    ("requires_grad", 1, "requires_grad must be True or False"),
    ("name", 5, "name must be a str"),
])
def test_tensor_arguments_of_the_wrong_type_are_refused(keyword, value, phrase):
    refuses(DTypeError, lambda: Tensor([1.0], **{keyword: value}), phrase)


def test_a_bool_mask_meets_numbers_as_floats_and_refuses_negation():
    mask = Tensor(np.array([True, False]))
    assert (mask * 2.0).data.tolist() == [2.0, 0.0] and (mask * 2.0).dtype == np.float64
    assert (Tensor([3.0, 4.0]) * mask).data.tolist() == [3.0, 0.0]
    refuses(DTypeError, lambda: -mask, "neg", "bool")
    refuses(DTypeError, lambda: mask - mask, "sub", "bool")


MASK_RESULTS = {
    "sum counts in float64": (lambda m: m.sum(), np.float64, 2.0),
    "exp in float64": (lambda m: m.exp().sum(), np.float64, 2 * np.e + 1),
    "sin in float64": (lambda m: m.sin().sum(), np.float64, 2 * np.sin(1.0)),
    "relu in float64": (lambda m: m.relu().sum(), np.float64, 2.0),
    "mean": (lambda m: m.mean(), np.float64, 2 / 3),
    "mask + mask stays logical (as PyTorch)": (lambda m: (m + m).sum(), np.float64, 2.0),
    "mask ** mask in float64, by the operator as by apply":
        (lambda m: (m ** m).sum(), np.float64, 3.0),
}


@pytest.mark.parametrize("call, dtype, value", cases(MASK_RESULTS))
def test_ops_on_a_bool_mask_compute_in_float64(call, dtype, value):
    result = call(Tensor([True, True, False]))
    assert result.dtype == dtype and float(result) == value


MASK_PRODUCTS = {
    "m @ m": lambda m: m @ m,
    "mask @ array of bools": lambda m: m @ np.array([True, True]),
    "apply matmul": lambda m: tg.apply("matmul", m, m),
    "linear of masks": lambda m: tg.linear(m, Tensor([[True, False], [True, True]])),
    "linear with a mask bias": lambda m: tg.linear(m, Tensor([[True, True]]), m[:1]),
    "lstm_cell of masks": lambda m: tg.apply("lstm_cell", Tensor([True] * 4), m[:1]),
}


@pytest.mark.parametrize("call", cases({name: (call,) for name, call in MASK_PRODUCTS.items()}))
def test_a_product_of_masks_is_refused_not_logical(call):
    """numpy's matmul of bool masks is an OR of ANDs: [True, True] @ [True, True] was True,
    where the numbers give 2; torch refuses a bool matmul."""
    refuses(DTypeError, lambda: call(Tensor([True, True])), "bool", "mask * 1.0")


def test_a_mask_times_numbers_in_a_product_is_numbers():
    m = Tensor([True, True])
    assert float((m * 1.0) @ (m * 1.0)) == 2.0 and float(m @ Tensor([1.0, 2.0])) == 3.0


def test_an_argmax_keeps_its_integers():
    picks = Tensor([[1.0, 5.0, 2.0]]).argmax(axis=1)
    assert picks.dtype == np.int64 and picks.reshape(1).dtype == np.int64


# --- indexing: a bool Tensor is a mask, as a boolean numpy array is; index lists checked ---

@pytest.mark.parametrize("shape, mask", [((4,), [True, False, False, True]),
                                         ((3, 2), [False, True, True]),
                                         ((2, 2), [[True, False], [False, True]])], ids=str)
def test_a_bool_tensor_index_is_a_mask_and_its_gradient_lands_on_the_picks(shape, mask):
    data = np.arange(np.prod(shape), dtype=float).reshape(shape) + 1
    x = Tensor(data, requires_grad=True)
    picked = x[Tensor(mask)]
    np.testing.assert_array_equal(picked.data, data[np.array(mask)])
    picked.sum().backward()
    expected = np.zeros(shape)
    expected[np.array(mask)] = 1.0
    np.testing.assert_array_equal(x.grad, expected)


INDEX_CASES = {
    "whole-number float tensor": (lambda x: x[Tensor([2.0, 0.0])], [3.0, 1.0]),
    "empty list picks nothing": (lambda x: x[[]], []),
    "list of bools is a mask": (lambda x: x[[True, False, True]], [1.0, 3.0]),
    "numpy integer": (lambda x: x[np.int64(1)], 2.0),
}


@pytest.mark.parametrize("index, expected", cases(INDEX_CASES))
def test_indices_that_work(index, expected):
    assert index(Tensor([1.0, 2.0, 3.0])).data.tolist() == expected


@pytest.mark.parametrize("index", [Tensor([0.5]), Tensor([np.nan]), Tensor([np.inf])], ids=str)
def test_a_float_tensor_index_must_hold_whole_numbers(index):
    refuses(TensorIndexError, lambda: Tensor([1.0, 2.0])[index], "whole numbers")


def test_index_lists_are_checked_and_may_hold_tensors():
    x = Tensor([1.0, 2.0, 3.0])
    assert x[[Tensor(2.0), Tensor(0.0)]].data.tolist() == [3.0, 1.0]
    refuses(TensorIndexError, lambda: Tensor(np.ones((2, 2)))[[[0, 1], [0]]], "getitem",
            "rectangular")
    refuses(TensorIndexError, lambda: x[[Tensor(0.5)]], "whole numbers")


# --- axes, keepdims, shapes, permutations, reductions: checked, the op and value named ---

AXIS_OPS = {"sum": lambda x, a: x.sum(axis=a), "mean": lambda x, a: x.mean(axis=a),
            "max": lambda x, a: x.max(axis=a), "logsumexp": lambda x, a: x.logsumexp(axis=a),
            "softmax": lambda x, a: x.softmax(axis=a),
            "log_softmax": lambda x, a: x.log_softmax(axis=a),
            "stack": lambda x, a: tg.stack([x, x], axis=a),
            "concatenate": lambda x, a: tg.concatenate([x, x], axis=a)}


@pytest.mark.parametrize("op", AXIS_OPS)
@pytest.mark.parametrize("axis", [1.0, "a", True, np.array([0]), 0.5], ids=repr)
def test_an_axis_that_is_not_an_int_names_the_op_and_the_value(op, axis):
    refuses(DTypeError, lambda: AXIS_OPS[op](Tensor(np.ones((2, 3))), axis), op, repr(axis))


@pytest.mark.parametrize("op", ["sum", "mean", "max", "logsumexp", "softmax", "log_softmax"])
def test_a_numpy_integer_axis_is_an_int(op):
    x = np.arange(6.0).reshape(2, 3)
    assert np.allclose(AXIS_OPS[op](Tensor(x), np.int64(1)).data, AXIS_OPS[op](Tensor(x), 1).data)


SHAPE_ARGUMENTS = {
    "a repeated axis": (ShapeError, lambda x: x.sum(axis=(0, 0)), "sum", "twice"),
    "a tuple axis to softmax": (DTypeError, lambda x: x.softmax(axis=(0,)), "softmax", "(0,)"),
    "a None axis to log_softmax": (DTypeError, lambda x: x.log_softmax(axis=None), "log_softmax"),
    "keepdims a str": (DTypeError, lambda x: x.mean(keepdims="yes"), "mean", "keepdims", "'yes'"),
    "keepdims None": (DTypeError, lambda x: x.max(axis=0, keepdims=None), "keepdims"),
    "reshape to a str": (DTypeError, lambda x: x.reshape("a"), "reshape", "'a'"),
    "reshape to a float": (DTypeError, lambda x: x.reshape(6.0), "reshape", "6.0"),
    "reshape to None": (DTypeError, lambda x: x.reshape(None), "reshape", "None"),
    "reshape to True": (DTypeError, lambda x: x.reshape(True, 6), "reshape"),
    "transpose with a str": (DTypeError, lambda x: x.transpose("a"), "transpose", "'a'"),
    "transpose out of range": (ShapeError, lambda x: x.transpose(0, 5), "transpose", "axis 5",
                               "(2, 3)"),
    "permutation out of range": (ShapeError, lambda x: x.permute(0, 5), "transpose", "(0, 5)",
                                 "permutation"),
    "permutation of too few axes": (ShapeError, lambda x: x.permute(1), "permutation"),
    "permutation of no axes": (ShapeError, lambda x: x.permute(), "permute", "permutation"),
    "transpose with too few axes": (ShapeError, lambda x: x.transpose(1), "permutation"),
    "transpose with float axes": (DTypeError, lambda x: x.transpose(0.0, 1.0), "transpose"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(SHAPE_ARGUMENTS))
def test_shape_arguments_are_checked(error, call, phrases):
    refuses(error, lambda: call(Tensor(np.ones((2, 3)))), *phrases)


def test_shape_arguments_that_work():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.reshape(np.int64(3), 2).shape == (3, 2) and x.reshape([6]).shape == (6,)
    assert x.transpose(-1, 0).shape == (3, 2) and x.transpose().shape == (3, 2)
    # two axes are swapped, as torch's transpose(dim0, dim1): a matrix's (0, 1) is its transpose
    square = Tensor([[1.0, 2.0], [3.0, 4.0]])
    for swapped in (square.transpose(0, 1), square.transpose(1, 0), square.transpose(-1, -2)):
        np.testing.assert_array_equal(swapped.data, [[1.0, 3.0], [2.0, 4.0]])
    np.testing.assert_array_equal(square.transpose(0, 0).data, square.data)
    np.testing.assert_array_equal(square.permute(0, 1).data, square.data)    # a permutation
    np.testing.assert_array_equal(square.transpose((0, 1)).data, square.data)
    cube = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert cube.transpose(0, 2).shape == (4, 3, 2) and cube.permute(2, 0, 1).shape == (4, 2, 3)
    assert cube.permute([1, 0, 2]).shape == cube.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.sum(axis=[]).shape == (2, 3)          # no axis reduced, as in numpy


ARGUMENT_REFUSALS = {
    "argmax keepdims a str": (DTypeError, lambda: Tensor([1.0, 2.0]).argmax(0, keepdims="yes"),
                              "argmax", "keepdims"),
    "norm keepdims a str": (DTypeError, lambda: Tensor([3.0, 4.0]).norm(keepdims="yes"), "norm",
                            "keepdims"),
    "norm keepdims None": (DTypeError, lambda: Tensor([3.0, 4.0]).norm(keepdims=None), "norm"),
    "norm of p True": (SettingError, lambda: Tensor([3.0, 4.0]).norm(p=True), "norm", "True"),
    "norm of p an array": (SettingError, lambda: Tensor([3.0]).norm(p=np.array([2])), "norm"),
    "clamp to np.True_": (SettingError, lambda: Tensor([1.0]).clamp(min=np.True_), "clamp"),
    "reshape to -2": (ShapeError, lambda: Tensor(np.ones(4)).reshape(-2), "reshape", "-1"),
    "view to (-3, 4)": (ShapeError, lambda: Tensor(np.ones(4)).view(-3, 4), "reshape"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(ARGUMENT_REFUSALS))
def test_reduction_and_shape_arguments_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


def test_numpy_numbers_work_where_python_numbers_do():
    x = Tensor([3.0, -4.0])
    assert float(x.norm(p=np.int64(3))) == pytest.approx((27 + 64) ** (1 / 3))
    assert float(x.norm(p=np.float32(1.0))) == 7.0
    x32 = Tensor([-1.0, 2.0], dtype=np.float32)
    assert x32.clamp(min=np.int64(0)).dtype == np.float32          # stays float32
    assert x32.clamp(max=np.float64(1.0)).data.tolist() == [-1.0, 1.0]
    assert Tensor(1.0).squeeze(0).shape == () and Tensor(1.0).squeeze(-1).shape == ()
    assert abs(Tensor([-1.0, 2.0])).data.tolist() == [1.0, 2.0] and +x is x


# --- creation functions: arguments checked as Tensor(...) checks them ---

CREATION_REFUSALS = {
    "dtype not a dtype": (DTypeError, lambda: tg.zeros(2, dtype="bogus"), "zeros", "'bogus'"),
    "dtype a number": (DTypeError, lambda: tg.ones(2, dtype=5), "ones", "dtype=5"),
    "arange dtype not a dtype": (DTypeError, lambda: tg.arange(3, dtype="x"), "arange"),
    "requires_grad a str": (DTypeError, lambda: tg.ones(3, requires_grad="yes"), "ones",
                            "requires_grad must be True or False"),
    "requires_grad 1": (DTypeError, lambda: tg.randn(2, requires_grad=1), "randn"),
    "name a number": (DTypeError, lambda: tg.zeros(3, name=5), "zeros", "name must be a str"),
    "generator a str": (SettingError, lambda: tg.randn(2, generator="abc"), "randn",
                        "generator must be a numpy Generator"),
    "generator an int": (SettingError, lambda: tg.rand(2, generator=5), "rand", "generator"),
    "too big to make": (ShapeError, lambda: tg.zeros(2 ** 62, 2 ** 62), "zeros", "too large"),
    "arange too big": (ShapeError, lambda: tg.arange(0, 1e30, 1e-30), "arange", "too large"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(CREATION_REFUSALS))
def test_creation_arguments_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


def test_an_allocation_that_does_not_fit_is_an_out_of_memory_error(monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 72.8 TiB")
    monkeypatch.setattr(np, "zeros", no_memory)
    error = refuses(tg.OutOfMemoryError, lambda: tg.zeros(10 ** 13), "zeros", "72.8 TiB")
    assert isinstance(error, MemoryError)


def test_likes_keep_a_dtype_given_as_a_numpy_dtype():
    assert tg.zeros_like(Tensor([1.0, 2.0]), dtype=np.dtype(np.float32)).dtype == np.float32
    assert tg.ones_like(np.zeros(2), dtype=np.dtype("float32")).dtype == np.float32
    assert tg.randn(2, generator=np.random.RandomState(0)).shape == (2,)
