"""The parameters an optimizer or a clip is given, checked: a list of distinct leaf Tensors
that require grad (a bare Tensor, a Module, an array or a set is refused with what to pass
instead), and each one's gradient read as an array of numbers in its dtype."""
from collections.abc import Mapping

import numpy as np

from .errors import DTypeError, SettingError
from .tensor import Tensor


def parameter_list(owner, params):
    """`params` as a list of distinct leaf Tensors that require grad; a SettingError naming
    `owner` otherwise (what a bare Tensor, a Module or an array should have been)."""
    if isinstance(params, Tensor):
        raise SettingError(f"{owner}: got one Tensor (shape {params.shape}) as the parameter "
                           f"list; pass a list of parameters, [w], or model.parameters()")
    check_iterable(owner, params, "a list of Tensors")
    if isinstance(params, (set, frozenset)):      # as PyTorch: a set's order changes per run
        raise SettingError(f"{owner}: got the parameters as a {type(params).__name__}, whose "
                           f"order changes from run to run; pass a list (model.parameters())")
    params = list(params)
    if not params:
        raise SettingError(f"{owner}: got an empty parameter list")
    for i, p in enumerate(params):
        if isinstance(p, Mapping):
            raise SettingError(f"{owner}: parameter groups (dicts) are not supported; pass one "
                               f"list of Tensors")
        if not isinstance(p, Tensor):
            raise SettingError(f"{owner}: parameter {i} is a {type(p).__name__}, not a Tensor")
        if not p.is_leaf:
            raise SettingError(f"{owner}: parameter {i} ({parameter_name(p, i)}) is the output of "
                               f"{p.op!r}, not a leaf: optimize the leaves it is computed from")
        if not p.requires_grad:
            raise SettingError(f"{owner}: parameter {i} ({parameter_name(p, i)}) does not "
                               f"require grad, so it would never change; make it with "
                               f"requires_grad=True, or "
                               f"leave it out of the list to freeze it")
    return listed_once(owner, params)


def listed_once(owner, params):
    """params, unless one tensor is listed twice: a step would move it twice, a norm would
    count its gradient twice."""
    for i, p in enumerate(params):
        for j, earlier in enumerate(params[:i]):
            if p is earlier:
                raise SettingError(f"{owner}: parameter {i} ({parameter_name(p, i)}) is "
                                   f"parameter {j} again; list each parameter once")
    return params


def parameter_name(p, i):
    """How messages name parameter i: its name, else its position."""
    return p.name if p.name is not None else f"parameter {i}"


def check_iterable(owner, params, expected):
    """A SettingError unless `params` is an iterable of parameters: a model (pass
    model.parameters()), an array, a string, a dict or a single value is not."""
    if callable(getattr(params, "parameters", None)):
        raise SettingError(f"{owner}: got a {type(params).__name__} model as the parameter list; "
                           f"pass model.parameters()")
    if isinstance(params, (np.ndarray, str, bytes, Mapping)) or not hasattr(params, "__iter__"):
        raise SettingError(f"{owner}: the parameters must be {expected} (as "
                           f"model.parameters() returns), got {type(params).__name__}")


def gradient_array(who, name, p):
    """p.grad as a floating array: a float array as it is, a list, a Tensor or an integer
    array as numbers in p's dtype; booleans, complex numbers, strings and objects are not
    gradients (a DTypeError: complex would lose its imaginary part, "1" would be parsed)."""
    grad = p.grad
    if isinstance(grad, np.ndarray) and grad.dtype.kind == "f":
        return grad
    try:
        values = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"{who}: the gradient of {name} is not an array of numbers "
                         f"({exc})") from None
    if values.dtype.kind not in "iuf":
        raise DTypeError(f"{who}: the gradient of {name} is not an array of numbers: it holds "
                         f"{values.dtype} values (a gradient holds real numbers); no parameter "
                         f"or gradient was changed")
    return values.astype(p.dtype if p.dtype.kind == "f" else np.float64)
