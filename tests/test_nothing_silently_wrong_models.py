"""Nothing silently wrong, the models: sizes, windows, seeds and states checked (numpy integers
taken wherever Python ints are, bools and floats refused), truncation spellings and policy
equality, the cost warning of window(h), a checkpointed segment that recomputes other values,
and the bridge to PyTorch. (The data loaders: test_nothing_silently_wrong_data.py; the sequence
losses: test_nothing_silently_wrong_losses.py.) Each case asserts the error type and a phrase
of its message, or the right value."""
import warnings

import numpy as np
import pytest
from refusals import refusal_cases, refuses

from tinygrad_rnn import (
    BackwardError,
    CostWarning,
    DTypeError,
    NumericalError,
    SettingError,
    ShapeError,
    StateDictError,
    Tensor,
    TensorIndexError,
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


def _cell_with_dropout():
    """A StateSpace cell whose step applies a Dropout (training mode): (cell, dropout, W, U)."""
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True)
    U = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    drop = nn.Dropout(0.5, seed=0)

    def fn(x, s):
        h = drop(x @ U.T + s @ W.T).tanh()
        return h, h
    return nn.StateSpace(fn, Tensor(np.zeros(4)), parameters={"W": W, "U": U}), drop, W, U


def test_a_checkpointed_segment_that_draws_anew_is_refused_not_differentiated():
    """A Dropout inside checkpointed steps draws a new mask when recomputed: the gradient
    would be another function's (3.2 off here), so backward refuses it."""
    cell, drop, W, U = _cell_with_dropout()
    ys, _ = cell(XS, checkpoint_every=2)
    refuses(BackwardError, (ys * ys).sum().backward, "recomputed", "Dropout")
    drop.eval()                               # deterministic: checkpointing is exact again
    ys, _ = cell(XS, checkpoint_every=2)
    (ys * ys).sum().backward()
    checkpointed = W.grad.copy()
    W.grad = U.grad = None
    ys, _ = cell(XS)
    (ys * ys).sum().backward()
    np.testing.assert_allclose(checkpointed, W.grad, rtol=1e-12)


def test_a_window_over_a_step_that_draws_anew_is_refused_not_mixed():
    """window(h) runs the step once per chain and reads y[t] from chain t % h: a Dropout drew
    its own mask on every chain, so ys matched no single realisation of the masks."""
    cell, drop, _, _ = _cell_with_dropout()
    refuses(SettingError, lambda: cell(XS, truncation="window(4)"), "window(4)", "chain 1",
            "t=1", "Dropout")
    ys, _ = cell(XS, truncation="chunked(4)")         # one chain: one realisation, taken
    assert ys.shape == (5, 2, 4)
    drop.eval()                                       # deterministic: every chain agrees
    np.testing.assert_array_equal(cell(XS, truncation="window(4)")[0].data, cell(XS)[0].data)


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


# --- modules: activations, Sequential's keywords, train(), to() ---

def test_activation_modules_read_arrays_and_numbers_as_linear_does():
    np.testing.assert_allclose(nn.Tanh()(np.array([0.0, 1.0])).data, np.tanh([0.0, 1.0]))
    np.testing.assert_allclose(nn.Sigmoid()([0.0]).data, [0.5])
    assert float(nn.ReLU()(-3)) == 0.0
    refuses(DTypeError, lambda: nn.Tanh()(None), "numeric")


