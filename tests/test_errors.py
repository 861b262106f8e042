"""Bad input: the project's own exception types (subclassing the builtin a user expects), with
messages that name the op, the shapes and, inside step(t), the time step; and the opt-in
anomaly mode that names the first op producing NaN or Inf."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def ones(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


def raises_naming(error, call, *words):
    """call() raises `error` and the message contains every one of `words`."""
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    for word in words:
        assert word in message, f"{word!r} missing from {error.__name__} message: {message}"
    return raised.value


def test_error_types_subclass_the_builtins():
    assert issubclass(tg.ShapeError, ValueError) and issubclass(tg.BackwardError, ValueError)
    assert issubclass(tg.DTypeError, TypeError) and issubclass(tg.TensorIndexError, IndexError)
    assert issubclass(tg.NumericalError, FloatingPointError)
    for error in (tg.ShapeError, tg.BackwardError, tg.DTypeError, tg.TensorIndexError,
                  tg.NumericalError):
        assert issubclass(error, tg.TinygradRNNError)


SHAPE_ERRORS = {
    "matmul": (lambda: ones(3, 4) @ ones(5, 2), ["matmul", "(3, 4)", "(5, 2)"]),
    "broadcast": (lambda: ones(2, 3) + ones(4), ["add", "(2, 3)", "(4,)"]),
    "broadcast from a number side": (lambda: np.ones((2, 5)) * ones(3), ["mul", "(2, 5)", "(3,)"]),
    "reshape": (lambda: ones(2, 3).reshape(4), ["reshape", "(2, 3)", "(4,)"]),
    "reshape two -1": (lambda: ones(2, 3).reshape(-1, -1), ["reshape", "(2, 3)"]),
    "sum axis": (lambda: ones(2, 3).sum(axis=2), ["sum", "(2, 3)", "axis 2"]),
    "mean axis": (lambda: ones(2, 3).mean(axis=(0, -3)), ["mean", "(2, 3)", "axis -3"]),
    "max axis": (lambda: ones(2, 3).max(axis=5), ["max", "(2, 3)", "axis 5"]),
    "softmax axis": (lambda: tg.softmax(ones(2, 3), axis=2), ["softmax", "(2, 3)", "axis 2"]),
    "logsumexp axis": (lambda: tg.logsumexp(ones(4), axis=1), ["logsumexp", "(4,)", "axis 1"]),
    "stack axis": (lambda: tg.stack([ones(2), ones(2)], axis=3), ["stack", "axis 3"]),
    "stack shapes": (lambda: tg.stack([ones(2), ones(3)]), ["stack", "(2,)", "(3,)"]),
    "concatenate": (lambda: tg.concatenate([ones(2, 2), ones(3, 3)]),
                    ["concatenate", "(2, 2)", "(3, 3)"]),
    "concatenate axis": (lambda: tg.concatenate([ones(2, 2)], axis=-3), ["concatenate", "axis -3"]),
    "transpose": (lambda: ones(2, 3).transpose(0, 0, 1), ["transpose", "(2, 3)"]),
    "linear shapes": (lambda: tg.linear(ones(2, 3), ones(4, 2)), ["linear", "(2, 3)", "(4, 2)"]),
    "linear on a sequence": (lambda: tg.linear(ones(5, 2, 3), ones(4, 5)),
                             ["linear", "(5, 2, 3)", "(4, 5)", "3 features", "I = 5"]),
    "linear vector weight": (lambda: tg.linear(ones(2, 3), ones(3)),
                             ["linear", "(2, 3)", "(3,)", "W (O, I)"]),
    "where": (lambda: tg.where(np.ones(3, bool), ones(2), 0.0), ["where", "(2,)"]),
    "mse_loss": (lambda: tg.mse_loss(ones(4, 1), np.ones(4)), ["mse_loss", "(4, 1)", "(4,)"]),
    "cross_entropy shapes": (lambda: tg.cross_entropy(ones(3, 2), [0, 1]),
                             ["cross_entropy", "(3, 2)", "(2,)"]),
    "cross_entropy range": (lambda: tg.cross_entropy(ones(2, 2), [0, 2]), ["cross_entropy", "2"]),
    "bce": (lambda: tg.binary_cross_entropy_with_logits(ones(3), np.ones(2)),
            ["binary_cross_entropy_with_logits", "(3,)", "(2,)"]),
}


@pytest.mark.parametrize("name", SHAPE_ERRORS)
def test_shape_errors_name_the_op_and_the_shapes(name):
    call, words = SHAPE_ERRORS[name]
    raises_naming(tg.ShapeError, call, *words)


def test_errors_inside_a_step_name_the_time_step():
    with tg.step(3):
        raises_naming(tg.ShapeError, lambda: ones(3, 4) @ ones(5, 2), "matmul", "t=3")
        raises_naming(tg.ShapeError, lambda: ones(2).sum(axis=1), "sum", "t=3")
        raises_naming(tg.TensorIndexError, lambda: ones(2)[2], "getitem", "t=3")


@pytest.mark.parametrize("index", [5, -4, [0, 7], (0, 0), np.array([[3]])], ids=str)
def test_indexing_out_of_range_is_a_tensor_index_error(index):
    error = raises_naming(tg.TensorIndexError, lambda: ones(3)[index], "getitem", "(3,)")
    assert isinstance(error, IndexError)


def test_cross_entropy_needs_integer_targets():
    raises_naming(tg.DTypeError, lambda: tg.cross_entropy(ones(2, 3), [0.5, 1.0]),
                  "cross_entropy", "integer")


def test_unknown_reduction_is_a_value_error():
    raises_naming(ValueError, lambda: tg.mse_loss(ones(2), np.ones(2), reduction="avg"), "avg")


# --- backward ---

def test_backward_of_a_non_scalar_without_grad():
    y = ones(3) * 2
    raises_naming(tg.BackwardError, y.backward, "(3,)", "grad")


def test_backward_with_a_seed_of_the_wrong_shape():
    y = ones(3) * 2
    raises_naming(tg.ShapeError, lambda: y.backward(grad=np.ones(4)), "(4,)", "(3,)")
    raises_naming(tg.ShapeError, lambda: (y.sum()).backward(grad=np.ones(2)), "(2,)", "()")


@pytest.mark.parametrize("seed", ["ab", {"a": 1}, object(), [1.0, "x"]])
def test_backward_with_a_seed_that_is_not_numbers(seed):
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.DTypeError, match="backward: grad must be numeric"):
        (x * 2.0).backward(seed)
    assert x.grad is None


@pytest.mark.parametrize("rows", [100_000, 2_000_000])
def test_a_broadcast_too_large_for_memory_is_an_error_naming_op_and_shapes(rows):
    tall, wide = Tensor(np.ones((rows, 1))), Tensor(np.ones((1, rows)))
    with pytest.raises(tg.OutOfMemoryError, match=rf"mul: .*\({rows}, 1\) and \(1, {rows}\)"):
        tall * wide
    assert isinstance(tg.OutOfMemoryError("x"), MemoryError)


def test_backward_with_retain_graph_that_is_not_a_bool():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(tg.DTypeError, match="retain_graph must be True or False"):
        (x * 2.0).sum().backward(retain_graph="no")


def test_a_grad_of_the_wrong_shape_set_by_hand_is_refused_before_any_is_written():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    v = Tensor([3.0], requires_grad=True, name="v")
    w.grad = np.ones(3)
    with pytest.raises(tg.ShapeError, match=r"\.grad of the tensor 'w' of shape \(2,\) holds "
                                            r"shape \(3,\)"):
        loss = (w * 2.0).sum() * v.sum()
        loss.backward()
    assert v.grad is None and w.grad.shape == (3,)
    w.grad = None                     # refused before anything was walked: the same graph runs
    loss.backward()
    assert w.grad.tolist() == [6.0, 6.0] and v.grad.tolist() == [6.0]
    constant = Tensor([1.0, 2.0])
    constant.grad = np.ones(5)        # backward writes no .grad of a constant: no obstacle
    (constant * w).sum().backward()
    assert w.grad.tolist() == [7.0, 8.0]


@pytest.mark.parametrize("bad, error", [(np.zeros((3, 1)), tg.ShapeError),
                                        ("text", tg.DTypeError)], ids=["wrong shape", "a str"])
def test_a_retained_nodes_grad_set_by_hand_is_checked_as_a_leafs(bad, error):
    """It was added into as it was: (3, 1) + (2,) broadcast to a (3, 2) .grad."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    h = (w * 2.0).retain_grad()
    h.grad = bad
    with pytest.raises(error, match=r"\.grad of the tensor of shape \(2,\)"):
        (h * h).sum().backward()
    assert w.grad is None


