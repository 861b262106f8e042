"""Nothing silently wrong, the models: sizes, windows, seeds and states checked (numpy integers
taken wherever Python ints are, bools and floats refused), truncation spellings and policy
equality, the cost warning of window(h), sequence losses and the data loaders. Each case
asserts the error type and a phrase of its message, or the right value."""
import warnings

import numpy as np
import pytest
from refusals import cases, refusal_cases, refuses

from tinygrad_rnn import (
    CostWarning,
    DTypeError,
    NumericalError,
    SettingError,
    ShapeError,
    Tensor,
    data,
    nn,
    truncation,
)

XS = np.random.default_rng(1).standard_normal((5, 2, 3))
VS = np.random.default_rng(2).standard_normal((5, 2, 2))


def elman(**settings):
    return nn.Elman(3, 4, 2, seed=0, **settings)


# --- sizes: positive integers (numpy's too), never 0, negative, a float or a bool ---

@pytest.mark.parametrize("kind", [nn.Elman, nn.Jordan])
@pytest.mark.parametrize("argument", ["input_size", "hidden_size", "output_size"])
@pytest.mark.parametrize("value", [0, -1, 2.5, True, "4", None], ids=repr)
def test_recurrent_sizes_must_be_positive_integers(kind, argument, value):
    sizes = {**dict(input_size=3, hidden_size=4, output_size=2), argument: value}
    refuses(SettingError, lambda: kind(**sizes), kind.__name__, argument, repr(value))


def test_numpy_integers_are_taken_wherever_python_ints_are():
    a = nn.Elman(np.int64(3), np.int32(4), np.uint8(2), seed=np.int64(7))
    b = nn.Elman(3, 4, 2, seed=7)
    assert a.hidden_size == 4 and type(a.hidden_size) is int
    np.testing.assert_array_equal(a.Wm.data, b.Wm.data)
    np.testing.assert_array_equal(a(XS, checkpoint_every=np.int64(2))[0].data, b(XS)[0].data)
    assert truncation.chunked(np.int64(3)) == truncation.chunked(3)
    assert nn.WindowedMLP(3, [4], 2, window=np.int64(2), seed=0)(XS)[0].shape == (5, 2, 2)
    assert nn.Linear(np.int64(3), 2).W.shape == (2, 3)


