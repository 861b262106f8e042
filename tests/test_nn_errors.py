"""Bad input to the models: the project's own error types, with messages that name the
expected and given shapes and, inside an unroll, the time step."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import NumericalError, ShapeError, Tensor, TinygradRNNError, nn

N, H, O, T, B = 3, 4, 2, 5, 2

SEQUENCE_MODELS = {
    "Elman": lambda: nn.Elman(N, H, O, seed=0),
    "Jordan": lambda: nn.Jordan(N, H, O, seed=0),
    "Stacked": lambda: nn.Stacked([nn.Elman(N, H, 3, seed=0), nn.Elman(3, H, O, seed=1)]),
    "WindowedMLP": lambda: nn.WindowedMLP(N, [H], O, window=2, seed=0),
    "TemporalConv": lambda: nn.TemporalConv(N, H, O, seed=0),
}


@pytest.mark.parametrize("kind", SEQUENCE_MODELS)
def test_wrong_input_rank_names_the_expected_and_given_shapes(kind):
    model = SEQUENCE_MODELS[kind]()
    for bad in (np.zeros((T, N)), np.zeros((T, B, N, 1))):
        with pytest.raises(ShapeError) as info:
            model(bad)
        message = str(info.value)
        assert f"(T, B, {N})" in message and str(bad.shape) in message, message
        assert isinstance(info.value, ValueError) and isinstance(info.value, TinygradRNNError)


@pytest.mark.parametrize("kind", SEQUENCE_MODELS)
def test_wrong_input_size_names_the_expected_and_given_shapes(kind):
    model = SEQUENCE_MODELS[kind]()
    with pytest.raises(ShapeError) as info:
        model(np.zeros((T, B, N + 2)))
    message = str(info.value)
    assert f"(T, B, {N})" in message and f"({T}, {B}, {N + 2})" in message, message


@pytest.mark.parametrize("kind", SEQUENCE_MODELS)
def test_an_empty_sequence_is_refused(kind):
    with pytest.raises(ShapeError, match=r"T = 0"):
        SEQUENCE_MODELS[kind]()(np.zeros((0, B, N)))


@pytest.mark.parametrize("kind", SEQUENCE_MODELS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_name_the_time_step(kind, bad):
    xs = np.ones((T, B, N))
    xs[3, 1, 2] = bad
    xs[4, 0, 0] = bad       # a later one too: the message names the first
    with pytest.raises(NumericalError) as info:
        SEQUENCE_MODELS[kind]()(xs)
    message = str(info.value)
    assert "t=4" in message and "batch 1" in message and "feature 2" in message, message
    assert "t=5" not in message


def test_an_elman_state_of_the_wrong_shape_is_refused():
    model = nn.Elman(N, H, O, seed=0)
    for bad in (Tensor(np.zeros((B, H + 1))), Tensor(np.zeros((B + 1, H))), Tensor(np.zeros(H))):
        with pytest.raises(ShapeError) as info:
            model(np.zeros((T, B, N)), state=bad)
        assert f"{(B, H)}" in str(info.value) and f"{bad.shape}" in str(info.value), str(info.value)


def test_a_jordan_state_must_be_the_pair_it_returned():
    model = nn.Jordan(N, H, O, seed=0)
    xs = np.zeros((T, B, N))
    with pytest.raises(ShapeError, match=r"pair \(s, y\)"):
        model(xs, state=Tensor(np.zeros((B, O))))
    with pytest.raises(ShapeError, match=r"state y.*\(2, 2\).*\(3, 2\)"):
        model(xs, state=(Tensor(np.zeros((B, O))), Tensor(np.zeros((B + 1, O)))))
    _, state = model(xs)
    ys, _ = model(xs, state=state)             # the returned pair is accepted
    assert ys.shape == (T, B, O)


def test_a_stacked_state_must_hold_one_state_per_layer():
    model = SEQUENCE_MODELS["Stacked"]()
    xs = np.zeros((T, B, N))
    _, state = model(xs)
    with pytest.raises(ShapeError, match="tuple of 2 layer states"):
        model(xs, state=state[:1])
    with pytest.raises(ShapeError, match=r"\(2, 4\)"):
        model(xs, state=(state[0], Tensor(np.zeros((B, H + 1)))))


def test_a_shape_error_inside_a_step_names_that_step():
    """A user cell whose new state is twice as wide as the one it was given: step 1 runs,
    step 2 cannot multiply the wider state by W, and the error says t=2."""
    W = Tensor(np.ones((H, H)), requires_grad=True)
    U = Tensor(np.ones((H, N)), requires_grad=True)

    def fn(x, s):
        h = (x @ U.T + s @ W.T).tanh()
        return h, tg.concatenate([h, h], axis=-1)

    cell = nn.StateSpace(fn, initial_state=Tensor(np.zeros((B, H))), parameters={"W": W, "U": U},
                         input_size=N)
    with pytest.raises(ShapeError) as info:
        cell(np.zeros((T, B, N)))
    message = str(info.value)
    assert "t=2" in message and f"({B}, {2 * H})" in message and f"({H}, {H})" in message, message


def test_stacked_layers_that_do_not_fit_are_refused_when_built():
    with pytest.raises(ShapeError) as info:
        nn.Stacked([nn.Elman(N, H, 3, seed=0), nn.Elman(5, H, O, seed=1)])   # 3 != 5
    assert "layer 0" in str(info.value) and "outputs 3" in str(info.value)
    assert "layer 1" in str(info.value) and "takes 5" in str(info.value)


def test_a_shape_error_in_a_layer_names_the_step():
    W = tg.Tensor(np.zeros((H, 5)), requires_grad=True)     # expects 5 features, gets N
    cell = nn.StateSpace(lambda x, s: (tg.linear(x, W, s),) * 2, tg.Tensor(np.zeros(H)),
                         parameters={"W": W})
    with pytest.raises(ShapeError) as info:
        cell(np.zeros((T, B, N)))
    assert "t=1" in str(info.value) and f"({B}, {N})" in str(info.value), str(info.value)


def test_errors_leave_the_recording_state_clean_for_the_next_call():
    model = nn.Elman(N, H, O, seed=0)
    xs = np.ones((T, B, N))
    xs[2, 0, 0] = np.nan
    with pytest.raises(NumericalError):
        model(xs)
    ys, _ = model(np.ones((T, B, N)))
    assert ys.shape == (T, B, O) and ys.parents[0].meta["step"] == 1
