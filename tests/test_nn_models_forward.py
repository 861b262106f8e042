"""Forward values of every model against numpy written here, the feed-forward baselines'
finite memory (the lecture's point: they forget), and continuing a sequence with the state a
previous call returned."""
import numpy as np
import pytest
from nn_oracles import (
    elman_bptt,
    elman_forward,
    engine_grads,
    final_state_arrays,
    full_cut,
    jordan_forward,
)

from tinygrad_rnn import ShapeError, Tensor, nn
from tinygrad_rnn.nn.input_projection import InputProjection

T, B, N, O = 7, 2, 3, 2


@pytest.fixture(scope="module")
def xs():
    return np.random.default_rng(0).normal(size=(T, B, N))


def numpy_mlp(model, features):
    """The MLP's layers by hand: tanh between them, identity after the last."""
    layers = [getattr(model, f"layer{i}") for i in range(len(model.layers))]
    for i, layer in enumerate(layers):
        features = features @ layer.W.data.T + layer.b.data
        if i < len(layers) - 1:
            features = np.tanh(features)
    return features


@pytest.mark.parametrize("window", [1, 2, 3])
def test_windowed_mlp_sees_the_last_w_inputs_in_order_with_zeros_before_t_1(window, xs):
    model = nn.WindowedMLP(N, [4], O, window=window, seed=1)
    ys, state = model(xs)
    assert state is None and ys.shape == (T, B, O)
    padded = np.concatenate([np.zeros((window - 1, B, N)), xs])
    for t in range(1, T + 1):
        # x[t-w+1..t]
        features = np.concatenate([padded[t - 1 + k] for k in range(window)], axis=-1)
        np.testing.assert_allclose(ys.data[t - 1], numpy_mlp(model.mlp, features), rtol=0,
                                   atol=1e-13)


@pytest.mark.parametrize("kernel_size, layers", [(2, 2), (3, 1), (3, 2)])
def test_temporal_conv_is_a_causal_convolution(kernel_size, layers, xs):
    model = nn.TemporalConv(N, 4, O, kernel_size=kernel_size, layers=layers, hidden_sizes=(3,),
                            seed=2)
    ys, state = model(xs)
    assert state is None
    columns = xs
    for i in range(layers):
        W, b = getattr(model, f"conv{i}_W").data, getattr(model, f"conv{i}_b").data
        padded = np.concatenate([np.zeros((kernel_size - 1,) + columns.shape[1:]), columns])
        out = np.zeros(columns.shape[:2] + (W.shape[1],))
        for t in range(T):
            # z[t] = tanh(b + sum_k W[k] x[t-k]); padded index of x[t-k] is t - k + kernel_size - 1
            total = b + sum(padded[t - k + kernel_size - 1] @ W[k].T for k in range(kernel_size))
            out[t] = np.tanh(total)
        columns = out
    np.testing.assert_allclose(ys.data, numpy_mlp(model.head, columns), rtol=0, atol=1e-13)
    assert model.receptive_field == layers * (kernel_size - 1) + 1


@pytest.mark.parametrize("make, memory", [
    (lambda: nn.WindowedMLP(N, [4], O, window=1, seed=1), 1),
    (lambda: nn.WindowedMLP(N, [4], O, window=3, seed=1), 3),
    (lambda: nn.TemporalConv(N, 4, O, kernel_size=2, layers=2, seed=2), 3),
    (lambda: nn.TemporalConv(N, 4, O, kernel_size=3, layers=2, seed=2), 5),
])
def test_feedforward_baselines_forget_beyond_their_receptive_field(make, memory, xs):
    """Changing x[1] changes y[1..memory] and nothing after: the lecture's MLP and CNN forget."""
    model = make()
    changed = xs.copy()
    changed[0] += 1.0
    difference = np.abs(model(changed)[0].data - model(xs)[0].data).max(axis=(1, 2))
    assert np.all(difference[:memory] > 1e-6), difference
    assert np.all(difference[memory:] == 0), difference


@pytest.mark.parametrize("make", [lambda: nn.Elman(N, 4, O, seed=3),
                                  lambda: nn.Jordan(N, 4, O, seed=3)])
def test_recurrent_models_remember_x1_until_the_end(make, xs):
    model = make()
    changed = xs.copy()
    changed[0] += 1.0
    difference = np.abs(model(changed)[0].data - model(xs)[0].data).max(axis=(1, 2))
    assert np.all(difference > 1e-8), difference


@pytest.mark.parametrize("lower, upper", [("elman", "jordan"), ("jordan", "elman"),
                                          ("jordan", "jordan")])
