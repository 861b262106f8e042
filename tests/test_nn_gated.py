"""nn.LSTM and nn.GRU as cells of the one unroll: gradcheck under full BPTT, every truncation
policy, checkpointing, stacking, masks, continued sequences, value release, float32, and the
errors a wrong state or state dict gets."""
import numpy as np
import pytest
from nn_oracles import engine_grads, randomize

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, truncation
from tinygrad_rnn.errors import ShapeError, StateDictError
from tinygrad_rnn.graph import topological_order

T, B, N, H, O = 5, 2, 2, 3, 2

MODELS = {
    "lstm": lambda: nn.LSTM(N, H, O, seed=0),
    "lstm-learned-state-sigmoid-out": lambda: nn.LSTM(N, H, O, output_activation="sigmoid",
                                                      learn_initial_state=True, seed=1),
    "gru": lambda: nn.GRU(N, H, O, seed=2),
    "gru-learned-state": lambda: nn.GRU(N, H, O, learn_initial_state=True, seed=3),
    "stacked-lstm-over-gru": lambda: nn.Stacked([nn.GRU(N, H, 2, seed=4),
                                                 nn.LSTM(2, H, O, seed=5)]),
    "stacked-elman-over-lstm": lambda: nn.Stacked([nn.LSTM(N, H, 2, seed=6),
                                                   nn.Elman(2, H, O, seed=7)]),
}


@pytest.fixture(scope="module")
def sequence():
    rng = np.random.default_rng(0)
    return rng.normal(size=(T, B, N)), rng.normal(size=(T, B, O))


def gradients(model, xs, vs, policy="full", **kwargs):
    model.zero_grad()
    ys, state = model(xs, truncation=policy, **kwargs)
    nn.sequence_loss(ys, vs).backward()
    return ys.data, engine_grads(model)


@pytest.mark.parametrize("kind", MODELS)
def test_gradcheck_passes_under_full_bptt(kind, sequence):
    model = randomize(MODELS[kind](), seed=1, scale=0.7)
    xs, vs = sequence
    named = dict(model.named_parameters())      # a stack's layers share their tensors' names
    report = tg.gradcheck(lambda: nn.loss_vector(model(xs)[0], vs), named,
                          per_step=True, atol=1e-7, rtol=1e-5)
    assert report and report.first_failing_step is None, str(report)
    assert [c.name for c in report.inputs] == list(named)
    assert all(abs(c.analytic) > 0 for c in report.inputs), str(report)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradcheck_fails_under_elman_from_the_second_step(kind, sequence):
    model = randomize(MODELS[kind](), seed=2, scale=0.9)
    xs, vs = sequence
    report = tg.gradcheck(lambda: nn.loss_vector(model(xs, truncation="elman")[0], vs),
                          model.parameters(), per_step=True)
    assert not report and report.first_failing_step == 2
    assert {c.name for c in report.failures} >= {"W1", "Wm", "b1"}


@pytest.mark.parametrize("kind", MODELS)
def test_policy_identities(kind, sequence):
    """window(1) == chunked(1) == elman and window(T) == chunked(T) == full, for the whole
    state (h and c cut together)."""
    model = randomize(MODELS[kind](), seed=3, scale=0.7)
    xs, vs = sequence
    runs = {p: gradients(model, xs, vs, p) for p in
            ("full", "elman", "window:1", "chunked:1", f"window:{T}", f"chunked:{T}")}
    for a, b in (("elman", "window:1"), ("elman", "chunked:1"), ("full", f"window:{T}"),
                 ("full", f"chunked:{T}")):
        np.testing.assert_array_equal(runs[a][0], runs[b][0])
        for name in runs[a][1]:
            np.testing.assert_allclose(runs[a][1][name], runs[b][1][name], rtol=1e-12,
                                       atol=1e-14, err_msg=f"{a} vs {b}: {name}")
    assert any(np.abs(runs["full"][1][n] - runs["elman"][1][n]).max() > 1e-4
               for n in runs["full"][1])


@pytest.mark.parametrize("kind", ["lstm", "gru", "stacked-lstm-over-gru"])
@pytest.mark.parametrize("policy", ["full", "elman", "chunked:2"])
def test_checkpointing_gives_the_same_gradients(kind, policy, sequence):
    model = randomize(MODELS[kind](), seed=4, scale=0.7)
    xs, vs = sequence
    ys, plain = gradients(model, xs, vs, policy)
    ys_checked, checked = gradients(model, xs, vs, policy, checkpoint_every=2)
    np.testing.assert_array_equal(ys, ys_checked)
    for name in plain:
        np.testing.assert_allclose(checked[name], plain[name], rtol=1e-12, atol=1e-14)


