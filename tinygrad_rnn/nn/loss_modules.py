"""The losses as modules, as PyTorch's nn.MSELoss, nn.CrossEntropyLoss and nn.BCEWithLogitsLoss:
the reduction is chosen (and checked) when the module is made, and calling it calls the loss
function.

    criterion = nn.CrossEntropyLoss()
    loss = criterion(logits, targets)     # tg.cross_entropy(logits, targets, "mean")
"""
from .. import losses
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = losses.reduction_name(reduction, type(self).__name__)

    def __repr__(self):
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MSELoss(_Loss):
    """mse_loss(prediction, target, reduction): the mean (or sum, or none) of the squared
    errors; shapes must match exactly."""

    def forward(self, prediction, target):
        return losses.mse_loss(prediction, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """cross_entropy(logits, targets, reduction): logits (B, C) against class indices (B,)."""

    def forward(self, logits, targets):
        return losses.cross_entropy(logits, targets, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """binary_cross_entropy_with_logits(logits, targets, reduction): targets in [0, 1]."""

    def forward(self, logits, targets):
        return losses.binary_cross_entropy_with_logits(logits, targets, self.reduction)
