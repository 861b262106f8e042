"""The visualizer's exception types: part of the project's hierarchy, so
`except tinygrad_rnn.TinygradRNNError` catches them too."""
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
