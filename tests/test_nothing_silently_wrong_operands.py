"""Nothing silently wrong, the operands: what functions and losses take (where's condition,
targets, tensors to join), what is written into a tensor (in-place operators, item assignment:
numbers only, never a tensor that requires grad), ints beyond float64, masks combined and
compared, and apply's name, inputs and parameters. Each case asserts the error
type and a phrase of its message, or the right value."""
import numpy as np
import pytest
from refusals import cases, refusal_cases, refuses

import tinygrad_rnn as tg
from tinygrad_rnn import DTypeError, SettingError, ShapeError, Tensor
from tinygrad_rnn.errors import TensorIndexError

# --- functional and losses ---

def test_where_refuses_a_condition_that_is_not_numbers_and_reads_numbers_as_numpy_does():
    refuses(DTypeError, lambda: tg.where("abc", Tensor([1.0]), Tensor([2.0])), "where", "<U3")
    assert tg.where([0.5, 0.0], Tensor([1.0, 1.0]), 0.0).data.tolist() == [1.0, 0.0]
    assert tg.where(Tensor([True, False]), Tensor([1.0, 1.0]), 0.0).data.tolist() == [1.0, 0.0]


RAGGED_ARGUMENTS = {
    "where's condition": (lambda: tg.where([True, [False]], Tensor([1.0, 2.0]), 1.0), "where"),
    "cross_entropy's targets": (lambda: tg.cross_entropy(Tensor(np.zeros((2, 3))), [0, [1]]),
                                "cross_entropy"),
    "a sequence loss's mask": (lambda: tg.nn.sequence_loss(
        [Tensor(np.zeros((2, 1)))], [np.zeros((2, 1))], mask=[[True, [False]]]), "mask"),
}


@pytest.mark.parametrize("call, phrase", cases(RAGGED_ARGUMENTS))
def test_a_ragged_list_argument_is_a_shape_error(call, phrase):
    refuses(ShapeError, call, phrase, "rectangular")


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