def test_stacked_layers_compose_as_written(lower, upper, xs):
    """Stacked: layer 1 reads layer 0's y[t]; each layer keeps its own state (a Jordan layer
    its moving average s[t] = mu s[t-1] + y[t-1])."""
    def make(kind, n_in, n_out, seed):
        return (nn.Elman(n_in, 4, n_out, seed=seed) if kind == "elman"
                else nn.Jordan(n_in, 4, n_out, mu=0.3 + 0.2 * seed, seed=seed))

    def forward(kind, layer, inputs):
        P = layer.state_dict()
        if kind == "elman":
            return elman_forward(P, inputs, np.zeros(4))[1]
        return jordan_forward(P, inputs, np.zeros(layer.output_size), layer.mu)[2]

    model = nn.Stacked([make(lower, N, 3, 1), make(upper, 3, O, 2)])
    ys, state = model(xs)
    middle = forward(lower, model.layer0, xs)
    np.testing.assert_allclose(ys.data, forward(upper, model.layer1, middle), rtol=0, atol=1e-13)
    assert isinstance(state, tuple) and len(state) == 2


def test_state_space_cell_runs_the_user_function_step_by_step(xs):
    rng = np.random.default_rng(4)
    A, C = rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(4, N))
    s0 = rng.normal(size=4)
    At, Ct = Tensor(A, requires_grad=True), Tensor(C, requires_grad=True)
    cell = nn.StateSpace(lambda x, s: ((s * 2).sum(axis=-1, keepdims=True),
                                       (x @ Ct.T + s @ At.T).tanh()),
                         initial_state=lambda batch: Tensor(np.tile(s0, (batch, 1))),
                         parameters={"A": At, "C": Ct}, input_size=N)
    ys, state = cell(xs)
    s = np.broadcast_to(s0, (B, 4))
    for t in range(T):
        np.testing.assert_allclose(ys.data[t], 2 * s.sum(axis=-1, keepdims=True), rtol=0,
                                   atol=1e-13)
        s = np.tanh(xs[t] @ C.T + s @ A.T)
    np.testing.assert_allclose(state.data, s, rtol=0, atol=1e-13)
    assert [n for n, _ in cell.named_parameters()] == ["A", "C"]


@pytest.mark.parametrize("make", [
    lambda: nn.Elman(N, 4, O, seed=5),
    lambda: nn.Jordan(N, 4, O, mu=0.6, seed=5),
    lambda: nn.Stacked([nn.Jordan(N, 4, 3, seed=5), nn.Elman(3, 4, O, seed=6)]),
])
def test_continuing_with_the_returned_state_equals_one_long_call(make, xs):
    """ys, state = model(xs[:3]); model(xs[3:], state) continues the same sequence, and with
    full BPTT one backward through both calls gives the one-call gradient."""
    model = make()
    vs = np.random.default_rng(6).normal(size=(T, B, O))
    model.zero_grad()
    ys, final = model(xs)
    nn.sequence_loss(ys, vs).backward()
    whole = engine_grads(model)

    model.zero_grad()
    first, state = model(xs[:3])
    second, final_split = model(xs[3:], state=state)
    np.testing.assert_allclose(np.concatenate([first.data, second.data]), ys.data, rtol=0,
                               atol=1e-14)
    for split, one_call in zip(final_state_arrays(final_split), final_state_arrays(final),
                               strict=True):
        np.testing.assert_allclose(split, one_call, rtol=0, atol=1e-14)
    (nn.sequence_loss(first, vs[:3]) + nn.sequence_loss(second, vs[3:])).backward()
    split_grads = engine_grads(model)
    assert split_grads.keys() == whole.keys()
    for n in whole:
        np.testing.assert_allclose(split_grads[n], whole[n], rtol=1e-12, atol=1e-14, err_msg=n)


def count_input_projection_calls(monkeypatch):
    """A list that gets one entry per InputProjection call (one per hoisted step) from now on."""
    calls, project = [], InputProjection.__call__

    def counting(self, x, t):
        calls.append(t)
        return project(self, x, t)
    monkeypatch.setattr(InputProjection, "__call__", counting)
    return calls


