"""tinygrad_rnn: a tiny numpy autodiff engine with exact backpropagation through time.

    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0, -2.0], requires_grad=True, name="w")
    >>> loss = (w.tanh() ** 2).sum()
    >>> loss.backward()
    >>> report = tg.gradcheck(lambda w: (w.tanh() ** 2).sum(), [w])
    >>> bool(report)
    True
"""
from . import data, memory, nn, optim, truncation
from .context import detect_anomaly, enable_grad, is_grad_enabled, name_scope, no_grad, step, tagged
from .creation import arange, manual_seed, ones, ones_like, rand, randn, zeros, zeros_like
from .errors import (
    BackwardError,
    CostWarning,
    DTypeError,
    FileError,
    NumericalError,
    OutOfMemoryError,
    SettingError,
    ShapeError,
    StateDictError,
    TensorIndexError,
    TinygradRNNError,
    TinygradRNNWarning,
)
from .functional import (
    concatenate,
    cut,
    linear,
    log_softmax,
    logsumexp,
    maximum,
    softmax,
    stack,
    where,
)
from .gradcheck import GradcheckReport, GradcheckWarning, gradcheck
from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .primitives import PRIMITIVES
from .tensor import Tensor, apply
from .train import fit
