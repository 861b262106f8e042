"""Creation functions (zeros, ones, zeros_like, ones_like, randn, rand, arange) and
manual_seed: the module-level generator that they and every model built with seed=None draw
from."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import DTypeError, SettingError, ShapeError


def test_zeros_ones_and_their_likes():
    for make, value in ((tg.zeros, 0.0), (tg.ones, 1.0)):
        for shape_args in ((2, 3), ((2, 3),), ([2, 3],)):
            t = make(*shape_args)
            assert t.shape == (2, 3) and t.dtype == np.float64 and np.all(t.data == value)
        assert make(4, dtype=np.float32).dtype == np.float32
        w = make(3, requires_grad=True, name="w")
        assert w.requires_grad and w.is_leaf and w.name == "w"
    like = tg.zeros_like(tg.randn(2, 5, dtype=np.float32))
    assert like.shape == (2, 5) and like.dtype == np.float32 and not like.data.any()
    assert tg.ones_like(np.zeros((4, 1))).data.tolist() == [[1.0]] * 4
    assert tg.zeros(0, 3).shape == (0, 3)


def test_a_created_parameter_trains():
    w = tg.zeros(3, requires_grad=True)
    ((w - tg.arange(3)) ** 2).sum().backward()
    np.testing.assert_array_equal(w.grad, [0.0, -2.0, -4.0])


def test_arange_is_numpys_in_float():
    np.testing.assert_array_equal(tg.arange(5).data, np.arange(5.0))
    np.testing.assert_array_equal(tg.arange(1, 2, 0.25).data, [1.0, 1.25, 1.5, 1.75])
    np.testing.assert_array_equal(tg.arange(3, 0, -1).data, [3.0, 2.0, 1.0])
    assert tg.arange(5).dtype == np.float64 and tg.arange(2, dtype=np.float32).dtype == np.float32
    with pytest.raises(SettingError, match="step must not be 0"):
        tg.arange(0, 3, 0)
    with pytest.raises(SettingError, match="end must be a finite number"):
        tg.arange(0, float("inf"))


def test_randn_and_rand_draw_from_the_seeded_generator():
    tg.manual_seed(7)
    first = (tg.randn(1000).data, tg.rand(3, 4).data)
    tg.manual_seed(7)
    again = (tg.randn(1000).data, tg.rand(3, 4).data)
    expected = np.random.default_rng(7)
    np.testing.assert_array_equal(first[0], expected.standard_normal(1000))
    np.testing.assert_array_equal(first[1], expected.random((3, 4)))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert abs(first[0].mean()) < 0.15 and 0.85 < first[0].std() < 1.15
    assert first[1].min() >= 0 and first[1].max() < 1
    own = tg.randn(3, generator=np.random.default_rng(1)).data
    np.testing.assert_array_equal(own, np.random.default_rng(1).standard_normal(3))


def test_models_built_without_a_seed_follow_manual_seed():
    def build():
        return [nn.LSTM(3, 4, 2), nn.Elman(3, 4, 2), nn.Linear(3, 2), nn.Embedding(5, 2)]

    tg.manual_seed(3)
    first = [m.state_dict() for m in build()]
    tg.manual_seed(3)
    again = [m.state_dict() for m in build()]
    for a, b in zip(first, again):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    tg.manual_seed(4)
    other = build()[0].state_dict()
    assert not np.array_equal(other["W1"], first[0]["W1"])
    seeded = nn.LSTM(3, 4, 2, seed=0).state_dict()      # its own seed: manual_seed is not read
    tg.manual_seed(99)
    np.testing.assert_array_equal(nn.LSTM(3, 4, 2, seed=0).state_dict()["W1"], seeded["W1"])


@pytest.mark.parametrize("call, error, match", [
    (lambda: tg.zeros(-1, 2), ShapeError, "non-negative integers"),
    (lambda: tg.ones(2.5), ShapeError, "non-negative integers"),
    (lambda: tg.randn(2, dtype=np.int64), DTypeError, "must be floating"),
    (lambda: tg.manual_seed(-1), SettingError, "non-negative integer"),
    (lambda: tg.manual_seed("0"), SettingError, "non-negative integer"),
])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
