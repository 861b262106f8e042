"""Module: the lecture's parameter names and shapes, zero_grad, state_dict round trips, .npz
save/load, an atomic save that survives a crash, and a load that refuses a file that does not
fit."""
import os

import numpy as np
import pytest

from tinygrad_rnn import SettingError, StateDictError, Tensor, nn
from tinygrad_rnn.nn import module

N, H, O = 3, 5, 2


def shapes(model):
    return [(name, p.shape) for name, p in model.named_parameters()]


def test_elman_names_and_shapes_are_the_lecture_s():
    assert shapes(nn.Elman(N, H, O, seed=0)) == [
        ("W1", (H, N)), ("Wm", (H, H)), ("b1", (H,)), ("W2", (O, H)), ("b2", (O,))]
    assert shapes(nn.Elman(N, H, O, learn_initial_state=True, seed=0))[-1] == ("h0", (H,))


def test_jordan_names_and_shapes_are_the_lecture_s():
    assert shapes(nn.Jordan(N, H, O, seed=0)) == [
        ("W1", (H, N)), ("Wm", (H, O)), ("b1", (H,)), ("W2", (O, H)), ("b2", (O,))]
    assert shapes(nn.Jordan(N, H, O, learn_initial_state=True, seed=0))[-1] == ("s1", (O,))


def test_parameters_follow_named_parameters_and_nested_names_are_dotted():
    model = nn.Stacked([nn.Elman(N, H, 4, seed=0), nn.Jordan(4, H, O, seed=1)])
    named = list(model.named_parameters())
    assert [n for n, _ in named] == [f"layer{i}.{k}" for i in (0, 1)
                                     for k in ("W1", "Wm", "b1", "W2", "b2")]
    assert all(a is b for a, (_, b) in zip(model.parameters(), named, strict=True))
    assert dict(named)["layer1.Wm"].shape == (H, O)


def test_a_shared_parameter_is_listed_once():
    shared = Tensor(np.ones((2, 2)), requires_grad=True)
    model = nn.StateSpace(lambda x, s: (s @ shared, s @ shared), Tensor(np.zeros(2)),
                          parameters={"A": shared, "B": shared})
    assert [n for n, _ in model.named_parameters()] == ["A"]


def test_zero_grad_clears_every_gradient():
    model = nn.Elman(N, H, O, learn_initial_state=True, seed=0)
    ys, _ = model(np.ones((3, 2, N)))
    nn.sequence_loss(ys, np.zeros((3, 2, O))).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_copies_values():
    a, b = nn.Jordan(N, H, O, seed=0), nn.Jordan(N, H, O, seed=1)
    state = a.state_dict()
    assert list(state) == [n for n, _ in a.named_parameters()]
    state["W1"][...] = 7.0                      # a copy: the model is untouched
    assert not np.any(a.W1.data == 7.0)
    state = a.state_dict()
    b.load_state_dict(state)
    for name, p in b.named_parameters():
        np.testing.assert_array_equal(p.data, state[name])
    state["b1"][...] = 0.0                      # loading copied too
    assert not np.all(b.b1.data == 0.0)
    xs = np.random.default_rng(0).normal(size=(4, 2, N))
    np.testing.assert_array_equal(a(xs)[0].data, b(xs)[0].data)


def test_load_state_dict_keeps_the_parameter_objects():
    model = nn.Elman(N, H, O, seed=0)
    before = model.parameters()
    model.load_state_dict(nn.Elman(N, H, O, seed=1).state_dict())
    assert all(x is y for x, y in zip(before, model.parameters(), strict=True))


def test_save_load_npz_round_trip(tmp_path):
    model = nn.Stacked([nn.Elman(N, H, 4, seed=0),
                        nn.Jordan(4, H, O, learn_initial_state=True, seed=1)])
    model.layer1.s1.data[...] = [0.5, -0.25]
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as saved:
        assert sorted(saved.files) == sorted(model.state_dict())
    fresh = nn.Stacked([nn.Elman(N, H, 4, seed=5),
                        nn.Jordan(4, H, O, learn_initial_state=True, seed=6)])
    assert fresh.load(str(path)) is fresh
    for (name, p), (_, q) in zip(model.named_parameters(), fresh.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert os.listdir(tmp_path) == ["model.npz"]


def saved_values(path):
    with np.load(path) as saved:
        return {name: saved[name].copy() for name in saved.files}


@pytest.fixture
def old_file(tmp_path):
    """A model saved once; the tests then try to overwrite it with another model's weights."""
    path = tmp_path / "model.npz"
    old = nn.Elman(N, H, O, seed=0)
    old.save(path)
    return path, old.state_dict(), nn.Elman(N, H, O, seed=1)


def assert_old_file_intact(path, old_state):
    assert os.listdir(path.parent) == [path.name]      # no temporary file left behind
    current = saved_values(path)
    assert current.keys() == old_state.keys()
    for name in old_state:
        np.testing.assert_array_equal(current[name], old_state[name])


def test_a_crash_while_writing_leaves_the_old_file_intact(old_file, monkeypatch):
    path, old_state, new = old_file

    def write_npz_that_crashes(file, arrays):
        file.write(b"PK\x03\x04 half an archive")     # some bytes reach the disk, then...
        raise RuntimeError("disk full")

    monkeypatch.setattr(module, "write_npz", write_npz_that_crashes)
    with pytest.raises(RuntimeError, match="disk full"):
        new.save(path)
    assert_old_file_intact(path, old_state)


def test_an_interrupt_while_writing_leaves_the_old_file_intact(old_file, monkeypatch):
    path, old_state, new = old_file

    def write_npz_interrupted(file, arrays):
        file.write(b"\0" * 100)
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "write_npz", write_npz_interrupted)
    with pytest.raises(KeyboardInterrupt):
        new.save(path)
    assert_old_file_intact(path, old_state)


