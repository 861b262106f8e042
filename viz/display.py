"""What viz.to_networkx and viz.to_dot return: a networkx graph and a Graphviz drawing that
Jupyter displays inline, with the `dot` executable render.py finds.

The classes add display methods only; the drawing and the graph are made by dot.py and
steps.py/record.py, which take the type to make as `create_using` (networkx's convention), so
the display sits on top of everything it draws with and nothing below it knows of it.
"""
import functools

import graphviz
import networkx as nx

from . import dot
from .errors import VizError
from .record import record
from .render import run_dot, to_svg
from .steps import graph_at_level


class UnrolledGraph(nx.DiGraph):
    """A networkx.DiGraph of a recorded computation; graph["level"] is "op" or "step".

    Everything networkx offers works on it unchanged; the only addition is `_repr_svg_`, so a
    notebook cell ending in `viz.to_networkx(R)` shows the picture (drawn at the graph's own
    level, long sequences elided).
    """

    def _repr_svg_(self):
        return to_svg(self)


class UnrolledDigraph(graphviz.Digraph):
    """A graphviz.Digraph that notebooks render with the executable render.py finds (the
    plain Digraph would look for a `dot` on PATH). `counts` says what was drawn; `names`
    maps each node of the graph drawn to its name in the DOT text (the SVG's <title>)."""

    counts = None
    names = None

    def _repr_image_svg_xml(self):
        return to_svg(self)

    def _repr_image_png(self):
        return run_dot(self.source, "png")

    def _repr_image_jpeg(self):
        return run_dot(self.source, "jpeg")


def to_networkx(root, params=None, level="step"):
    """The recorded graph under `root` as an UnrolledGraph (a networkx.DiGraph).

    root:   a Tensor (the loss R, a loss term, any output) or a list of them; before or
            after backward.
    params: {name: Tensor}, (name, Tensor) pairs or a Module (its named_parameters());
            names the parameters. Leaves that require grad count as parameters anyway.
    level:  "step" (the lecture's picture: x[t], h[t] or s[t], y[t], R[t] and the weights;
            see steps.py) or "op" (every primitive, as torchviz).

    Node attributes: op ("leaf" for leaves), name, role (input, parameter, state, hidden,
    output, loss, cell and gate for gated cells, op, cut, constant), parameter (bool), step,
    scope, shape, dtype, requires_grad, value and grad (the arrays themselves; value None when
    the engine released it to save memory), value_norm, grad_norm (None without a gradient).
    Edges run from argument to result (data flow; gradients run back): position (argument
    index; positions and multiplicity for x * x), recurrent (crosses time steps), dropped (a
    cut drops it: no gradient flows back along it), dropped_for (the loss terms whose gradient
    stops exactly there), carries_gradient (the roots' gradient flows back along it: at op
    level, its head is on backward's walk and its tail requires grad; at step level, along some
    recorded copy of it), parameters (the weights it carries) and kind.

    >>> G = to_networkx(R, params=model.named_parameters())
    >>> G.nodes["h[3]"]["role"], G.edges["h[2]", "h[3]"]["dropped"]      # under elman
    ('state', True)
    """
    if level not in ("op", "step"):
        raise VizError(f"to_networkx: level must be 'op' or 'step', got {level!r}")
    return graph_at_level(record(root, params), level, create_using=UnrolledGraph)


@functools.wraps(dot.to_dot)           # its signature and docstring: the options are dot.py's
def to_dot(graph, *args, **options):
    options.setdefault("create_using", UnrolledDigraph)
    return dot.to_dot(graph, *args, **options)
