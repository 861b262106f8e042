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
    "len of 0-d": (DTypeError, lambda: len(Tensor(3.0)), "0-d"),
    "iter of 0-d": (DTypeError, lambda: list(Tensor(3.0)), "0-d"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(REFUSED_CONVERSIONS))
def test_more_or_fewer_than_one_element_is_refused(error, call, phrases):
    refuses(error, call, *phrases)


# --- dtypes: floating data, or a bool mask; never integers computed with fractions cut ---

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


# --- indexing: a bool Tensor is a mask, as a boolean numpy array is ---

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


# --- axes, keepdims, shapes, permutations: checked, with the op and the value named ---

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
    "transpose out of range": (ShapeError, lambda x: x.transpose(0, 5), "transpose", "(0, 5)",
                               "permutation"),
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
    assert x.sum(axis=[]).shape == (2, 3)          # no axis reduced, as in numpy


# --- functional and losses ---

def test_where_refuses_a_condition_that_is_not_numbers_and_reads_numbers_as_numpy_does():
    refuses(DTypeError, lambda: tg.where("abc", Tensor([1.0]), Tensor([2.0])), "where", "<U3")
    assert tg.where([0.5, 0.0], Tensor([1.0, 1.0]), 0.0).data.tolist() == [1.0, 0.0]
    assert tg.where(Tensor([True, False]), Tensor([1.0, 1.0]), 0.0).data.tolist() == [1.0, 0.0]


LOSS_VALUES = {
    "mse of lists": (lambda: tg.mse_loss([1.0, 3.0], [1.0, 1.0]), 2.0),
    "cross-entropy of numpy logits": (lambda: tg.cross_entropy(np.zeros((2, 3)), [0, 1]),
                                      np.log(3)),
    "bce of lists": (lambda: tg.binary_cross_entropy_with_logits([0.0], [1.0]), np.log(2)),
}


@pytest.mark.parametrize("call, expected", cases(LOSS_VALUES))
def test_losses_take_arrays_and_lists(call, expected):
    assert float(call()) == pytest.approx(expected, rel=1e-12)


LOSS_REFUSALS = {
    "mse reduction None": (SettingError, lambda: tg.mse_loss(Tensor([1.0]), [1.0], reduction=None),
                           "mse_loss", "'mean', 'sum', 'none'", "None"),
    "cross-entropy reduction 'avg'": (SettingError, lambda: tg.cross_entropy(
        Tensor(np.zeros((1, 2))), [0], reduction="avg"), "cross_entropy", "'avg'"),
    "bce reduction 1": (SettingError, lambda: tg.binary_cross_entropy_with_logits(
        Tensor([0.0]), [1.0], 1), "binary_cross_entropy_with_logits", "reduction"),
    "mse of a bool prediction": (DTypeError, lambda: tg.mse_loss(Tensor([True]), [1.0]),
                                 "mse_loss", "floating"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(LOSS_REFUSALS))
def test_loss_arguments_are_checked_first(error, call, phrases):
    refuses(error, call, *phrases)
