"""What an op that fails is reported as: numpy's exception in a primitive's forward as the
project's (DTypeError, ShapeError, TensorIndexError, OutOfMemoryError, SettingError for inputs
or parameters the forward does not take), naming the op, its operands' shapes and the time
step; and detect_anomaly()'s NaN or Inf from finite operands."""
import inspect

import numpy as np

from .context import recording
from .errors import (
    DTypeError,
    NumericalError,
    OutOfMemoryError,
    SettingError,
    ShapeError,
    TensorIndexError,
    TinygradRNNError,
    shapes_of,
    where_in_time,
)


def forward_error(prim, arrays, params, exc):
    """The project's exception for a numpy error in prim's forward, naming the op, the
    operands' shapes and the time step."""
    where = where_in_time(recording.meta)
    if isinstance(exc, TinygradRNNError):      # already ours (a released value was read)
        return type(exc)(f"{prim.name}: {exc}{where}")
    if isinstance(exc, TypeError) and params is not None:
        unfit = _unfit_arguments(prim, arrays, params)
        if unfit is not None:
            return unfit
    if isinstance(exc, TypeError):
        return DTypeError(f"{prim.name}: operands of dtypes "
                          f"{' and '.join(str(a.dtype) for a in arrays)} are not supported: "
                          f"{exc}{where}")
    if isinstance(exc, IndexError) and "index" in (params or {}):
        return TensorIndexError(f"{prim.name}: index {params['index']!r} into shape "
                                f"{shapes_of(arrays)}: {exc}{where}")
    if isinstance(exc, MemoryError):
        return OutOfMemoryError(f"{prim.name}: the result for operands of shapes "
                                f"{shapes_of(arrays)} does not fit in memory ({exc}){where}")
    return ShapeError(f"{prim.name}: operands of shapes {shapes_of(arrays)} do not fit: "
                      f"{exc}{where}")


def _unfit_arguments(prim, arrays, params):
    """A SettingError when apply() gave the primitive's forward inputs or parameters it does
    not take (apply("sum", x) without axis= and keepdims=), else None: numpy's TypeError would
    pass for operands of an unsupported dtype."""
    try:
        signature = inspect.signature(prim.forward)
        signature.bind(*arrays, **params)
    except ValueError:                  # (no signature to compare with)
        return None
    except TypeError as exc:
        given = ", ".join(f"{key}=" for key in params) or "no parameters"
        return SettingError(f"{prim.name}: its forward takes {signature} (inputs, then "
                            f"parameters by keyword); got {len(arrays)} input(s) and {given}: "
                            f"{exc}{where_in_time(recording.meta)}")
    return None


def check_finite(prim, arrays, out):
    """detect_anomaly(): a NumericalError when prim made NaN or Inf from finite operands."""
    if not np.all(np.isfinite(out)) and all(np.all(np.isfinite(a)) for a in arrays):
        raise NumericalError(f"{prim.name} produced NaN or Inf from finite operands of shapes "
                             f"{shapes_of(arrays)}{where_in_time(recording.meta)}")
