"""The bridge to PyTorch: to_torch(model) computes what the model computes (values to 1e-12 in
float64, gradients too, truncation as detach()), from_torch builds ours back with the same
weights, and what cannot be mapped is refused by name. Without PyTorch these tests skip, and
the rest of the package never imports it."""
import subprocess
import sys

import numpy as np
import pytest
from nn_oracles import randomize

import tinygrad_rnn as tg
from tinygrad_rnn import nn, truncation
from tinygrad_rnn.errors import DTypeError, SettingError

torch = pytest.importorskip("torch")
interop = pytest.importorskip("tinygrad_rnn.interop")

T, B, N, H, O = 6, 3, 2, 4, 3

MODELS = {
    "elman": lambda: nn.Elman(N, H, O, seed=0),
    "elman-relu-learned-sigmoid-out": lambda: nn.Elman(N, H, O, activation="relu",
                                                       output_activation="sigmoid",
                                                       learn_initial_state=True, seed=1),
    "lstm": lambda: nn.LSTM(N, H, O, seed=2),
    "lstm-learned-tanh-out": lambda: nn.LSTM(N, H, O, output_activation="tanh",
                                             learn_initial_state=True, seed=3),
    "gru": lambda: nn.GRU(N, H, O, seed=4),
    "gru-learned-relu-out": lambda: nn.GRU(N, H, O, output_activation="relu",
                                           learn_initial_state=True, seed=5),
    "stacked": lambda: nn.Stacked([nn.LSTM(N, H, 2, seed=6), nn.GRU(2, H, 2, seed=7),
                                   nn.Elman(2, H, O, seed=8)]),
}


@pytest.fixture(scope="module")
def sequence():
    rng = np.random.default_rng(1)
    return rng.normal(size=(T, B, N)), rng.normal(size=(T, B, O))


def flat(state):
    """The arrays of a state (ours or the twin's), in layer order."""
    if isinstance(state, tuple):
        return [a for s in state for a in flat(s)]
    return [state.detach().numpy() if isinstance(state, torch.Tensor) else state.data]