@pytest.mark.parametrize("make", [
    lambda **kw: nn.Elman(2, 3, 2, learn_initial_state=True, seed=7, **kw),
    lambda **kw: nn.Jordan(2, 3, 2, learn_initial_state=True, seed=7, **kw),
])
def test_hoisted_input_projection_changes_nothing_on_long_sequences(make, monkeypatch):
    """The input projection computed in blocks (hoist_input=True) gives the step-by-step
    values and gradients, across block boundaries (a sequence of 150 steps)."""
    rng = np.random.default_rng(8)
    xs, vs = rng.normal(size=(150, 1, 2)), rng.normal(size=(150, 1, 2))
    calls = count_input_projection_calls(monkeypatch)
    results = []
    for hoist, steps_projected in ((True, list(range(1, 151))), (False, [])):
        calls.clear()
        model = make(hoist_input=hoist)
        ys, _ = model(xs, truncation="chunked:20")
        assert calls == steps_projected, hoist      # each step once, in order; none unhoisted
        nn.sequence_loss(ys, vs).backward()
        results.append((ys.data, engine_grads(model)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=0, atol=1e-13)
    assert results[0][1].keys() == results[1][1].keys()
    for n in results[0][1]:
        np.testing.assert_allclose(results[0][1][n], results[1][1][n], rtol=1e-11, atol=1e-13,
                                   err_msg=n)


def test_elman_on_a_long_sequence_matches_the_hand_written_bptt():
    """Full BPTT over 120 steps (across the input projection's blocks) against the oracle."""
    rng = np.random.default_rng(9)
    model = nn.Elman(2, 3, 2, learn_initial_state=True, seed=9)
    xs, vs = rng.normal(size=(120, 1, 2)), rng.normal(size=(120, 1, 2))
    ys, _ = model(xs)
    nn.sequence_loss(ys, vs).backward()
    P = model.state_dict()
    _, want = elman_bptt(P, xs, vs, P["h0"], full_cut)
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, want[n], rtol=1e-9, atol=1e-12, err_msg=n)


def _input_nodes(ys):
    """x[t] of each step, read off the graph: the first input of each step's projection."""
    return [y.parents[0].parents[0].parents[2].parents[0] for y in ys.parents]


def test_a_constant_sequence_gives_each_step_its_row_as_a_constant_and_a_recorded_one_slices(xs):
    model = nn.Elman(N, 4, O, seed=0)
    ys, _ = model(xs)
    for t, x in enumerate(_input_nodes(ys), start=1):
        assert x.is_leaf and not x.requires_grad and x.name == f"x[{t}]" and x.meta["step"] == t
        assert np.shares_memory(x.data, xs) and np.array_equal(x.data, xs[t - 1])
    recorded = Tensor(xs, requires_grad=True)
    ys, _ = model(recorded)
    assert all(x.op == "getitem" and x.parents == (recorded,) for x in _input_nodes(ys))
    ys.sum().backward()
    assert recorded.grad.shape == xs.shape and np.all(recorded.grad != 0)


@pytest.mark.parametrize("make", [
    lambda **kw: nn.Elman(3, 4, 2, seed=3, **kw), lambda **kw: nn.LSTM(3, 4, 2, seed=3, **kw),
    lambda **kw: nn.GRU(3, 4, 2, seed=3, **kw)])
@pytest.mark.parametrize("change", ["float64 b1 in a float32 model", "no b1", "W1 too wide"])
def test_the_hoisted_projection_computes_what_linear_computes_step_by_step(make, change):
    """The block was x W1^T followed by += b1: a float64 b1 was cast into a float32 block
    (linear gives float64, and gradcheck then compared float32 differences with a float64
    gradient), b1 = None was an AttributeError and a W1 of the wrong shape numpy's own
    ValueError. Hoisted or not, the same values, gradients and errors."""
    rng = np.random.default_rng(4)
    xs, vs = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 2))
    results = []
    for hoist in (True, False):
        model = make(hoist_input=hoist)
        hidden = model.W1.shape[0]
        if change == "float64 b1 in a float32 model":
            model = model.to(np.float32)
            model.b1 = Tensor(np.linspace(-1, 1, hidden), requires_grad=True)
            xs = xs.astype(np.float32)
        elif change == "no b1":
            model.b1 = None
        else:
            model.W1 = Tensor(np.ones((hidden + 1, 3)), requires_grad=True)
            with pytest.raises(ShapeError, match="linear: operands of shapes"):
                model(xs)
            continue
        ys, _ = model(xs)
        nn.sequence_loss(ys, vs).backward()
        results.append((ys.data, engine_grads(model)))
    if results:
        (hoisted, hoisted_grads), (plain, plain_grads) = results
        assert hoisted.dtype == plain.dtype
        np.testing.assert_allclose(hoisted, plain, rtol=1e-6, atol=1e-7)
        assert hoisted_grads.keys() == plain_grads.keys()
        for name in hoisted_grads:
            np.testing.assert_allclose(hoisted_grads[name], plain_grads[name], rtol=1e-5,
                                       atol=1e-6, err_msg=name)