def test_backward_twice_through_the_same_graph():
    x = ones(2)
    loss = (x.tanh() * 3).sum()
    loss.backward()
    raises_naming(tg.BackwardError, loss.backward, "retain_graph", "second time")
    again = (x.tanh() * 3).sum()
    again.backward(retain_graph=True)
    again.backward()                          # allowed once more, then consumed
    raises_naming(tg.BackwardError, again.backward, "retain_graph")


def test_backward_into_a_graph_an_earlier_backward_consumed():
    """The RNN bug: a state carried into the next batch without detach()."""
    x = ones(2)
    state = x.tanh()
    state.sum().backward()
    raises_naming(tg.BackwardError, lambda: (state * 2).sum().backward(), "tanh", "detach")


def test_backward_on_a_tensor_that_does_not_require_grad():
    raises_naming(tg.BackwardError, Tensor(1.0).backward, "does not require grad")
    raises_naming(tg.BackwardError, (Tensor([1.0]) * 2).sum().backward, "does not require grad")
    raises_naming(tg.BackwardError, ones(1).sum().cut().backward, "cut")


# --- anomaly mode ---

def test_anomaly_mode_names_the_first_op_producing_nan_and_its_step():
    x = Tensor([1.0, -1.0], requires_grad=True)
    with np.errstate(invalid="ignore"), tg.detect_anomaly():
        h = x * 2
        with tg.step(3):
            error = raises_naming(tg.NumericalError, lambda: (h - 1).log(), "log", "t=3", "(2,)")
    assert isinstance(error, FloatingPointError)


def test_anomaly_mode_names_overflow_and_ignores_values_already_non_finite():
    with np.errstate(over="ignore"), tg.detect_anomaly():
        raises_naming(tg.NumericalError, lambda: Tensor([1000.0]).exp(), "exp")
        already = Tensor([np.nan, 1.0]) * 2  # not the op that produced the NaN
    assert np.isnan(already.data[0])


def test_anomaly_mode_checks_gradients_too():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"), tg.detect_anomaly():
        y = x.sqrt().sum()                    # finite forward; d sqrt at 0 is infinite
        raises_naming(tg.NumericalError, y.backward, "sqrt", "gradient")


def test_without_anomaly_mode_nan_passes_silently():
    with np.errstate(invalid="ignore"):
        assert np.isnan(Tensor([-1.0]).log().item())