def test_a_failing_rename_leaves_the_old_file_intact(old_file, monkeypatch):
    path, old_state, new = old_file

    def replace_that_fails(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", replace_that_fails)
    with pytest.raises(OSError, match="rename failed"):
        new.save(path)
    assert_old_file_intact(path, old_state)


def test_a_successful_save_replaces_the_old_file(old_file):
    path, _, new = old_file
    new.save(path)
    current = saved_values(path)
    for name, p in new.named_parameters():
        np.testing.assert_array_equal(current[name], p.data)
    assert os.listdir(path.parent) == [path.name]


def assert_refused_untouched(model, load, *fragments):
    before = model.state_dict()
    with pytest.raises(StateDictError) as info:
        load()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name], err_msg=name)
    return str(info.value)


def test_load_refuses_wrong_shapes_and_names_them(tmp_path):
    path = tmp_path / "elman.npz"
    nn.Elman(N, H, O, seed=0).save(path)
    wider = nn.Elman(N, H + 1, O, seed=1)
    assert_refused_untouched(wider, lambda: wider.load(path), "shape mismatch",
                             f"W1: model {(H + 1, N)}, saved {(H, N)}",
                             f"Wm: model {(H + 1, H + 1)}, saved {(H, H)}",
                             f"b1: model {(H + 1,)}, saved {(H,)}")
    jordan = nn.Jordan(N, H, O, seed=1)      # same names, Wm is (H, O) not (H, H)
    message = assert_refused_untouched(jordan, lambda: jordan.load(path),
                                       f"Wm: model {(H, O)}, saved {(H, H)}")
    assert "W1" not in message.split("shape mismatch")[1]


def test_load_refuses_missing_and_unexpected_names_and_names_them(tmp_path):
    path = tmp_path / "elman.npz"
    nn.Elman(N, H, O, learn_initial_state=True, seed=0).save(path)
    plain = nn.Elman(N, H, O, seed=1)
    assert_refused_untouched(plain, lambda: plain.load(path), "not in the model: h0")
    nn.Elman(N, H, O, seed=0).save(path)
    learned = nn.Elman(N, H, O, learn_initial_state=True, seed=1)
    assert_refused_untouched(learned, lambda: learned.load(path),
                             "missing from the saved state: h0")
    stacked = nn.Stacked([nn.Elman(N, H, O, seed=2)])
    assert_refused_untouched(stacked, lambda: stacked.load(path), "layer0.W1",
                             "not in the model: W1")


def test_load_refuses_a_file_that_is_not_a_saved_model(tmp_path):
    model = nn.Elman(N, H, O, seed=0)
    np.save(tmp_path / "bare.npy", np.zeros(3))
    assert_refused_untouched(model, lambda: model.load(tmp_path / "bare.npy"), "unnamed array")
    (tmp_path / "junk.npz").write_bytes(b"not a numpy file")
    assert_refused_untouched(model, lambda: model.load(tmp_path / "junk.npz"), "junk.npz")


def test_load_state_dict_refuses_and_changes_nothing():
    model = nn.Jordan(N, H, O, seed=0)
    state = nn.Jordan(N, H, O, seed=1).state_dict()
    state["b2"] = np.zeros(O + 1)
    del state["W1"]
    assert_refused_untouched(model, lambda: model.load_state_dict(state),
                             "missing from the saved state: W1",
                             f"b2: model {(O,)}, saved {(O + 1,)}")


# --- assigning attributes: as torch's Module, nothing dropped or reordered without a word ---