LAYER_REFUSALS = {
    "Linear in_features 3.5": (SettingError, lambda: nn.Linear(3.5, 2), "Linear", "in_features"),
    "Linear out_features 0": (SettingError, lambda: nn.Linear(3, 0), "out_features", "0"),
    "Linear in_features 0": (SettingError, lambda: nn.Linear(0, 3), "in_features"),
    "MLP sizes an int": (SettingError, lambda: nn.MLP(5), "MLP", "sizes", "5"),
    "MLP sizes a str": (SettingError, lambda: nn.MLP("abc"), "MLP", "'abc'"),
    "MLP a zero width": (SettingError, lambda: nn.MLP([3, 0, 2]), "sizes", "[1]", "0"),
    "MLP a negative width": (SettingError, lambda: nn.MLP([3, -1]), "-1"),
    "MLP one size": (SettingError, lambda: nn.MLP([3]), "at least 2"),
    "WindowedMLP window 1.5": (SettingError, lambda: nn.WindowedMLP(3, [4], 2, window=1.5),
                               "WindowedMLP", "window", "1.5"),
    "WindowedMLP window '2'": (SettingError, lambda: nn.WindowedMLP(3, [4], 2, window="2"),
                               "window"),
    "WindowedMLP hidden_sizes an int": (SettingError, lambda: nn.WindowedMLP(3, 4, 2),
                                        "hidden_sizes", "list"),
    "TemporalConv kernel_size 0": (SettingError, lambda: nn.TemporalConv(3, 4, 2, kernel_size=0),
                                   "TemporalConv", "kernel_size"),
    "TemporalConv layers 0": (SettingError, lambda: nn.TemporalConv(3, 4, 2, layers=0), "layers"),
    "TemporalConv channels -2": (SettingError, lambda: nn.TemporalConv(3, -2, 2), "channels"),
    "seed a str": (SettingError, lambda: nn.Elman(3, 4, 2, seed="a"), "Elman", "seed", "'a'"),
    "seed negative": (SettingError, lambda: nn.Elman(3, 4, 2, seed=-1), "seed", "-1"),
    "seed a float": (SettingError, lambda: nn.Elman(3, 4, 2, seed=1.5), "seed", "1.5"),
    "Jordan mu a str": (SettingError, lambda: nn.Jordan(3, 4, 2, mu="a"), "Jordan", "mu"),
    "Jordan mu NaN": (SettingError, lambda: nn.Jordan(3, 4, 2, mu=np.nan), "mu", "nan"),
    "Jordan mu Inf": (SettingError, lambda: nn.Jordan(3, 4, 2, mu=np.inf), "mu", "inf"),
    "Stacked of numbers": (SettingError, lambda: nn.Stacked([1, 2]), "layer 0", "int"),
    "Stacked of a Linear": (SettingError, lambda: nn.Stacked([nn.Linear(3, 2)]), "Linear",
                            "not a recurrent cell"),
    "Stacked of one model": (SettingError, lambda: nn.Stacked(elman()), "list"),
    "StateSpace fn not callable": (SettingError, lambda: nn.StateSpace(5, Tensor(np.zeros(2))),
                                   "StateSpace", "fn", "5"),
    "StateSpace an array parameter": (SettingError, lambda: nn.StateSpace(
        lambda x, s: (s, s), Tensor(np.zeros(2)), parameters={"W": np.ones(2)}), "'W'", "ndarray"),
    "StateSpace a parameter without grad": (SettingError, lambda: nn.StateSpace(
        lambda x, s: (s, s), Tensor(np.zeros(2)), parameters={"W": Tensor(np.ones(2))}),
        "'W'", "requires_grad=False"),
    "to an integer dtype": (DTypeError, lambda: elman().to(np.int32), "Elman.to", "int32",
                            "floating"),
    "to a bogus dtype": (DTypeError, lambda: elman().to("bogus"), "Elman.to", "'bogus'"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(LAYER_REFUSALS))
def test_layer_and_model_settings_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


# --- what a model is called with ---

@pytest.mark.parametrize("model", [elman(), nn.Jordan(3, 4, 2, seed=0),
                                   nn.WindowedMLP(3, [4], 2, window=2, seed=0),
                                   nn.TemporalConv(3, 4, 2, seed=0)],
                         ids=["Elman", "Jordan", "WindowedMLP", "TemporalConv"])
def test_an_empty_batch_names_the_shape(model):
    refuses(ShapeError, lambda: model(np.zeros((5, 0, 3))), "B = 0", "(5, 0, 3)")


CALL_REFUSALS = {
    "a state holding NaN": (NumericalError, lambda: elman()(XS, state=np.full((2, 4), np.nan)),
                            "Elman", "state", "nan"),
    "checkpoint_every True": (SettingError, lambda: elman()(XS, checkpoint_every=True),
                              "checkpoint_every", "True"),
    "checkpoint_every 2.0": (SettingError, lambda: elman()(XS, checkpoint_every=2.0),
                             "checkpoint_every", "2.0"),
    "StateSpace fn returning one tensor": (ShapeError, lambda: nn.StateSpace(
        lambda x, s: s, Tensor(np.zeros((2, 3))))(XS), "pair (y, s_new)", "t=1"),
    "StateSpace fn returning a number": (DTypeError, lambda: nn.StateSpace(
        lambda x, s: (1.0, s), Tensor(np.zeros((2, 3))))(XS), "y = a float", "t=1"),
    "truncation 'chunked(0)'": (SettingError, lambda: elman()(XS, truncation="chunked(0)"),
                                "k must be a positive integer"),
    "truncation the window function": (SettingError,
                                       lambda: elman()(XS, truncation=truncation.window),
                                       "truncation must be"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(CALL_REFUSALS))
def test_model_calls_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


# --- truncation: spellings, numbers, equality, the cost of window(h) ---

@pytest.mark.parametrize("spelling, policy", [
    ("chunked(3)", truncation.chunked(3)), ("chunked:3", truncation.chunked(3)),
    (" chunked( 3 ) ", truncation.chunked(3)), ("window(3)", truncation.window(3)),
    ("window:3", truncation.window(3)), ("chunked(1)", truncation.elman),
    ("elman", truncation.elman), ("full", truncation.full)])
def test_policies_resolve_from_how_they_print_and_from_the_cli_spelling(spelling, policy):
    resolved = truncation.resolve(spelling)
    assert resolved == policy and truncation.resolve(repr(resolved)) == resolved


@pytest.mark.parametrize("spelling", ["Full", "chunked:-1", "window:1e3", "chunked(3", "chunked:٣",
                                      b"full", None, 5, 3.0])
def test_other_spellings_are_refused_with_the_known_ones(spelling):
    refuses(SettingError, lambda: truncation.resolve(spelling), repr(spelling),
            "'chunked:K' or 'chunked(K)'")
    refuses(SettingError, lambda: truncation.resolve("chunked:0"), "k must be a positive integer")


@pytest.mark.parametrize("make", [truncation.chunked, truncation.window])
@pytest.mark.parametrize("value", [True, 3.0, "3", 0, -2, None], ids=repr)
def test_policy_sizes_must_be_positive_integers(make, value):
    refuses(SettingError, lambda: make(value), "must be a positive integer", repr(value))


def test_policies_compare_by_kind_and_parameter_not_by_how_they_print():
    chunked, window = truncation.chunked, truncation.window
    assert chunked(3) == chunked(3) and hash(chunked(3)) == hash(chunked(3))
    assert chunked(1) == truncation.elman and chunked(2) != window(2)
    assert window(1) != truncation.elman           # same gradients, another kind of policy
    assert truncation.full != "full" and len({chunked(2), chunked(2), window(2)}) == 2

    class LooksFull(truncation.Chunked):
        def __repr__(self):
            return "full"
    assert LooksFull(4) != truncation.full and LooksFull(4) == chunked(4)


def test_a_window_of_more_than_16_steps_warns_of_its_cost():
    with pytest.warns(CostWarning, match="window\\(17\\) runs 17 forward chains"):
        truncation.window(17)
    with pytest.warns(CostWarning):
        truncation.resolve("window:40")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert truncation.window(truncation.WINDOW_WARN_ABOVE).chains == 16


def test_a_spelled_truncation_gives_the_policy_s_gradients():
    a, b = elman(), elman()
    for model, policy in ((a, "window(2)"), (b, truncation.window(2))):
        nn.sequence_loss(model(XS, truncation=policy)[0], VS).backward()
    np.testing.assert_array_equal(a.W1.grad, b.W1.grad)


# --- sequence losses ---

def ys_of():
    return elman()(XS)[0]


SEQUENCE_LOSS_REFUSALS = {
    "loss 'hinge'": (SettingError, lambda: nn.sequence_loss(ys_of(), VS, loss="hinge"),
                     "'hinge'", "'mse', 'cross_entropy', 'bce', 'sum_squared_error'"),
    "loss 5": (SettingError, lambda: nn.sequence_loss(ys_of(), VS, loss=5), "loss must be one of"),
    "loss None": (SettingError, lambda: nn.loss_terms(ys_of(), VS, loss=None), "None"),
    "last_step_loss 'hinge'": (SettingError, lambda: nn.last_step_loss(ys_of(), [0, 1],
                                                                       loss="hinge"),
                               "last_step_loss", "'hinge'", "'cross_entropy'"),
    "time_reduction 'avg'": (SettingError, lambda: nn.sequence_loss(
        ys_of(), VS, time_reduction="avg"), "time_reduction", "'avg'"),
    "a mask of 0.5": (DTypeError, lambda: nn.sequence_loss(ys_of(), VS, mask=np.full((5, 2), 0.5)),
                      "mask", "booleans"),
    "lengths of 2.5": (DTypeError, lambda: nn.last_step_loss(ys_of(), [0, 1], lengths=[2.5, 5]),
                       "lengths", "whole numbers"),
    "no outputs": (ShapeError, lambda: nn.loss_terms([], []), "T = 0"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(SEQUENCE_LOSS_REFUSALS))
def test_sequence_loss_arguments_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


def test_sequence_losses_take_masks_arrays_and_lists_as_they_mean():
    ys = ys_of()
    plain = float(nn.sequence_loss(ys, VS))
    assert float(nn.sequence_loss(ys, VS.tolist())) == pytest.approx(plain, rel=1e-15)
    assert float(nn.sequence_loss(ys, VS, mask=np.ones((5, 2), int))) == pytest.approx(plain)
    assert float(nn.sequence_loss(ys, VS, mask=Tensor(np.ones((5, 2), bool)))) == \
        pytest.approx(plain)
    assert float(nn.sequence_loss(ys, VS, mask=np.zeros((5, 2), bool))) == 0.0
    expected = float(np.sum(np.mean(VS ** 2, axis=(1, 2))))
    assert float(nn.sequence_loss(np.zeros((5, 2, 2)), VS)) == pytest.approx(expected)
    by_floats = nn.last_step_loss(ys, [0, 1], lengths=np.array([3.0, 5.0]))
    assert float(by_floats) == float(nn.last_step_loss(ys, [0, 1], lengths=[3, 5]))


# --- data loaders ---

DATA_REFUSALS = {
    "pronoun n_samples 0": (lambda: data.pronoun_task(0, 3), "n_samples"),
    "pronoun n_samples 2.5": (lambda: data.pronoun_task(2.5, 3), "n_samples", "2.5"),
    "pronoun distance 0": (lambda: data.pronoun_task(4, 0), "distances must be >= 1"),
    "pronoun distance 2.5": (lambda: data.pronoun_task(4, 2.5), "distances", "2.5"),
    "pronoun seed 'a'": (lambda: data.pronoun_task(4, 3, seed="a"), "seed", "'a'"),
    "pronoun seed -1": (lambda: data.pronoun_task(4, 3, seed=-1), "seed", "-1"),
    "pronoun no distances": (lambda: data.pronoun_task_mixed(4, []), "distances"),
    "pronoun a str distance": (lambda: data.pronoun_task_mixed(4, [2, "a"]), "distances"),
    "encode an unknown word": (lambda: data.encode(["Zebra"]), "'Zebra'", "vocabulary"),
    "encode a str": (lambda: data.encode("Julia"), "list of words", "'Julia'"),
    "encode nothing": (lambda: data.encode([]), "empty"),
    "talks n_talks 0": (lambda: data.talks_task(0, 20), "talks_task", "n_talks"),
    "talks length 0": (lambda: data.talks_task(4, 0), "length"),
    "talks length 20.5": (lambda: data.talks_task(4, 20.5), "length", "20.5"),
    "talks n_features 0": (lambda: data.talks_task(4, 20, n_features=0), "n_features"),
    "talks noise -1": (lambda: data.talks_task(4, 20, noise=-1), "noise"),
    "talks keyword_length 0": (lambda: data.talks_task(4, 20, keyword_length=0),
                               "keyword_length"),
    "talks n_keywords 0": (lambda: data.talks_task(4, 20, n_keywords=0), "n_keywords"),
    "talks quiet_tail -3": (lambda: data.talks_task(4, 20, quiet_tail=-3), "quiet_tail"),
    "next value length 0": (lambda: data.next_value_task(0), "next_value_task", "length"),
    "next value length 12.5": (lambda: data.next_value_task(12.5), "length", "12.5"),
    "next value split 1.5": (lambda: data.next_value_task(12, split=1.5), "split", "(0, 1)"),
    "next value split NaN": (lambda: data.next_value_task(12, split=np.nan), "split", "nan"),
    "next value a NaN in the series": (lambda: data.next_value_task(
        2, series=[1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), "nan at index 1"),
    "next value a constant series": (lambda: data.next_value_task(2, series=[5.0] * 12),
                                     "constant", "normalize=False"),
    "next value log of a negative": (lambda: data.next_value_task(
        2, series=[1.0, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], log=True), "log=True", "-2.0"),
    "next value a series of words": (lambda: data.next_value_task(2, series=["a", "b"]),
                                     "series"),
    "windows before the series": (lambda: data.next_value_task(12).windows([-5]), "-5",
                                  "0..131"),
    "windows after the series": (lambda: data.next_value_task(12).windows([1000]), "1000"),
    "windows at a fraction": (lambda: data.next_value_task(12).windows([1.5]), "integer"),
}


@pytest.mark.parametrize("call, phrases", [pytest.param(row[0], row[1:], id=name)
                                           for name, row in DATA_REFUSALS.items()])
def test_data_loader_arguments_are_checked(call, phrases):
    refuses(SettingError, call, *phrases)


DATA_VALUES = {
    "numpy integers": (lambda: data.pronoun_task(np.int64(4), np.int64(2)).xs.shape, (3, 4, 43)),
    "a silent talk": (lambda: data.talks_task(2, 20, amplitude=0.0).xs.shape, (20, 2, 8)),
    "the last window": (lambda: data.next_value_task(12).windows([131])[1].shape, (12, 1, 1)),
}


@pytest.mark.parametrize("call, expected", cases(DATA_VALUES))
def test_data_loader_calls_that_work(call, expected):
    assert call() == expected