def twin_parameters(model, twin):
    """{our parameter name: the twin's torch tensor holding it}."""
    if isinstance(model, nn.Stacked):
        return {f"layer{i}.{name}": tensor for i, layer in enumerate(model.layers)
                for name, tensor in twin_parameters(layer, twin.layers[i]).items()}
    pairs = {"W1": twin.rnn.weight_ih_l0, "Wm": twin.rnn.weight_hh_l0, "b1": twin.rnn.bias_ih_l0,
             "W2": twin.head.weight, "b2": twin.head.bias}
    if isinstance(model, nn.GRU):
        pairs["bm"] = twin.rnn.bias_hh_l0
    pairs.update({name: getattr(twin, name) for name in ("h0", "c0")
                  if getattr(twin, name) is not None})
    return pairs


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("policy", ["full", "elman", truncation.chunked(4)])
def test_the_twin_computes_the_same_values_and_gradients(kind, policy, sequence):
    xs, vs = sequence
    model = randomize(MODELS[kind](), seed=2, scale=0.6)
    twin = interop.to_torch(model)
    ys, state = model(xs, truncation=policy)
    nn.sequence_loss(ys, vs).backward()
    ys_twin, state_twin = twin(torch.tensor(xs), truncation=policy)
    sum(((ys_twin[t] - torch.tensor(vs[t])) ** 2).mean() for t in range(T)).backward()

    np.testing.assert_allclose(ys_twin.detach().numpy(), ys.data, rtol=0, atol=1e-12)
    for ours, theirs in zip(flat(state), flat(state_twin), strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-12)
    pairs = twin_parameters(model, twin)
    assert set(pairs) == {name for name, _ in model.named_parameters()}
    for name, param in model.named_parameters():
        np.testing.assert_allclose(pairs[name].grad.numpy(), param.grad, rtol=1e-10,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", MODELS)
def test_from_torch_of_the_twin_gives_the_same_weights(kind, sequence):
    model = randomize(MODELS[kind](), seed=3, scale=0.6)
    back = interop.from_torch(interop.to_torch(model))
    assert type(back) is type(model)
    saved, restored = model.state_dict(), back.state_dict()
    assert list(restored) == list(saved)
    for name in saved:
        np.testing.assert_array_equal(restored[name], saved[name])
    np.testing.assert_array_equal(back(sequence[0])[0].data, model(sequence[0])[0].data)


def test_a_continued_state_goes_in_and_out_in_our_shapes(sequence):
    xs, _ = sequence
    model = randomize(nn.LSTM(N, H, O, seed=0), seed=4, scale=0.6)
    twin = interop.to_torch(model)
    _, state = model(xs[:2])
    ys, _ = model(xs[2:], state=state)
    ys_twin, (h, c) = twin(torch.tensor(xs[2:]),
                           state=tuple(torch.tensor(s.data) for s in state))
    assert h.shape == c.shape == (B, H)
    np.testing.assert_allclose(ys_twin.detach().numpy(), ys.data, rtol=0, atol=1e-12)


def test_float32_twins_and_float32_models(sequence):
    xs, _ = sequence
    model = nn.GRU(N, H, O, seed=0)
    twin = interop.to_torch(model, dtype=np.float32)
    assert twin.rnn.weight_ih_l0.dtype == torch.float32
    ys_twin, _ = twin(torch.tensor(xs, dtype=torch.float32))
    np.testing.assert_allclose(ys_twin.detach().numpy(), model(xs)[0].data, rtol=1e-5,
                               atol=1e-6)
    back = interop.from_torch(twin)
    assert all(p.dtype == np.float32 for p in back.parameters())
    assert interop.to_torch(model.to(np.float32)).head.weight.dtype == torch.float32


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_head", [True, False])
def test_from_a_bare_torch_module(kind, with_head, sequence):
    xs, _ = sequence
    torch.manual_seed(0)
    rnn = getattr(torch.nn, kind)(N, H).double()
    head = torch.nn.Linear(H, O).double() if with_head else None
    model = interop.from_torch(rnn, head, output_activation="tanh")
    hs, _ = rnn(torch.tensor(xs))
    expected = torch.tanh(head(hs) if with_head else hs).detach().numpy()
    np.testing.assert_allclose(model(xs)[0].data, expected, rtol=0, atol=1e-12)
    assert model.output_size == (O if with_head else H)


def test_a_module_without_biases_maps_to_zero_biases(sequence):
    xs, _ = sequence
    rnn = torch.nn.LSTM(N, H, bias=False).double()
    model = interop.from_torch(rnn)
    assert not model.b1.data.any()
    np.testing.assert_allclose(model(xs)[0].data, rnn(torch.tensor(xs))[0].detach().numpy(),
                               rtol=0, atol=1e-12)


# --- what cannot be mapped is refused by name ---

@pytest.mark.parametrize("model, error, match", [
    (nn.Jordan(N, H, O, seed=0), DTypeError, "expected nn.Elman, nn.LSTM, nn.GRU.*got Jordan"),
    (nn.WindowedMLP(N, [H], O, seed=0), DTypeError, "got WindowedMLP"),
    (nn.Elman(N, H, O, activation="sigmoid", seed=0), SettingError,
     "nonlinearity 'tanh' or 'relu'.*'sigmoid'"),
    (nn.Elman(N, H, O, output_activation=lambda y: y * 2, seed=0), SettingError,
     "output activation of Elman is a custom callable"),
])
def test_to_torch_refuses_what_torch_has_no_module_for(model, error, match):
    with pytest.raises(error, match=match):
        interop.to_torch(model)


@pytest.mark.parametrize("module, match", [
    (lambda: torch.nn.LSTM(N, H, num_layers=2), "num_layers=2 \\(expected 1.*nn.Stacked"),
    (lambda: torch.nn.GRU(N, H, bidirectional=True), "bidirectional=True \\(expected False"),
    (lambda: torch.nn.LSTM(N, H, proj_size=2), "proj_size=2 \\(expected 0\\)"),
    (lambda: torch.nn.LSTM(N, H, batch_first=True),
     "batch_first=True \\(expected False.*module.batch_first = False"),
    (lambda: torch.nn.RNN(N, H).half(), "dtype torch.float16"),
])
def test_from_torch_refuses_settings_it_cannot_map(module, match):
    with pytest.raises(SettingError, match=match):
        interop.from_torch(module())


def test_from_torch_refuses_other_kinds_and_wrong_heads():
    with pytest.raises(DTypeError, match="expected torch.nn.RNN.*got torch.nn.modules.linear"):
        interop.from_torch(torch.nn.Linear(N, H))
    with pytest.raises(DTypeError, match=r"torch.nn.Linear\(4, O\)"):
        interop.from_torch(torch.nn.GRU(N, H), head=torch.nn.Linear(H + 1, O))
    with pytest.raises(SettingError, match="output_activation must be"):
        interop.from_torch(torch.nn.GRU(N, H), output_activation="softmax")


def test_window_has_no_detach_spelling(sequence):
    twin = interop.to_torch(nn.GRU(N, H, O, seed=0))
    with pytest.raises(SettingError, match="window\\(2\\) is not a set of cuts"):
        twin(torch.tensor(sequence[0]), truncation=truncation.window(2))


def test_only_the_bridge_imports_torch():
    code = ("import sys, pkgutil, importlib, tinygrad_rnn, viz\n"
            "for m in pkgutil.walk_packages(tinygrad_rnn.__path__, 'tinygrad_rnn.'):\n"
            "    if m.name != 'tinygrad_rnn.interop':\n"
            "        importlib.import_module(m.name)\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_torch_the_bridge_says_what_to_install():
    code = ("import sys\nsys.modules['torch'] = None\n"
            "try:\n    import tinygrad_rnn.interop\n"
            "except ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "needs PyTorch" in out.stdout and "pip install torch" in out.stdout


@pytest.mark.filterwarnings("ignore::DeprecationWarning")    # torch's __array__ and numpy 2
def test_a_torch_tensor_that_requires_grad_is_refused_with_the_projects_error():
    """torch's own RuntimeError ("Can't call numpy() on Tensor that requires grad") before."""
    torch = pytest.importorskip("torch")
    given = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    linear = tg.nn.Linear(3, 2, seed=0)
    for call in (lambda: tg.Tensor(given), lambda: linear(given),
                 lambda: tg.mse_loss(np.zeros(2), given[0, :2])):
        with pytest.raises(tg.DTypeError, match="detach"):
            call()
    with pytest.raises(tg.StateDictError, match="detach"):
        linear.load_state_dict({"W": given[:2].clone(), "b": np.zeros(2)})
    assert tg.Tensor(given.detach()).shape == (2, 3)
