"""PyTorch's spellings of the engine's arguments: dim= for axis=, keepdim= for keepdims=.

Every op that takes an axis also takes it as dim= (a keyword), so code written for PyTorch,
x.sum(dim=1, keepdim=True), and for numpy, x.sum(axis=1, keepdims=True), both run. Giving
both spellings of one argument is a SettingError that names them.

    >>> def sum(self, axis=ALL_AXES, keepdims=NOT_KEPT, *, dim=NOT_GIVEN, keepdim=NOT_GIVEN):
    ...     axis = either("sum", "axis", axis, "dim", dim)
"""
from .errors import SettingError


class Default:
    """A default argument that remembers it was not given; it prints as its value, so
    signatures read as usual (axis=None, keepdims=False)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return repr(self.value)


ALL_AXES = Default(None)
LAST_AXIS = Default(-1)
FIRST_AXIS = Default(0)
NOT_KEPT = Default(False)
NOT_GIVEN = Default(None)   # the PyTorch spelling left out: dim=None is given, and means axis=None


def either(op, name, value, alias_name, alias):
    """The argument given as `name` or as `alias_name` (a Default: not given), its default if
    neither was; both given is a SettingError. An alias given as None is given: dim=None means
    what axis=None means."""
    if isinstance(alias, Default):
        return value.value if isinstance(value, Default) else value
    if not isinstance(value, Default):
        raise SettingError(f"{op}: give {name}= or {alias_name}= (the same argument, numpy's "
                           f"and PyTorch's spelling), not both: got {name}={value!r} and "
                           f"{alias_name}={alias!r}")
    return alias
