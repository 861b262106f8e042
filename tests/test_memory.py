"""Value release (memory.py): a value no vjp reads is dropped, the gradient never changes, and
full BPTT stores about what hand-written BPTT stores."""
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
from nn_oracles import engine_grads

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.memory import collecting, release_unread

# The module itself: the attribute tinygrad_rnn.nn.unroll is the unroll function, which shadows it.
unroll_module = importlib.import_module("tinygrad_rnn.nn.unroll")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from harness import peak_memory_mib  # noqa: E402
from reference_numpy import elman_bptt_numpy, make_problem  # noqa: E402


def test_release_drops_exactly_the_values_no_vjp_reads():
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    x = tg.Tensor(rng.standard_normal((2, 3)))
    with collecting() as created:
        pre = x @ W.T            # read by nobody: tanh's vjp reads tanh's own output
        shifted = pre + 1.0      # read by nobody either
        h = shifted.tanh()       # read by its own vjp
        kept = h * 2.0           # mul reads both operands: h is read; kept is in `keep`
    freed = release_unread(created, keep=[kept])
    assert freed == pre.data.nbytes + shifted.data.nbytes
    assert pre.value_released and shifted.value_released
    assert not h.value_released and not kept.value_released
    assert pre.shape == (2, 4) and pre.dtype == np.float64 and np.isnan(pre.data).all()
    with pytest.raises(ValueError):
        pre.data[0, 0] = 1.0     # read-only: nothing can compute with it by accident
    kept.sum().backward()
    expected = ((2 * (1 - np.tanh(x.data @ W.data.T + 1) ** 2)).T @ x.data)
    np.testing.assert_allclose(W.grad, expected, rtol=1e-12)


def test_a_retained_gradient_keeps_its_value():
    W = tg.Tensor(np.ones((2, 2)), requires_grad=True)
    with collecting() as created:
        pre = (W * 3.0).retain_grad()
        out = pre.sum()
    release_unread(created, keep=[out])
    assert not pre.value_released


def grads_of(model, xs, vs):
    model.zero_grad()
    ys, _ = model(xs)
    nn.sequence_loss(ys, vs, "sum_squared_error").backward()
    return engine_grads(model)


def count_freed_bytes(monkeypatch):
    """A list whose sum is the bytes unroll's release_unread frees from now on."""
    freed, release = [], unroll_module.release_unread

    def counting(*args, **kwargs):
        freed.append(release(*args, **kwargs))
        return freed[-1]
    monkeypatch.setattr(unroll_module, "release_unread", counting)
    return freed


@pytest.mark.parametrize("make", [lambda: nn.Elman(8, 64, 3, seed=0),
                                  lambda: nn.Jordan(8, 64, 3, seed=0),
                                  lambda: nn.Stacked([nn.Elman(8, 64, 5, seed=0),
                                                      nn.Jordan(5, 64, 3, seed=1)])])
def test_release_never_changes_the_gradient(make, monkeypatch):
    rng = np.random.default_rng(1)
    xs, vs = rng.standard_normal((6, 16, 8)), rng.standard_normal((6, 16, 3))
    model = make()
    freed = count_freed_bytes(monkeypatch)
    released = grads_of(model, xs, vs)
    assert sum(freed) > 0
    # On the instance, not the class: Stacked sets its own releases_values in __init__, which
    # a class attribute would not override (and the comparison below would compare two
    # released runs).
    monkeypatch.setattr(model, "releases_values", False)
    freed.clear()
    kept = grads_of(model, xs, vs)
    assert sum(freed) == 0
    assert released.keys() == kept.keys()
    for name in kept:
        np.testing.assert_array_equal(released[name], kept[name])


def pre_activations(ys):
    """The linear nodes feeding tanh, found by walking the graph from the outputs."""
    found, stack, seen = [], list(ys.parents), set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.op == "tanh":
            found.append(node.parents[0])
        stack.extend(node.parents)
    return found


def test_a_large_unroll_releases_every_pre_activation_and_a_tiny_one_keeps_them():
    big = nn.Elman(4, 64, 2, seed=0)
    ys, _ = big(np.ones((5, 16, 4)))             # a step frees 16 x 64 x 8 bytes x 2 > a page
    assert all(pre.value_released for pre in pre_activations(ys))
    tiny = nn.Elman(4, 3, 2, seed=0)
    ys, _ = tiny(np.ones((5, 1, 4)))              # a few bytes a step: not worth the bookkeeping
    kept = [pre for pre in pre_activations(ys) if not pre.value_released]
    assert len(kept) >= 4


def test_outputs_are_stored_once():
    ys, _ = nn.Elman(3, 4, 2, seed=0)(np.ones((5, 2, 3)))
    assert ys.op == "stack"
    for t, y in enumerate(ys.parents):
        assert np.shares_memory(y.data, ys.data)
        np.testing.assert_array_equal(y.data, ys.data[t])


def test_full_bptt_stores_about_what_hand_written_bptt_stores():
    """Issue 5 asks at most 1.5x the numpy reference's peak; memory is deterministic, so it
    can be asserted (at a smaller size than the benchmark's, to stay fast)."""
    params, xs, vs = make_problem(dict(B=16, T=300, N=16, H=64))
    model = nn.Elman(16, 64, 16, seed=0)
    for name in params:
        getattr(model, name).data[...] = params[name]
    numpy_peak = peak_memory_mib(lambda: elman_bptt_numpy(params, xs, vs))
    engine_peak = peak_memory_mib(lambda: grads_of(model, xs, vs))
    assert engine_peak <= 1.5 * numpy_peak, (engine_peak, numpy_peak)
