"""Checks of the settings that models, policies, optimizers, losses and gradcheck take.

Each check returns the value in its plain Python form (a numpy integer becomes an int, a numpy
float a float) or raises a SettingError that names the owner, the argument and the value:

    >>> positive_int("Elman", "hidden_size", np.int64(16))
    16
    >>> positive_int("Elman", "hidden_size", 2.5)
    SettingError: Elman: hidden_size must be a positive integer, got 2.5 (float)

A bool is never a number here (True is not a hidden size of 1), and a float is never an integer
(3.0 steps is refused rather than rounded), as in PyTorch's argument parsing.
"""
import inspect
import math
import numbers

import numpy as np

from .errors import SettingError


def _refuse(owner, argument, wanted, value):
    kind, shown = type(value).__name__, repr(value)
    if len(shown) > 60:
        shown = f"{shown[:50]}... ({len(shown)} characters)"
    raise SettingError(f"{owner}: {argument} must be {wanted}, got {shown} ({kind})")


def is_integer(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def integer(owner, argument, value, minimum=None):
    """An int (numpy integers too; never a bool or a float) of at least `minimum`."""
    wanted = ("an integer" if minimum is None else "a positive integer" if minimum == 1
              else "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}")
    if not is_integer(value) or (minimum is not None and value < minimum):
        _refuse(owner, argument, wanted, value)
    return int(value)


def positive_int(owner, argument, value):
    """An int >= 1: a size, a number of steps, a window."""
    return integer(owner, argument, value, minimum=1)


def non_negative_int(owner, argument, value):
    """An int >= 0: a count that may be zero."""
    return integer(owner, argument, value, minimum=0)


def real(owner, argument, value, *, low=None, high=None, low_open=False, high_open=False,
         finite=True, wanted=None):
    """A float (ints and numpy scalars too; never a bool, a str or NaN) in the given range:
    [low, high] by default, (low, ...] with low_open, [..., high) with high_open."""
    if wanted is None:
        wanted = _describe_range(low, high, low_open, high_open, finite)
    if not _is_real(value):
        _refuse(owner, argument, wanted, value)
    try:
        number = float(value)
    except OverflowError:              # an int beyond float's range: infinite, for the checks
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number) or (finite and math.isinf(number)):
        _refuse(owner, argument, wanted, value)
    if low is not None and (number < low or (low_open and number == low)):
        _refuse(owner, argument, wanted, value)
    if high is not None and (number > high or (high_open and number == high)):
        _refuse(owner, argument, wanted, value)
    return number


def _describe_range(low, high, low_open, high_open, finite):
    prefix = "a finite number" if finite else "a number"
    if low == 0 and high is None:
        return f"{prefix} {'> 0' if low_open else '>= 0'}"
    if low is None and high is None:
        return prefix
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f"{prefix} in {left}{low}, {high}{right}"


def positive_float(owner, argument, value, finite=True):
    """A float > 0 (a learning rate, eps, a tolerance step); finite unless finite=False."""
    return real(owner, argument, value, low=0, low_open=True, finite=finite)


def non_negative_float(owner, argument, value):
    """A finite float >= 0 (momentum, weight decay, a tolerance)."""
    return real(owner, argument, value, low=0)


def flag(owner, argument, value):
    """A bool (numpy's too): a setting that is on or off, never a truthy string."""
    if not isinstance(value, (bool, np.bool_)):
        _refuse(owner, argument, "True or False", value)
    return bool(value)


def one_of(owner, argument, value, choices):
    """One of `choices` (a str setting: a mode, a reduction); the message lists them."""
    try:
        if value in choices:
            return value
    except TypeError:        # an unhashable value tested against a dict or set
        pass
    listed = ", ".join(repr(c) for c in choices)
    raise SettingError(f"{owner}: {argument} must be one of {listed}, got {value!r}")


def function(owner, argument, value, call=None, arguments=None):
    """Something callable; with `arguments` (a count), one that can be called with that many
    positional arguments, as `call` spells it ("loss_fn(step)"). A function whose signature
    shows it cannot is refused here rather than failing with a TypeError mid-run (a builtin
    without a signature is given the benefit of the doubt)."""
    if not callable(value):
        _refuse(owner, argument, "a function (something callable)", value)
    if arguments is not None and not takes_positional(value, arguments):
        name = getattr(value, "__name__", type(value).__name__)
        raise SettingError(f"{owner}: {argument} must take {arguments} positional argument"
                           f"{'' if arguments == 1 else 's'}, {call}; {name!r} cannot be "
                           f"called that way")
    return value


def takes_positional(fn, count):
    """False only when fn's signature shows it cannot be called with `count` positional
    arguments."""
    try:
        inspect.signature(fn).bind(*range(count))
    except TypeError:
        return False
    except ValueError:       # no signature to read (some builtins)
        return True
    return True


def seed(owner, value, argument="seed"):
    """What numpy.random.default_rng takes: None (fresh entropy), an int >= 0, a
    SeedSequence or a Generator; returned as given (a numpy integer as an int)."""
    if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence,
                                           np.random.BitGenerator)):
        return value
    return integer(owner, argument, value, minimum=0)


def seed_sequence(owner, value, argument="seed"):
    """A numpy SeedSequence from a checked seed, for code that splits one seed into several
    independent streams: an int >= 0 or a SeedSequence as it is, None for fresh entropy, a
    Generator (or a BitGenerator) from its next draw (so it advances, as it would if it drew
    the data itself)."""
    value = seed(owner, value, argument)
    if isinstance(value, np.random.SeedSequence):
        return value
    if isinstance(value, np.random.BitGenerator):
        value = np.random.Generator(value)
    if isinstance(value, np.random.Generator):
        return np.random.SeedSequence(int(value.integers(2 ** 63)))
    return np.random.SeedSequence(value)


def rng(owner, value, argument="seed"):
    """A numpy Generator from a checked seed (a Generator is used as it is)."""
    value = seed(owner, value, argument)
    return value if isinstance(value, np.random.Generator) else np.random.default_rng(value)