FUNCTIONAL_REFUSALS = {
    "stack(None)": (DTypeError, lambda: tg.stack(None), "stack", "sequence of tensors"),
    "stack along a tuple of axes": (DTypeError, lambda: tg.stack([Tensor([[1.0]])] * 2,
                                                                 dim=(2, 1)), "stack", "one int",
                                    "(2, 1)"),
    "concatenate along a tuple": (DTypeError, lambda: tg.concatenate([Tensor([[1.0]])] * 2,
                                                                     axis=(1, 0)), "concatenate",
                                  "one int", "(1, 0)"),
    "stack along axis None": (DTypeError, lambda: tg.stack([Tensor([1.0])] * 2, axis=None),
                              "stack", "one int", "None"),
    "concatenate along dim None": (DTypeError, lambda: tg.concatenate([Tensor([1.0])] * 2,
                                                                      dim=None),
                                   "concatenate", "one int", "None"),
    "stack(5)": (DTypeError, lambda: tg.stack(5), "stack", "int"),
    "concatenate('ab')": (DTypeError, lambda: tg.concatenate("ab"), "concatenate", "str"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(FUNCTIONAL_REFUSALS))
def test_functions_of_several_tensors_take_a_sequence(error, call, phrases):
    refuses(error, call, *phrases)


def test_cut_takes_numbers_and_arrays_as_constants():
    assert float(tg.cut(5.0)) == 5.0 and tg.cut(np.ones(2)).op is None
    assert tg.stack(Tensor([float(i)]) for i in range(3)).shape == (3, 1)


# --- in-place operators: numpy's refusals as the project's errors ---

IN_PLACE_REFUSALS = {
    "x += 'a'": (DTypeError, lambda x: x.__iadd__("a"), "in-place add", "'a'"),
    "x += complex": (DTypeError, lambda x: x.__iadd__(1j), "in-place add", "dtype"),
    "x += a wrong shape": (ShapeError, lambda x: x.__iadd__(np.ones(5)), "(5,)", "(2,)"),
    "x[5] = v": (TensorIndexError, lambda x: x.__setitem__(5, 1.0), "(2,)"),
    "x[0] = 'a'": (DTypeError, lambda x: x.__setitem__(0, "a"), "x[...] =", "'a'"),
    "mask += 1.0": (DTypeError, lambda x: Tensor([True]).__iadd__(1.0), "bool"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(IN_PLACE_REFUSALS))
def test_in_place_updates_numpy_refuses_are_named(error, call, phrases):
    refuses(error, lambda: call(Tensor([1.0, 2.0])), *phrases)


def test_item_assignment_writes_in_place_as_in_pytorch():
    x = Tensor([1.0, 2.0, 3.0])
    x[Tensor([True, False, True])] = 0.0
    x[1] = Tensor(5.0)
    assert x.data.tolist() == [0.0, 5.0, 0.0]
    refuses(tg.BackwardError, lambda: Tensor([1.0], requires_grad=True).__setitem__(0, 2.0),
            "no_grad")


def test_a_tensor_inside_a_list_written_in_place_is_refused_as_one_written_alone():
    """x[0:1] = [w[0] * 2] once dropped w's gradient silently, where x[0] = w[0] * 2 is refused;
    under no_grad the values are written, on purpose."""
    w = Tensor([3.0], requires_grad=True)
    x = Tensor([0.0, 0.0])
    refuses(tg.BackwardError, lambda: x.__setitem__(slice(0, 1), [w[0] * 2]), "gradient")
    refuses(tg.BackwardError, lambda: x.__setitem__(slice(None), ([1.0], [w[0]])), "gradient")
    refuses(tg.BackwardError, lambda: x.__iadd__([w[0], 1.0]), "gradient")
    assert x.data.tolist() == [0.0, 0.0]
    with tg.no_grad():
        x[0:1] = [w[0] * 2]
    assert x.data.tolist() == [6.0, 0.0]


WRITTEN_NOT_NUMBERS = {
    "complex array": lambda x: x.__setitem__(slice(None), np.array([1 + 5j, 2j])),
    "complex list": lambda x: x.__setitem__(slice(None), [1 + 5j, 2.0]),
    "strings": lambda x: x.__setitem__(slice(None), ["1e3", "inf"]),
    "a None inside a list": lambda x: x.__setitem__(slice(None), [1.0, None]),
}


@pytest.mark.parametrize("call", cases({name: (call,) for name, call in
                                        WRITTEN_NOT_NUMBERS.items()}))
def test_item_assignment_takes_numbers_only(call):
    """numpy would drop the imaginary part, parse strings and store None as NaN; x[0] = 1j and
    x += 'a' were refused already."""
    x = Tensor([1.0, 2.0])
    refuses(DTypeError, lambda: call(x), "x[...] =", "numbers only")
    assert x.data.tolist() == [1.0, 2.0]
    x[:] = [3, np.float32(4.0)]
    assert x.data.tolist() == [3.0, 4.0]


def test_none_written_into_a_tensor_is_refused_not_stored_as_nan():
    x = Tensor([1.0, 2.0])
    refuses(DTypeError, lambda: x.__setitem__(0, None), "None", "nan")
    assert x.data.tolist() == [1.0, 2.0]


HUGE = 2 ** 2000        # beyond float64 (about 1.8e308): numpy raised a bare OverflowError
HUGE_INT_REFUSALS = {
    "x * n": lambda x: x * HUGE, "n + x": lambda x: HUGE + x, "x ** n": lambda x: x ** HUGE,
    "where": lambda x: tg.where(x > 1, x, HUGE), "maximum": lambda x: tg.maximum(x, HUGE),
    "x == n": lambda x: x == HUGE, "x[0] = n": lambda x: x.__setitem__(0, HUGE),
    "x[0] = 2**20000": lambda x: x.__setitem__(0, 2 ** 20000),
    "x += n": lambda x: x.__iadd__(HUGE), "clamp": lambda x: x.clamp(max=HUGE),
    "Tensor(n)": lambda x: Tensor([1, HUGE]), "mask * n": lambda x: (x > 1) * HUGE,
}


@pytest.mark.parametrize("call", cases({name: (call,) for name, call in
                                        HUGE_INT_REFUSALS.items()}))
def test_an_int_beyond_float64_is_a_dtype_error(call):
    x = Tensor([1.0, 2.0])
    refuses(DTypeError, lambda: call(x), "beyond the range")
    assert x.data.tolist() == [1.0, 2.0]


def test_an_int_beyond_int64_within_float64_is_a_number():
    x = Tensor([1.0, 2.0])
    assert (x * 2 ** 70).data.tolist() == [2.0 ** 70, 2.0 ** 71]
    assert Tensor([1, 2 ** 70]).data.tolist() == [1.0, 2.0 ** 70]
    assert Tensor([2 ** 70, 1.5]).data.tolist() == [2.0 ** 70, 1.5]    # numpy: dtype object
    assert Tensor([[2 ** 70], [np.float32(0.5)]]).data.tolist() == [[2.0 ** 70], [0.5]]
    refuses(DTypeError, lambda: Tensor([2 ** 2000, 1.5]), "2001 bits", "beyond the range")
    assert x.clamp(max=2 ** 70).data.tolist() == [1.0, 2.0]
    with pytest.warns(RuntimeWarning):          # float32 takes it as inf, as it takes 1e300
        assert (Tensor([1.0], dtype=np.float32) * 2 ** 200).data.tolist() == [np.inf]


# --- masks and comparisons: logical operators combine masks; complex numbers have no order ---

def test_masks_combine_with_logical_operators_and_numbers_are_refused():
    x = Tensor([1.0, -2.0, 3.0])
    mask = x > 0
    assert (~mask).data.tolist() == [False, True, False] and x[~mask].data.tolist() == [-2.0]
    assert (mask & (x < 2)).data.tolist() == [True, False, False]
    assert (mask | np.array([False, True, False])).data.tolist() == [True, True, True]
    assert (np.array([True, True, False]) & mask).data.tolist() == [True, False, False]
    assert (mask ^ mask).data.tolist() == [False] * 3 and (~mask).dtype == bool
    assert not (~mask).requires_grad
    refuses(DTypeError, lambda: ~x, "~", "bool masks", "float64")
    refuses(DTypeError, lambda: x & mask, "&", "float64")
    refuses(ShapeError, lambda: mask | Tensor([True, False]), "|", "(3,)", "(2,)")
    refuses(ShapeError, lambda: mask & [[True], [True, False]], "&", "one shape")  # ragged
    refuses(ShapeError, lambda: x < [[1], [1, 2]], "<", "ragged")


def test_complex_numbers_have_no_order():
    """numpy orders complex numbers by real part, then imaginary: 2 > 1j would be True."""
    x = Tensor([1.0, 2.0])
    for compare in (lambda: x > 1j, lambda: x <= np.array([1 + 1j, 2]),
                    lambda: np.complex128(1) < x, lambda: x < [1j, 2]):     # a list too
        refuses(DTypeError, compare, "complex", "no order")
    assert (x == np.array([1 + 0j, 2 + 1j])).data.tolist() == [True, False]   # equality is fine


# --- apply: a name of the ops table, with the inputs and parameters its forward takes ---

APPLY_REFUSALS = {
    "an unknown name": (lambda x: tg.apply("bogus", x), "'bogus' is not a primitive",
                        "logsumexp"),
    "a name that is not a str": (lambda x: tg.apply(["sum"], x), "not a primitive"),
    "sum without its parameters": (lambda x: tg.apply("sum", x), "sum", "axis", "keepdims"),
    "sum without keepdims": (lambda x: tg.apply("sum", x, axis=None), "keepdims"),
    "add of one input": (lambda x: tg.apply("add", x), "add", "1 input"),
    "add with a parameter it does not take": (lambda x: tg.apply("add", x, x, axis=1), "axis"),
}


@pytest.mark.parametrize("call, phrases", [pytest.param(row[0], row[1:], id=name)
                                           for name, row in APPLY_REFUSALS.items()])
def test_apply_names_a_primitive_and_its_parameters(call, phrases):
    """An unknown name leaked a KeyError, and missing parameters were called 'operands of
    dtypes float64 are not supported'."""
    refuses(SettingError, lambda: call(Tensor([1.0, 2.0])), *phrases)
    assert float(tg.apply("sum", Tensor([1.0, 2.0]), axis=None, keepdims=False)) == 3.0


@pytest.mark.parametrize("extra", [
    pytest.param(lambda a, b, c: tg.apply("add", a, b, c), id="add(a, b, c)"),
    pytest.param(lambda a, b, c: tg.apply("exp", a, c), id="exp(a, c)"),
    pytest.param(lambda a, b, c: tg.apply("mul", a, b, out=c.data), id="mul(a, b, out=c)")])
def test_apply_never_lets_a_ufunc_write_into_an_input(extra):
    """numpy's ufuncs take a further input (or out=) as the array to write into: apply("add",
    a, b, c) returned a + b and overwrote c with it."""
    a, b, c = Tensor([1.0, 2.0]), Tensor([3.0, 4.0]), Tensor([0.5, 0.5])
    refuses(SettingError, lambda: extra(a, b, c), "input(s) and no parameters", "write")
    assert c.data.tolist() == [0.5, 0.5]


def test_integers_written_into_an_integer_tensor_stay_exact():
    """x[...] = v into an argmax's int64 result went through float64: 2**53 + 1 became 2**53."""
    indices = Tensor(np.ones((2, 3))).argmax(axis=1)
    indices[...] = 2**53 + 1
    indices[0] = np.int64(2**62 + 1)
    assert indices.data.tolist() == [2**62 + 1, 2**53 + 1]
