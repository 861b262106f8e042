"""viz: draw the unrolled graph of a recurrent network and every edge a truncation drops.

    import tinygrad_rnn as tg, viz
    ys, h = model(xs, truncation="elman")
    R = tg.nn.sequence_loss(ys, vs)
    viz.retain_grads(R)                    # optional: keep dR/dh[t] for norms and edge widths
    R.backward()
    G = viz.to_networkx(R, model, level="step")     # a networkx.DiGraph
    viz.render_svg(viz.to_dot(G, highlight="W1"), "elman.svg")
    print(viz.analysis.path_counts(G))     # gradient paths per loss term, full vs truncated
    viz.render_html(viz.explore(model, xs, vs), "explorer.html")   # every term, every policy

Layers: export (engine -> networkx), replay and term_gradients (gradients by step and by loss
term, through the engine): the only modules that read engine nodes; steps and
dropped (step level, per-term truncation, on plain lists), analysis (networkx queries), dot
and style (networkx -> DOT), render (DOT -> SVG with graphviz-pure or a system dot); reach
(where each loss term's gradient flows, the reach matrix; reach_figure draws it), page (the
explorer: page_data packs what term_gradients computes through the engine per loss term,
policies records one model under several truncations).
"""
from . import analysis
from .analysis import gradient_by_lag, gradient_paths, path_counts, state_gradient_norms
from .dot import UnrolledDigraph, to_dot
from .errors import GraphvizNotFoundError, RenderError, VizError
from .export import retain_grads, to_networkx
from .graph import UnrolledGraph
from .page import Page, explore, render_html, to_html
from .policies import default_policies, record_policies
from .reach import reach_matrix, term_reach
from .reach_figure import plot_reach_matrix
from .render import find_dot, render_svg, to_svg

__all__ = ["to_networkx", "to_dot", "render_svg", "to_svg", "find_dot", "retain_grads",
           "analysis", "gradient_paths", "path_counts", "gradient_by_lag", "state_gradient_norms",
           "UnrolledGraph", "UnrolledDigraph", "VizError", "GraphvizNotFoundError", "RenderError",
           "to_html", "explore", "render_html", "record_policies", "default_policies", "Page",
           "reach_matrix", "term_reach", "plot_reach_matrix"]