def test_a_layer_assigned_anew_keeps_its_place_and_is_the_one_that_runs():
    x = Tensor(np.ones((1, 2)))
    seq = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Tanh(), nn.Linear(2, 2, seed=1))
    before = seq(x).data.copy()
    new = nn.Linear(2, 2, seed=2)
    setattr(seq, "0", new)                             # other weights, in the same place
    assert seq[0] is new and [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    assert not np.array_equal(seq(x).data, before)
    setattr(seq, "0", nn.Linear(2, 2, seed=0))         # the first weights again
    np.testing.assert_array_equal(seq(x).data, before)
    lin = nn.Linear(2, 3, seed=0)
    lin.W = Tensor(np.ones((3, 2)), requires_grad=True)
    assert [name for name, _ in lin.named_parameters()] == ["W", "b"]
    for model in (nn.MLP([2, 3, 1], seed=0), nn.Stacked([nn.Elman(2, 3, 2, seed=0),
                                                        nn.Elman(2, 3, 1, seed=1)])):
        inputs = x if isinstance(model, nn.MLP) else np.ones((3, 1, 2))
        first = model(inputs)
        first = (first[0] if isinstance(first, tuple) else first).data.copy()
        model.layer0 = (nn.Linear(2, 3, seed=9) if isinstance(model, nn.MLP)
                        else nn.Elman(2, 3, 2, seed=9))
        again = model(inputs)
        again = again[0] if isinstance(again, tuple) else again
        assert not np.allclose(again.data, first)       # the new layer runs
        again.sum().backward()
        weight = model.layer0.W if isinstance(model, nn.MLP) else model.layer0.W1
        assert weight.grad is not None                   # and is trained
        with pytest.raises(TypeError):                   # layers is a view: not assignable
            model.layers[0] = model.layer0


def test_a_temporal_conv_filter_assigned_anew_is_the_one_that_runs():
    """forward read a list of (W, b) made in __init__, so a new conv0_W was saved, listed and
    stepped by an optimizer but never run, and never got a gradient."""
    xs = np.random.default_rng(0).standard_normal((4, 2, 3))
    conv = nn.TemporalConv(3, 5, 2, kernel_size=2, seed=0)
    old_W, old_b = conv.conv0_W, conv.conv0_b
    conv.conv0_W = Tensor(np.zeros((2, 5, 3)), requires_grad=True)
    conv.conv0_b = Tensor(np.zeros(5), requires_grad=True)
    ys, _ = conv(xs)
    # zero filters: every channel is tanh(0) = 0, so every y[t] is the head's output at 0
    at_zero = conv.head(Tensor(np.zeros((2, 5)))).data
    for t in range(4):
        np.testing.assert_allclose(ys.data[t], at_zero)
    ys.sum().backward()
    assert conv.conv0_W.grad is not None and conv.conv0_b.grad is not None
    assert old_W.grad is None and old_b.grad is None
    assert conv.filters == ((conv.conv0_W, conv.conv0_b),)
    with pytest.raises(TypeError):                       # filters is a view: not assignable
        conv.filters[0] = (old_W, old_b)


def test_a_parameter_is_not_replaced_by_a_tensor_that_would_drop_out_of_parameters():
    lin = nn.Linear(2, 3, seed=0)
    for value in (Tensor(np.ones((3, 2))), lin.W * 2.0, np.ones((3, 2))):
        with pytest.raises(SettingError, match="Linear.W is a parameter"):
            lin.W = value
    assert [name for name, _ in lin.named_parameters()] == ["W", "b"]
    lin.b = None                                       # dropping it on purpose is allowed
    assert [name for name, _ in lin.named_parameters()] == ["W"]


def test_a_name_with_a_dot_is_refused():
    """state_dict joins names with '.': 'a.b' and module a's parameter b collided."""
    m = nn.Module()
    with pytest.raises(SettingError, match="'a.b' holds a '.'"):
        setattr(m, "a.b", Tensor([2.0], requires_grad=True))


@pytest.mark.parametrize("make", [lambda: nn.Elman(3, 4, 2, seed=0),
                                  lambda: nn.LSTM(3, 4, 2, seed=0),
                                  lambda: nn.Jordan(3, 4, 2, seed=0), lambda: nn.MLP([3, 4, 2])],
                         ids=["Elman", "LSTM", "Jordan", "MLP"])
def test_a_model_pickles_and_computes_the_same(make):
    """A lambda among the activations made pickle.dumps(model) raise PicklingError."""
    import pickle
    model = make()
    again = pickle.loads(pickle.dumps(model))
    xs = np.random.default_rng(0).standard_normal((4, 2, 3))
    first = model(xs) if isinstance(model, nn.MLP) else model(xs)[0]
    second = again(xs) if isinstance(model, nn.MLP) else again(xs)[0]
    np.testing.assert_array_equal(first.data, second.data)