def test_elman_cuts_both_h_and_c(sequence):
    xs, _ = sequence
    ys, (h, c) = nn.LSTM(N, H, O, seed=0)(xs, truncation="elman")
    cuts = [node.parents[0].name for node in topological_order([ys]) if node.op == "cut"]
    assert sorted(cuts) == sorted([f"h[{t}]" for t in range(1, T)] +
                                  [f"c[{t}]" for t in range(1, T)])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_a_sequence_continued_from_the_returned_state_equals_the_whole(kind, sequence):
    model = MODELS[kind]()
    xs, _ = sequence
    whole, final = model(xs)
    first, state = model(xs[:2])
    rest, final_split = model(xs[2:], state=state)
    np.testing.assert_allclose(np.concatenate([first.data, rest.data]), whole.data, rtol=1e-14)
    for a, b in zip(final if kind == "lstm" else (final,),
                    final_split if kind == "lstm" else (final_split,)):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-14)
    given = tuple(s.data for s in state) if kind == "lstm" else state.data   # arrays work too
    np.testing.assert_array_equal(model(xs[2:], state=given)[0].data, rest.data)


def test_masked_steps_contribute_nothing(sequence):
    """A padded batch: sample 1 ends after 3 steps; its padded steps change no gradient."""
    xs, vs = sequence
    model = nn.GRU(N, H, O, seed=0)
    mask = np.ones((T, B), dtype=bool)
    mask[3:, 1] = False
    noisy = vs.copy()
    noisy[3:, 1] = 1e3
    grads = []
    for targets in (vs, noisy):
        model.zero_grad()
        ys, _ = model(xs)
        nn.sequence_loss(ys, targets, mask=mask).backward()
        grads.append(engine_grads(model))
    for name in grads[0]:
        np.testing.assert_array_equal(grads[0][name], grads[1][name])


def test_values_no_vjp_reads_are_released_and_gradients_unchanged(sequence):
    xs, vs = sequence
    model = randomize(nn.LSTM(N, 40, O, seed=0), seed=5, scale=0.3)   # a step frees > 4 KiB
    big = np.random.default_rng(1).normal(size=(T, 16, N))
    targets = np.zeros((T, 16, O))
    ys, _ = model(big)
    released = [node.op for node in topological_order([ys]) if node.value_released]
    # per step the input projection W1 x[t] + b1 and the pre-activation a: the gates, c[t],
    # h[t] and y[t] are read by backward (or handed on) and kept
    assert released == ["linear"] * (2 * T)
    nn.sequence_loss(ys, targets).backward()
    kept = engine_grads(model)
    model.releases_values = False
    _, plain = gradients(model, big, targets)
    for name in kept:
        np.testing.assert_array_equal(kept[name], plain[name])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_float32_end_to_end(kind, sequence):
    xs, vs = sequence
    model = MODELS[kind]().to(np.float32)
    ys, state = model(xs.astype(np.float32))
    nn.sequence_loss(ys, vs.astype(np.float32)).backward()
    assert ys.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    reference = MODELS[kind]()
    ys64, _ = reference(xs)
    np.testing.assert_allclose(ys.data, ys64.data, rtol=1e-4, atol=1e-5)


def test_one_node_per_gate_computation_named_and_tagged(sequence):
    """An LSTM step: linear a -> gates[t] -> c[t] -> h[t] (and y[t]); a GRU step: linear m and
    the input projection -> gates[t] -> h[t]. The gates node holds i, f, g, o side by side."""
    xs, _ = sequence
    model = nn.LSTM(N, H, O, seed=0)
    ys, (h, c) = model(xs[:2])
    assert (c.name, c.op, c.meta["role"], c.meta["step"]) == ("c[2]", "lstm_cell", "cell", 2)
    assert (h.name, h.op, h.meta["role"]) == ("h[2]", "lstm_hidden", "state")
    gates, c_before = c.parents
    assert (gates.name, gates.op, gates.meta["role"]) == ("gates[2]", "lstm_gates", "gate")
    assert h.parents == (gates, c) and c_before.name == "c[1]"
    (a,) = gates.parents
    assert a.op == "linear" and a.parents[1] is model.Wm and a.shape == (B, 4 * H)
    i, f, g, o = (gates.data[:, k * H:(k + 1) * H] for k in range(4))
    np.testing.assert_allclose(c.data, f * c_before.data + i * g, rtol=1e-15)
    np.testing.assert_allclose(h.data, o * np.tanh(c.data), rtol=1e-15)
    _, h = nn.GRU(N, H, O, seed=0)(xs[:2])
    gates, h_before = h.parents
    assert (h.op, gates.op, gates.name, h_before.name) == ("gru_hidden", "gru_gates", "gates[2]",
                                                           "h[1]")
    assert [p.op for p in gates.parents] == ["linear", "linear"] and gates.shape == (B, 3 * H)


# --- bad input ---

