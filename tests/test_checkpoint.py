"""Gradient checkpointing: the same gradients as plain BPTT for a fraction of the memory."""

import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import BackwardError, SettingError, nn, truncation
from tinygrad_rnn.checkpoint import checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from harness import peak_memory_mib  # noqa: E402


def test_checkpoint_of_a_closure_matches_the_plain_graph_and_finite_differences():
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True, name="W")
    h0 = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True, name="h0")
    xs = tg.Tensor(rng.standard_normal((9, 2, 3)))

    def segment(h, rows):       # W is closed over: a leaf, so its gradient accumulates directly
        outputs = []
        for row in rows:
            h = tg.linear(h, W, row).tanh()
            outputs.append(h)
        return h, tg.stack(outputs)

    def loss(checkpointed):
        h, pieces = h0, []
        for start in range(0, 9, 3):
            run = checkpoint if checkpointed else (lambda fn, *args: fn(*args))
            h, ys = run(segment, h, xs[start:start + 3])
            pieces.append(ys)
        return (tg.concatenate(pieces) ** 2).sum() + h.sum()

    assert tg.gradcheck(lambda: loss(True), [W, h0])
    loss(True).backward()
    checked = W.grad.copy(), h0.grad.copy()
    W.grad = h0.grad = None
    loss(False).backward()
    np.testing.assert_allclose(checked[0], W.grad, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(checked[1], h0.grad, rtol=1e-13, atol=1e-15)


def test_a_single_output_comes_back_as_a_tensor():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = checkpoint(lambda a: (a * a).sum(), x)
    assert isinstance(y, tg.Tensor) and y.shape == () and y.item() == 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_a_non_leaf_from_outside_must_be_an_input():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    doubled = w * 2.0          # an op node the function closes over
    y = checkpoint(lambda a: (a * doubled).sum(), tg.Tensor([1.0, 1.0]))
    with pytest.raises(BackwardError, match="pass it to checkpoint"):
        y.backward()


MODELS = {
    "elman": lambda: nn.Elman(3, 5, 2, learn_initial_state=True, seed=0),
    "jordan": lambda: nn.Jordan(3, 5, 2, learn_initial_state=True, seed=1),
    "stacked": lambda: nn.Stacked([nn.Elman(3, 4, 3, seed=2), nn.Jordan(3, 4, 2, seed=3)]),
}


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("policy", ["full", "elman", "chunked:3"])
@pytest.mark.parametrize("every", [1, 4, 11, 50])
def test_unroll_in_segments_gives_the_plain_gradients(kind, policy, every):
    rng = np.random.default_rng(7)
    xs, vs = rng.standard_normal((11, 2, 3)), rng.standard_normal((11, 2, 2))
    model = MODELS[kind]()
    results = []
    for checkpoint_every in (None, every):
        model.zero_grad()
        ys, _ = model(xs, truncation=policy, checkpoint_every=checkpoint_every)
        nn.sequence_loss(ys, vs).backward()
        results.append((ys.data.copy(), [p.grad.copy() for p in model.parameters()]))
    (plain_ys, plain), (checked_ys, checked) = results
    np.testing.assert_allclose(checked_ys, plain_ys, rtol=1e-14, atol=1e-15)
    for a, b in zip(checked, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_checkpointing_refuses_window_and_bad_segment_lengths():
    model = nn.Elman(2, 3, 1, seed=0)
    with pytest.raises(SettingError, match="chains"):
        model(np.zeros((4, 1, 2)), truncation=truncation.window(2), checkpoint_every=2)
    with pytest.raises(SettingError, match="positive integer"):
        model(np.zeros((4, 1, 2)), checkpoint_every=0)


def test_a_long_sequence_needs_a_fraction_of_the_memory():
    rng = np.random.default_rng(3)
    xs, label = rng.standard_normal((3000, 1, 32)) * 0.1, np.array([1])
    model = nn.Elman(32, 16, 2, seed=0)

    def step(every):
        model.zero_grad()
        ys, _ = model(xs, checkpoint_every=every)
        nn.last_step_loss(ys, label).backward()

    plain, checked = peak_memory_mib(lambda: step(None)), peak_memory_mib(lambda: step(60))
    assert checked < plain / 2, (checked, plain)
