"""viz: draw the unrolled graph of a recurrent network and every edge a truncation drops.

    import tinygrad_rnn as tg, viz
    ys, h = model(xs, truncation="elman")
    R = tg.nn.sequence_loss(ys, vs)
    viz.retain_grads(R)                    # optional: keep dR/dh[t] for norms and edge widths
    R.backward()
    G = viz.to_networkx(R, model)          # a networkx.DiGraph, at step level
    viz.render_svg(viz.to_dot(G, highlight="W1"), "elman.svg")
    print(viz.analysis.path_counts(G))     # gradient paths per loss term, full vs truncated

The modules import in one direction, each only from those before it (a test keeps it so):
  errors      the exception types
  dropped     which cuts drop which loss term's gradient, on plain lists
  record      engine -> Recording (plain lists) -> the op-level networkx graph; with replay,
              the only modules that read engine nodes
  steps       Recording -> the step-level networkx graph (the lecture's picture)
  replay      gradients by (loss term, step), through the engine
  analysis    networkx queries: gradient paths, dropped edges, gradients by lag
  style       colours, edge styles, labels, the legend
  dot         networkx -> Graphviz DOT
  render      DOT -> SVG or PNG with graphviz-pure or a system dot, checked, written atomically
  display     the objects to_networkx and to_dot return, which notebooks display inline
"""
from . import analysis
from .analysis import gradient_by_lag, gradient_paths, path_counts, state_gradient_norms
from .display import UnrolledDigraph, UnrolledGraph, to_dot, to_networkx
from .errors import GraphvizNotFoundError, RenderError, VizError, VizTypeError
from .record import retain_grads
from .render import find_dot, render_png, render_svg, to_svg

__all__ = ["to_networkx", "to_dot", "render_svg", "render_png", "to_svg", "find_dot",
           "retain_grads", "analysis", "gradient_paths", "path_counts", "gradient_by_lag",
           "state_gradient_norms", "UnrolledGraph", "UnrolledDigraph", "VizError",
           "VizTypeError", "GraphvizNotFoundError", "RenderError"]