def test_a_state_pair_of_the_wrong_shapes_is_named():
    model = nn.LSTM(N, H, O, seed=0)
    xs = np.zeros((T, B, N))
    with pytest.raises(ShapeError, match=r"state c must be a Tensor of shape \(2, 3\).*\(2, 4\)"):
        model(xs, state=(Tensor(np.zeros((B, H))), Tensor(np.zeros((B, 4)))))
    with pytest.raises(ShapeError, match=r"pair \(h, c\).*got Tensor of shape \(2, 3\)"):
        model(xs, state=Tensor(np.zeros((B, H))))
    with pytest.raises(ShapeError, match="pair.*a tuple of 3"):
        model(xs, state=(Tensor(np.zeros((B, H))),) * 3)


def test_an_lstm_state_given_to_a_gru_is_named():
    model = nn.GRU(N, H, O, seed=0)
    with pytest.raises(ShapeError, match=r"GRU: the state is h alone.*\(2, 3\).*LSTM"):
        model(np.zeros((T, B, N)), state=(Tensor(np.zeros((B, H))), Tensor(np.zeros((B, H)))))
    with pytest.raises(ShapeError, match=r"state h must be a Tensor of shape \(2, 3\)"):
        model(np.zeros((T, B, N)), state=Tensor(np.zeros((B + 1, H))))


def test_wrong_gate_sizes_in_a_state_dict_name_the_gate_layout():
    lstm, gru = nn.LSTM(N, H, O, seed=0), nn.GRU(N, H, O, seed=0)
    before = lstm.state_dict()
    with pytest.raises(StateDictError, match=r"W1 has shape \(9, 2\).*4 gates \(i, f, g, o\)"
                                             r".*must be \(12, 2\).*3 gate blocks of 3"):
        lstm.load_state_dict(gru.state_dict())
    for name, value in lstm.state_dict().items():       # all or nothing
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(StateDictError, match=r"bm.*must be \(9,\)"):
        gru.load_state_dict({**gru.state_dict(), "bm": np.zeros(7)})
    with pytest.raises(StateDictError, match="not in the model: bm"):
        lstm.load_state_dict({**lstm.state_dict(), "bm": np.zeros(12)})


def test_the_policy_is_still_checked(sequence):
    with pytest.raises(tg.SettingError, match="truncation"):
        nn.LSTM(N, H, O, seed=0)(sequence[0], truncation="sometimes")
    with pytest.raises(tg.SettingError):
        nn.GRU(N, H, O, seed=0)(sequence[0], truncation=truncation.window(2), checkpoint_every=2)


@pytest.mark.parametrize("make, match", [
    (lambda: nn.LSTM(N, 0, O), "hidden_size must be a positive integer, got 0"),
    (lambda: nn.GRU(N, H, 2.5), "output_size must be a positive integer, got 2.5"),
    (lambda: nn.LSTM(True, H, O), "input_size must be a positive integer, got True"),
    (lambda: nn.LSTM(N, H, O, forget_bias=float("nan")), "forget_bias must be a finite number"),
    (lambda: nn.LSTM(N, H, O, forget_bias="1"), "forget_bias must be a finite number"),
])
def test_bad_sizes_and_forget_bias_are_setting_errors(make, match):
    with pytest.raises(tg.SettingError, match=match):
        make()


GATE_SHAPES_REFUSED = {
    "lstm_gates of 5 columns": (lambda: tg.apply("lstm_gates", np.ones((2, 5))), "4 gates"),
    "gru_gates of 7 columns": (lambda: tg.apply("gru_gates", np.ones((2, 7)), np.ones((2, 7))),
                               "3 gates"),
    "gru_gates of unequal projections": (lambda: tg.apply("gru_gates", np.ones((2, 6)),
                                                          np.ones((2, 3))), "(2, 3)"),
    "lstm_cell with a state of 1": (lambda: tg.apply("lstm_cell", np.ones((2, 8)),
                                                     np.ones((2, 1))), "size H"),
    "lstm_hidden with a state of 1": (lambda: tg.apply("lstm_hidden", np.ones((2, 8)),
                                                       np.ones((2, 1))), "size H"),
    "gru_hidden with a state of 1": (lambda: tg.apply("gru_hidden", np.ones((2, 6)),
                                                      np.ones((2, 1))), "size H"),
}


@pytest.mark.parametrize("call, phrase", [pytest.param(*row, id=name)
                                          for name, row in GATE_SHAPES_REFUSED.items()])
def test_gate_primitives_check_the_blocks_of_the_last_axis(call, phrase):
    """A last axis of 7 was read as three gates of 2 (a column dropped), of 5 as four gates of
    1, and a state of size 1 broadcast against gates of size 2: a ShapeError names the op."""
    with pytest.raises(ShapeError, match=phrase) as raised:
        call()
    assert str(raised.value).split(":")[0] in ("lstm_gates", "gru_gates", "lstm_cell",
                                               "lstm_hidden", "gru_hidden")