MODULE_REFUSALS = {
    "Sequential keyword the last module lacks": (SettingError, lambda: nn.Sequential(
        nn.Linear(3, 2))(np.ones((1, 3)), truncation="full"), "Linear", "'truncation'"),
    "Sequential keyword with no modules": (SettingError, lambda: nn.Sequential()(
        np.ones(2), state=None), "has none"),
    "train('no')": (SettingError, lambda: elman().train("no"), "Elman.train", "mode", "'no'"),
    "train(0)": (SettingError, lambda: elman().train(0), "True or False", "0"),
    "to(None)": (DTypeError, lambda: elman().to(None), "Elman.to", "None"),
    "MLP hidden not callable": (SettingError, lambda: nn.MLP([3, 4, 2], seed=0)(
        np.ones((1, 3)), hidden=5), "MLP", "hidden"),
    "Embedding id 1e20 named as it is": (TensorIndexError, lambda: nn.Embedding(5, 3)([1e20]),
                                         "1e+20"),
    "Embedding seed": (SettingError, lambda: nn.Embedding(5, 3, seed="a"), "Embedding", "seed"),
    "Dropout seed": (SettingError, lambda: nn.Dropout(0.5, seed=-1), "Dropout", "seed"),
    "Dropout p NaN": (SettingError, lambda: nn.Dropout(np.nan), "Dropout", "probability"),
    "LSTM hoist_input 'no'": (SettingError, lambda: nn.LSTM(3, 4, 2, hoist_input="no"),
                              "LSTM", "hoist_input"),
    "GRU learn_initial_state 1": (SettingError, lambda: nn.GRU(3, 4, 2, learn_initial_state=1),
                                  "GRU", "learn_initial_state"),
    "LSTM forget_bias True": (SettingError, lambda: nn.LSTM(3, 4, 2, forget_bias=True),
                              "forget_bias", "True"),
    "LSTM seed": (SettingError, lambda: nn.LSTM(3, 4, 2, seed="a"), "LSTM", "seed"),
    "LSTM state None": (StateDictError, lambda: nn.LSTM(3, 4, 2).load_state_dict(None),
                        "mapping"),
    "GRU ragged W1": (StateDictError, lambda: nn.GRU(3, 4, 2).load_state_dict(
        {"W1": [[1, 2], [3]]}), "W1", "not an array of numbers"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(MODULE_REFUSALS))
def test_module_arguments_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


def test_numpy_settings_of_gated_models_become_python_numbers():
    model = nn.LSTM(3, np.int64(4), 2, forget_bias=np.float32(2.0), seed=0)
    assert type(model.hidden_size) is int and model.b1.data[4:8].tolist() == [2.0] * 4
    assert elman().train(np.bool_(False)).training is False


# --- StateSpace and the feed-forward models' recurrent keywords ---

def state_space(fn=lambda x, s: (s, s), initial=None, **settings):
    return nn.StateSpace(fn, Tensor(np.zeros((2, 2))) if initial is None else initial, **settings)


STATE_SPACE_REFUSALS = {
    "a parameter named by an int": (SettingError, lambda: state_space(
        parameters={1: Tensor([1.0], requires_grad=True)}), "names", "1"),
    "a parameter named fn": (SettingError, lambda: state_space(
        parameters={"fn": Tensor([1.0], requires_grad=True)}), "'fn'", "replace"),
    "a parameter named _parameters": (SettingError, lambda: state_space(
        parameters={"_parameters": Tensor([1.0], requires_grad=True)}), "'_parameters'"),
    "a name that is not a str": (SettingError, lambda: state_space(name=5), "name", "str"),
    "an initial_state without the batch": (SettingError, lambda: state_space(
        initial=lambda: Tensor(np.zeros(2))), "initial_state(batch)"),
    "fn without s": (SettingError, lambda: nn.StateSpace(lambda x: x, Tensor(np.zeros(2))),
                     "fn(x, s)"),
    "s_new None": (DTypeError, lambda: state_space(lambda x, s: (s, None))(XS), "s_new",
                   "NoneType", "t=1"),
    "s_new an array": (DTypeError, lambda: state_space(lambda x, s: (s, np.zeros((2, 2))))(XS),
                       "s_new", "ndarray"),
    "an initial state of None": (DTypeError, lambda: state_space(initial=lambda b: None)(XS),
                                 "initial_state", "NoneType"),
    "WindowedMLP truncation typo": (SettingError, lambda: nn.WindowedMLP(3, [4], 2)(
        XS, truncation="bogus"), "'bogus'"),
    "WindowedMLP given a state": (SettingError, lambda: nn.WindowedMLP(3, [4], 2)(
        XS, state=np.zeros((2, 4))), "WindowedMLP", "state=None"),
    "TemporalConv checkpoint_every 0": (SettingError, lambda: nn.TemporalConv(3, 4, 2)(
        XS, checkpoint_every=0), "TemporalConv", "checkpoint_every"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(STATE_SPACE_REFUSALS))
def test_state_space_and_feed_forward_arguments_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


def test_arrays_in_an_initial_state_are_constants_and_feed_forward_models_take_the_keywords():
    from_function = state_space(initial=lambda b: np.ones((b, 2)))(XS)[0]
    from_tuple = state_space(lambda x, s: (s[0], s), initial=(np.ones((2, 2)),))(XS)[0]
    np.testing.assert_array_equal(from_function.data, np.ones((5, 2, 2)))
    np.testing.assert_array_equal(from_tuple.data, np.ones((5, 2, 2)))
    model = nn.WindowedMLP(3, [4], 2, window=2, seed=0)
    np.testing.assert_array_equal(model(XS, truncation="elman", checkpoint_every=2)[0].data,
                                  model(XS)[0].data)


# --- the bridge to PyTorch ---

def twin_refusals():
    torch = pytest.importorskip("torch")
    interop = pytest.importorskip("tinygrad_rnn.interop")
    twin = interop.to_torch(nn.LSTM(3, 4, 2, seed=0))
    stacked = interop.to_torch(nn.Stacked([nn.LSTM(3, 4, 3, seed=0), nn.GRU(3, 4, 2, seed=1)]))
    xs = torch.tensor(XS)
    h = torch.zeros(2, 4, dtype=torch.float64)
    return torch, interop, {
        "to_torch dtype 'bogus'": (DTypeError, lambda: interop.to_torch(elman(), dtype="bogus"),
                                   "to_torch", "'bogus'"),
        "numpy xs": (DTypeError, lambda: twin(XS), "torch.Tensor", "torch.as_tensor"),
        "float32 xs": (DTypeError, lambda: twin(xs.float()), "torch.float32", "torch.float64"),
        "2-D xs": (ShapeError, lambda: twin(xs[:, 0]), "(T, B, 3)", "(5, 3)"),
        "T = 0": (ShapeError, lambda: twin(xs[:0]), "(0, 2, 3)"),
        "h alone for an LSTM": (ShapeError, lambda: twin(xs, state=h), "pair (h, c)"),
        "(h, c) of another batch": (ShapeError, lambda: twin(xs, state=(h[:1], h[:1])),
                                    "(2, 4)", "(1, 4)"),
        "one layer's state for two": (ShapeError, lambda: stacked(xs, state=((h, h),)),
                                      "tuple of 2 layer states"),
        "output_activation a list": (SettingError, lambda: interop.from_torch(
            torch.nn.RNN(3, 4), output_activation=["tanh"]), "output_activation", "['tanh']"),
        "a meta RNN": (SettingError, lambda: interop.from_torch(torch.nn.RNN(3, 4, device="meta")),
                       "meta device"),
        "a meta head": (SettingError, lambda: interop.from_torch(
            torch.nn.RNN(3, 4), head=torch.nn.Linear(4, 2, device="meta")), "meta device"),
    }


def test_the_bridge_checks_what_it_is_given():
    _, _, table = twin_refusals()
    for error, call, *phrases in table.values():
        refuses(error, call, *phrases)


def test_from_torch_with_a_head_without_bias_computes_what_torch_computes():
    torch, interop, _ = twin_refusals()
    torch.manual_seed(0)
    gru, head = torch.nn.GRU(3, 4).double(), torch.nn.Linear(4, 2, bias=False).double()
    model = interop.from_torch(gru, head=head)
    assert model.b2.shape == (2,)
    hs, _ = gru(torch.tensor(XS))
    np.testing.assert_allclose(model(XS)[0].data, head(hs).detach().numpy(), rtol=1e-12)
