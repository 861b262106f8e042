"""LayerNorm, as PyTorch's: each sample normalized over its last axes, then scaled and shifted.

    y = (x - mean) / sqrt(var + eps) * weight + bias

mean and var (biased: divided by N) are taken over the trailing axes `normalized_shape`
names; weight starts at ones and bias at zeros (parameters "weight" and "bias", PyTorch's
state_dict names), or there are none with elementwise_affine=False. Composed of the engine's
ops, so its gradient is theirs. weight and bias are float64, as every model's parameters:
a float32 input gives a float64 output until model.to(np.float32) (or .float()).
"""
import numpy as np

from .. import settings
from ..errors import ShapeError
from ..tensor import Tensor, constant
from .module import Module


class LayerNorm(Module):
    """Normalize over the trailing axes of shape `normalized_shape` (an int or a tuple)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        super().__init__()
        shape = (normalized_shape,) if not isinstance(normalized_shape, (tuple, list)) else \
            tuple(normalized_shape)
        self.normalized_shape = tuple(settings.positive_int("LayerNorm", "normalized_shape", n)
                                      for n in shape)
        if not self.normalized_shape:
            raise ShapeError("LayerNorm: normalized_shape names no axis")
        self.eps = settings.positive_float("LayerNorm", "eps", eps)
        affine = settings.flag("LayerNorm", "elementwise_affine", elementwise_affine)
        self.weight = Tensor(np.ones(self.normalized_shape), requires_grad=True) if affine \
            else None
        self.bias = Tensor(np.zeros(self.normalized_shape), requires_grad=True) if affine \
            else None

    def forward(self, x):
        x = x if isinstance(x, Tensor) else constant(x)
        count = len(self.normalized_shape)
        if x.ndim < count or x.shape[x.ndim - count:] != self.normalized_shape:
            raise ShapeError(f"LayerNorm{self.normalized_shape}: the input's trailing axes must "
                             f"be {self.normalized_shape}, got shape {x.shape}")
        axes = tuple(range(x.ndim - count, x.ndim))
        centred = x - x.mean(axes, keepdims=True)
        variance = (centred * centred).mean(axes, keepdims=True)
        y = centred / (variance + self.eps).sqrt()
        return y if self.weight is None else y * self.weight + self.bias

    def __repr__(self):
        return (f"LayerNorm({self.normalized_shape}, eps={self.eps:g}, "
                f"elementwise_affine={self.weight is not None})")
