"""Nothing silently wrong, the sequence losses: their arguments, masks for padded batches,
targets and loss functions checked, and targets that require grad get their gradient (as with
mse_loss). Each case asserts the error type and a phrase of its message, or the right
value."""
import numpy as np
import pytest
from refusals import refusal_cases, refuses
from test_nothing_silently_wrong_models import VS, XS

from tinygrad_rnn import (
    DTypeError,
    SettingError,
    ShapeError,
    Tensor,
    nn,
)


def ys_of():
    return nn.Elman(3, 4, 2, seed=0)(XS)[0]


SEQUENCE_LOSS_REFUSALS = {
    "loss 'hinge'": (SettingError, lambda: nn.sequence_loss(ys_of(), VS, loss="hinge"),
                     "'hinge'", "'mse', 'cross_entropy', 'bce', 'sum_squared_error'"),
    "loss 5": (SettingError, lambda: nn.sequence_loss(ys_of(), VS, loss=5), "loss must be one of"),
    "loss None": (SettingError, lambda: nn.loss_terms(ys_of(), VS, loss=None), "None"),
    "last_step_loss 'hinge'": (SettingError, lambda: nn.last_step_loss(ys_of(), [0, 1],
                                                                       loss="hinge"),
                               "last_step_loss", "'hinge'", "'cross_entropy'"),
    "time_reduction 'avg'": (SettingError, lambda: nn.sequence_loss(
        ys_of(), VS, time_reduction="avg"), "time_reduction", "'avg'"),
    "a mask of 0.5": (DTypeError, lambda: nn.sequence_loss(ys_of(), VS, mask=np.full((5, 2), 0.5)),
                      "mask", "booleans"),
    "lengths of 2.5": (DTypeError, lambda: nn.last_step_loss(ys_of(), [0, 1], lengths=[2.5, 5]),
                       "lengths", "whole numbers"),
    "no outputs": (ShapeError, lambda: nn.loss_terms([], []), "T = 0"),
    "ragged labels": (DTypeError, lambda: nn.last_step_loss(ys_of(), [[1], [1, 2]]),
                      "last_step_loss", "labels must be an array of numbers"),
    "an infinite label": (ShapeError, lambda: nn.last_step_loss(ys_of(), np.array([np.inf, 0.0])),
                          "last_step_loss", "one class index per sequence"),
    "lengths of inf": (DTypeError, lambda: nn.last_step_loss(ys_of(), [0, 1],
                                                             lengths=[np.inf, 5]),
                       "lengths", "whole numbers"),
    "a label of 1e30": (ShapeError, lambda: nn.last_step_loss(ys_of(), np.array([1e30, 0.0])),
                        "cross_entropy", "from 0.0 to 1e+30"),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(SEQUENCE_LOSS_REFUSALS))
def test_sequence_loss_arguments_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


def test_sequence_losses_take_masks_arrays_and_lists_as_they_mean():
    ys = ys_of()
    plain = float(nn.sequence_loss(ys, VS))
    assert float(nn.sequence_loss(ys, VS.tolist())) == pytest.approx(plain, rel=1e-15)
    assert float(nn.sequence_loss(ys, VS, mask=np.ones((5, 2), int))) == pytest.approx(plain)
    assert float(nn.sequence_loss(ys, VS, mask=Tensor(np.ones((5, 2), bool)))) == \
        pytest.approx(plain)
    assert float(nn.sequence_loss(ys, VS, mask=np.zeros((5, 2), bool))) == 0.0
    expected = float(np.sum(np.mean(VS ** 2, axis=(1, 2))))
    assert float(nn.sequence_loss(np.zeros((5, 2, 2)), VS)) == pytest.approx(expected)
    by_floats = nn.last_step_loss(ys, [0, 1], lengths=np.array([3.0, 5.0]))
    assert float(by_floats) == float(nn.last_step_loss(ys, [0, 1], lengths=[3, 5]))


TARGET_REFUSALS = {
    "targets None": (DTypeError, lambda: nn.sequence_loss(ys_of(), None), "targets", "object"),
    "targets a number": (ShapeError, lambda: nn.sequence_loss(ys_of(), 0.0), "one entry per step"),
    "targets strings": (DTypeError, lambda: nn.sequence_loss(ys_of(), np.full((5, 2, 2), "a")),
                        "targets must be numbers"),
    "a loss returning an array": (DTypeError, lambda: nn.sequence_loss(
        ys_of(), VS, loss=lambda y, v: np.zeros(2)), "ndarray", "t=1"),
    "a loss returning None": (DTypeError, lambda: nn.loss_terms(
        ys_of(), VS, loss=lambda y, v: None), "NoneType", "not a Tensor"),
    "a loss of one argument": (SettingError, lambda: nn.sequence_loss(
        ys_of(), VS, loss=lambda y: y), "loss(y, v)"),
    "last_step_loss returning None": (DTypeError, lambda: nn.last_step_loss(
        ys_of(), VS[0], loss=lambda y, v: None), "last_step_loss", "NoneType"),
    "last_step_loss with B = 0": (ShapeError, lambda: nn.last_step_loss(
        np.zeros((5, 0, 3)), [], lengths=[]), "B = 0"),
    "last_step_loss lengths 2**62": (ShapeError, lambda: nn.last_step_loss(
        ys_of(), [0.5, 1.0], loss="mse", lengths=[2 ** 62, 5]), "1..5", str(2 ** 62)),
}


@pytest.mark.parametrize("error, call, phrases", refusal_cases(TARGET_REFUSALS))
def test_targets_and_loss_functions_are_checked(error, call, phrases):
    refuses(error, call, *phrases)


def test_targets_that_require_grad_get_it_as_with_mse_loss():
    mask = np.ones((5, 2), bool)
    mask[3:, 1] = False
    padded = VS.copy()
    padded[3:, 1] = np.nan                    # padding may hold anything
    for targets, kept in ((VS, np.ones((5, 2, 1), bool)), (padded, mask[..., None])):
        ys, v = ys_of(), Tensor(targets, requires_grad=True)
        nn.sequence_loss(ys, v, mask=None if kept.all() else mask).backward()
        # d/dv sum_t mean_{b,o} (y - v)^2 = -2 (y - v) / (B * O), 0 at padded steps
        expected = np.where(kept, -2 * (ys.data - np.nan_to_num(targets)) / 4, 0.0)
        np.testing.assert_allclose(v.grad, expected, rtol=1e-12)
    ys, labels = ys_of(), Tensor(VS[0], requires_grad=True)
    nn.last_step_loss(ys, labels, loss="mse", lengths=[2, 5]).backward()
    ends = np.stack([ys.data[1, 0], ys.data[4, 1]])
    np.testing.assert_allclose(labels.grad, -2 * (ends - VS[0]) / 2 / 2, rtol=1e-12)
