"""viz: draw the unrolled graph of a recurrent network and every edge a truncation drops.

    import tinygrad_rnn as tg, viz
    ys, h = model(xs, truncation="elman")
    R = tg.nn.sequence_loss(ys, vs)
    viz.retain_grads(R)                    # optional: keep dR/dh[t] for norms and edge widths
    R.backward()
    G = viz.to_networkx(R, model)          # a networkx.DiGraph, at step level
    viz.render_svg(viz.to_dot(G, highlight="W1"), "elman.svg")
    print(viz.analysis.path_counts(G))     # gradient paths per loss term, full vs truncated
    viz.render_html(viz.explore(model, xs, vs), "explorer.html")   # every term, every policy

The modules import in one direction, each only from those before it (a test keeps it so):
  errors          the exception types, and the checks of options that raise them
  dropped, reach  which cuts drop which loss term's gradient; where each term's gradient
                  flows, and the reach matrix (plain lists and arrays)
  record          engine -> Recording (plain lists) -> the op-level networkx graph; with replay,
                  term_gradients and policies, the only modules that use the engine
  steps, replay   Recording -> the step-level networkx graph (the lecture's picture);
                  gradients by (loss term, step), through the engine
  analysis, style, term_gradients, policies
                  networkx queries (gradient paths, dropped edges, gradients by lag); colours,
                  edge styles, labels, the legend; |dR[t]/dnode| and dR[t]/dW by lag per term;
                  one model recorded under several truncations
  page_data       what the explorer page shows, packed as JSON
  dot             networkx -> Graphviz DOT
  render          DOT -> SVG or PNG with graphviz-pure or a system dot, checked, written atomically
  display         the objects to_networkx and to_dot return, which notebooks display inline
  page, reach_figure
                  the explorer page (viz.explore, viz.to_html); the reach matrix figure
"""
from . import analysis
from .analysis import gradient_by_lag, gradient_paths, path_counts, state_gradient_norms
from .display import UnrolledDigraph, UnrolledGraph, to_dot, to_networkx
from .errors import GraphvizNotFoundError, RenderError, VizError, VizTypeError
from .page import Page, explore, render_html, to_html
from .policies import default_policies, record_policies
from .reach import reach_matrix, term_reach
from .reach_figure import plot_reach_matrix
from .record import retain_grads
from .render import find_dot, render_png, render_svg, to_svg

__all__ = ["to_networkx", "to_dot", "render_svg", "render_png", "to_svg", "find_dot",
           "retain_grads", "analysis", "gradient_paths", "path_counts", "gradient_by_lag",
           "state_gradient_norms", "UnrolledGraph", "UnrolledDigraph", "VizError",
           "VizTypeError", "GraphvizNotFoundError", "RenderError", "to_html", "explore",
           "render_html", "record_policies", "default_policies", "Page", "reach_matrix",
           "term_reach", "plot_reach_matrix"]
