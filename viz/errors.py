"""The visualizer's exception types: part of the project's hierarchy, so
`except tinygrad_rnn.TinygradRNNError` catches them too."""
from tinygrad_rnn.errors import TinygradRNNError


class VizError(TinygradRNNError, ValueError):
    """A graph or an option the visualizer cannot draw (unknown parameter, wrong level, ...)."""


class GraphvizNotFoundError(TinygradRNNError, FileNotFoundError):
    """No `dot`-compatible executable to turn DOT into SVG."""


class RenderError(TinygradRNNError, RuntimeError):
    """The `dot` executable ran and failed; the message carries its stderr."""
