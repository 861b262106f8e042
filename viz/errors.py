"""The visualizer's exception types: part of the project's hierarchy, so
`except tinygrad_rnn.TinygradRNNError` catches them too; and the checks of viz's options that
raise them, each naming the function, the argument and the value given."""
import numbers

import numpy as np

from tinygrad_rnn.errors import TinygradRNNError


class VizError(TinygradRNNError, ValueError):
    """A graph or an option the visualizer cannot draw (unknown parameter, wrong level, ...)."""


class VizTypeError(VizError, TypeError):
    """An argument of a type the visualizer does not take (None or an array where a recorded
    Tensor or a graph from viz.to_networkx belongs)."""


class GraphvizNotFoundError(TinygradRNNError, FileNotFoundError):
    """No `dot`-compatible executable to turn DOT into SVG."""


class RenderError(TinygradRNNError, RuntimeError):
    """The `dot` executable failed: a non-zero exit, a timeout, or output that is not the
    picture asked for (empty, or not SVG/PNG); the message says which."""


def utf8_bytes(who, what, text):
    """`text` encoded as UTF-8; a VizError naming the first character UTF-8 cannot encode (a
    lone surrogate, as left by decoding bytes that are not UTF-8)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise VizError(f"{who}: {what} holds {text[exc.start:exc.end]!r} at position "
                       f"{exc.start}, which UTF-8 cannot encode (a lone surrogate, as left by "
                       f"decoding bytes that are not UTF-8); nothing was written") from None


def is_integer(value):
    """An int or a numpy integer, never a bool (tinygrad_rnn.settings' rule, written out
    here so that checking an option does not reach into the engine)."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def whole_number(who, argument, value, least=1, wanted="a positive integer"):
    """`value` as an int when it is one (numpy's too; never a bool or a float) >= least."""
    if not is_integer(value) or value < least:
        raise VizError(f"{who}: {argument} must be {wanted}, got {value!r}")
    return int(value)


def flag(who, argument, value):
    """`value` as a bool when it is one (numpy's too): never a truthy string like "no"."""
    if not isinstance(value, (bool, np.bool_)):
        raise VizError(f"{who}: {argument} must be True or False, got {value!r} "
                       f"({type(value).__name__})")
    return bool(value)


def optional_text(who, argument, value):
    """`value` when it is a str or None (a title, a label)."""
    if value is not None and not isinstance(value, str):
        raise VizError(f"{who}: {argument} must be a str, got {value!r} "
                       f"({type(value).__name__})")
    return value


def name_list(who, argument, value):
    """A tuple of names from one str or an iterable of str (a list, a tuple, a set). A set's
    names are sorted: its order changes from run to run, and the names' order picks colours."""
    if isinstance(value, str):
        return (value,)
    try:
        found = tuple(value)
    except TypeError:
        found = None
    if found is None or not all(isinstance(name, str) for name in found):
        raise VizError(f"{who}: {argument} must be a name or a list of names (str), got "
                       f"{value!r}")
    return tuple(sorted(found)) if isinstance(value, (set, frozenset)) else found


def distinct_labels(who, names):
    """The recordings' labels as text, each once: 1 and '1' would show as the same label."""
    labels = [str(name) for name in names]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise VizError(f"{who}: two recordings are labelled {twice[0]!r} (labels are shown as "
                       f"text, so 1 and '1' are the same); give each its own label")
    return labels
