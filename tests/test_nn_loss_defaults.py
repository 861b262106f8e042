"""sequence_loss and last_step_loss keep different defaults on purpose (mse on targets of ys's
shape; cross_entropy on one class index per sequence); targets of the other kind get an error
that names both defaults and the loss to pass."""
import numpy as np
import pytest

from tinygrad_rnn import nn
from tinygrad_rnn.errors import ShapeError

T, B, N, C = 4, 3, 2, 3


@pytest.fixture(scope="module")
def ys():
    return nn.GRU(N, 4, C, seed=0)(np.random.default_rng(0).normal(size=(T, B, N)))[0]


def test_class_indices_given_to_sequence_loss(ys):
    labels = np.zeros((T, B), dtype=np.int64)
    with pytest.raises(ShapeError, match=r"loss='mse' compares each y\[t\] of shape \(3, 3\).*"
                                         r"\(4, 3\).*class indices: pass loss='cross_entropy'.*"
                                         r"last_step_loss's is 'cross_entropy'"):
        nn.sequence_loss(ys, labels)
    assert nn.sequence_loss(ys, labels, loss="cross_entropy").shape == ()


def test_real_valued_targets_given_to_last_step_loss(ys):
    with pytest.raises(ShapeError, match=r"one class index per sequence.*\(3, 3\).*"
                                         r"loss='mse'.*sequence_loss's default loss is 'mse'"):
        nn.last_step_loss(ys, np.zeros((B, C)))
    with pytest.raises(ShapeError, match="float64 labels of shape \\(3,\\)"):
        nn.last_step_loss(ys, np.array([0.5, 1.0, 2.0]))
    assert nn.last_step_loss(ys, np.zeros((B, C)), loss="mse").shape == ()
    assert nn.last_step_loss(ys, np.array([0.0, 1.0, 2.0])).shape == ()   # whole floats: indices


@pytest.mark.parametrize("batch", [4, 5], ids=["B == T", "B != T"])
def test_labels_given_to_sequence_loss_get_the_defaults_hint(batch):
    """last_step_loss's labels (B,) given to sequence_loss: a shape error about one step, or
    about the number of steps, that named neither default."""
    ys = np.zeros((4, batch, 3))
    with pytest.raises(ShapeError, match="last_step_loss's is 'cross_entropy'"):
        nn.sequence_loss(ys, np.arange(batch) % 3)


def test_one_target_per_step_is_not_taken_for_labels():
    """ys (T, C) with targets (T,): one class per step, unbatched; the labels hint would
    mislead (the shape is refused by the loss itself, naming the step)."""
    with pytest.raises(ShapeError) as refused:
        nn.sequence_loss(np.zeros((4, 3)), np.arange(4) % 3)
    assert "one value per sequence" not in str(refused.value)


def test_one_value_per_step_of_a_batch_is_not_called_one_per_sequence():
    """ys (T, B, O) with targets (T,), T != B: a value per step that lacks the batch axis. The
    message said it held "one value per sequence" and pointed to last_step_loss."""
    with pytest.raises(ShapeError, match=r"targets of shape \(5,\) hold one value per step "
                                         r"\(T = 5\), not one per sample of the batch \(B = 2\)"
                       ) as refused:
        nn.sequence_loss(np.zeros((5, 2, 3)), np.zeros(5), "cross_entropy")
    assert "per sequence" not in str(refused.value)
    with pytest.raises(ShapeError, match=r"\(3,\) match neither the T = 5 steps nor the B = 2"):
        nn.sequence_loss(np.zeros((5, 2, 3)), np.zeros(3), "cross_entropy")
