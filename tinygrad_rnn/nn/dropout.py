"""Dropout (Srivastava et al. 2014), as PyTorch's nn.Dropout: in training each element is
zeroed with probability p and the survivors are scaled by 1 / (1 - p), so the expected value is
unchanged; in evaluation (model.eval()) the input passes through untouched.

    layer = nn.Dropout(0.2)
    y = layer(x)            # training: x * mask / 0.8, the mask drawn anew at every call
    layer.eval(); y = layer(x)      # y is x (an array or list comes back as a constant Tensor)

The scaled mask, mask / (1 - p), is a constant of the graph, so the gradient is the incoming
gradient times it. Masks are drawn from the
layer's own generator when it is given a seed, else from the module-level one (tg.manual_seed).
In training with 0 < p < 1 a tensor that is not floating (a bool mask) is a DTypeError, as in
PyTorch: it cannot hold the scale 1 / (1 - p).
"""
import numpy as np

from .. import settings
from ..errors import DTypeError
from ..tensor import constant
from .layers import as_rng
from .module import Module


class Dropout(Module):
    """Zero each element with probability p in training, scale the rest by 1 / (1 - p)."""

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        self.p = settings.real("Dropout", "p", p, low=0, high=1,
                               wanted="a probability in [0, 1]")
        self.rng = None if seed is None else as_rng(seed, "Dropout")

    def forward(self, x):
        x = constant(x)                 # a Tensor as it is; an array or list as a constant
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * np.zeros(x.shape, dtype=x.dtype)
        if x.dtype.kind != "f":        # the survivors' 1 / (1 - p) has no bool or int value
            raise DTypeError(f"Dropout: in training it scales the kept elements by 1 / (1 - p) "
                             f"= {1 / (1 - self.p):.4g}, which a {x.dtype} tensor cannot hold "
                             f"(a bool mask would be ANDed, an int scale cut); give floats: "
                             f"Tensor(x, dtype=np.float64)")
        rng = self.rng or as_rng(None)
        keep = rng.random(x.shape) >= self.p
        return x * (keep / (1 - self.p)).astype(x.dtype)
