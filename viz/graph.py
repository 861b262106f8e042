"""UnrolledGraph: the networkx.DiGraph that to_networkx returns, drawn inline by Jupyter."""
import networkx as nx


class UnrolledGraph(nx.DiGraph):
    """A networkx.DiGraph of a recorded computation; graph["level"] is "op" or "step".

    Everything networkx offers works on it unchanged; the only addition is `_repr_svg_`, so a
    notebook cell ending in `viz.to_networkx(R, level="step")` shows the picture (drawn at the
    graph's own level, long sequences elided, with the dot executable render.py finds).
    """

    def _repr_svg_(self):
        from .render import to_svg  # render draws a networkx graph at its own level
        return to_svg(self)
