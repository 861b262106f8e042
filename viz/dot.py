"""networkx graph -> Graphviz DOT: the lecture's picture of an unrolled network.

One cluster per time step, left to right; one row per role across all clusters (newrank,
rank=same): x[t] at the bottom, h[t] or s[t] above, y[t] above that, R[t] on top. The weights
sit outside the clusters, in a box of their own. Graphviz does the layout; nothing is placed by
hand.

    >>> dot = to_dot(G, highlight="W1")              # the lecture's "blue edges are W1"
    >>> dot.counts                                   # what was drawn, for captions and tests
    {'steps': 5, 'drawn_steps': 5, 'elided_steps': 0, 'truncated': 4, 'highlighted': 5, ...}
    >>> render_svg(dot, "elman.svg")

Long sequences are elided: beyond `max_steps` steps only the first and last `keep_steps` are
drawn, with a "... N steps ..." node standing for the rest. Every count (and every class in
the SVG) refers to the edges drawn.
"""
import math
from dataclasses import dataclass

import graphviz
import networkx as nx

from . import style
from .errors import VizError, VizTypeError, flag, is_integer, name_list, optional_text, whole_number
from .reach import term_reach
from .record import record
from .steps import KEY_ROLES as ROWS
from .steps import collapse_steps, graph_at_level


@dataclass
class _View:
    """What to draw and how: the options of one to_dot call, resolved."""
    graph: object
    level: str
    highlight: dict        # parameter -> colour
    term: object           # the loss term in focus, or None
    reached: tuple         # (nodes, edges) its gradient flows through (with a term)
    elided: set            # steps not drawn
    name: dict             # node -> DOT name
    uses: dict             # (parameter, step) -> DOT name of its stand-in (op level)
    show_values: bool


def to_dot(graph, level="step", highlight=None, *, max_steps=20, keep_steps=3, loss_term=None,
           edge_width=False, show_values=False, parameter_edges=False, title=None, legend=True,
           create_using=graphviz.Digraph):
    """The DOT drawing of a graph from viz.to_networkx (or of a root Tensor's recorded graph),
    as a `create_using` (a graphviz.Digraph; viz.to_dot makes the UnrolledDigraph that
    notebooks display). `dot.counts` says what was drawn; `dot.names` maps each node of the
    graph drawn to its name in the DOT text (the SVG's <title>).

    level:           "step" (the lecture's picture) or "op" (every primitive); an op-level
                     graph can be drawn at either level, a step-level one only at "step".
    highlight:       a parameter name (or several) whose edges are coloured: "W1".
    max_steps:       draw every step up to this many (at least 1); beyond, only the first
                     and last `keep_steps` steps (fewer when max_steps < 2 keep_steps) and a
                     "... N steps ..." node.
    loss_term:       "R[7]" or 7: mark the edges where *that* term's gradient stops (what
                     window(h) drops differs per term) and grey out every node and edge its
                     gradient does not flow through: the steps before its cut and the steps
                     after 7.
    edge_width:      scale each edge's width by |dR/d(its head)| (needs viz.retain_grads).
    show_values:     add the norms of value and gradient to the node labels.
    parameter_edges: draw each weight's edges from the "shared weights" box to where it is
                     used. Off by default: the step picture shows weights as edge colours (as
                     the lecture does), the op picture as a small stand-in node in each step,
                     so that no edge ties all the columns together.
    legend:          draw the legend (below the graph, under the shared weights, so that
                     the picture grows in width with T only).
    title:           a str drawn above the graph, shown literally.

    The switches (edge_width, show_values, parameter_edges, legend) take True or False only:
    a string such as "no" is an error, not a truthy value.
    """
    options = dict(edge_width=edge_width, show_values=show_values,
                   parameter_edges=parameter_edges, legend=legend)
    edge_width, show_values, parameter_edges, legend = (
        flag("to_dot", option, value) for option, value in options.items())
    optional_text("to_dot", "title", title)
    if not callable(create_using):
        raise VizTypeError(f"to_dot: create_using must be a graph type such as "
                           f"graphviz.Digraph, got {create_using!r}")
    graph = _at_level(graph, level)
    steps = sorted({s for _, s in graph.nodes(data="step") if s is not None and s > 0})
    elided = _elided(steps, max_steps, keep_steps)
    name = {node: f"n{i}" for i, node in enumerate(n for n, s in graph.nodes(data="step")
                                                    if s not in elided)}
    term = _loss_term(graph, loss_term)
    if term is not None and graph.nodes[term]["step"] in elided:
        raise VizError(f"to_dot: the loss term {term} is among the steps not drawn (t = "
                       f"{min(elided)} .. {max(elided)} of {len(steps)}); draw every step with "
                       f"max_steps={len(steps)} (the command line's --max-steps {len(steps)}), "
                       f"or pick a term among the first or last {keep_steps}")
    reached = term_reach(graph, term) if term is not None else ((), ())
    view = _View(graph, level, _highlights(graph, highlight), term,
                 (set(reached[0]), set(reached[1])), elided, name, {}, show_values)
    if level == "op" and not parameter_edges:
        view.uses = _parameter_uses(view)

    dot = create_using(name="unrolled")
    dot.graph_attr.update(style.GRAPH_ATTRS)
    if title:
        dot.graph_attr["label"] = style.text(title)
    dot.node_attr.update(style.NODE_ATTRS)
    dot.edge_attr.update(style.EDGE_ATTRS)
    _add_nodes(dot, view)
    counts = _add_edges(dot, view, _widths(graph) if edge_width else {}, parameter_edges)
    _add_rows(dot, view)
    below = _below_the_graph(dot, view)
    if legend:
        focus = None if term is None else (graph.nodes[term]["step"],)
        dot.node("legend", label=style.legend_label(
            view.highlight, counts["truncated"], focus, len(elided), counts["hidden_truncated"],
            counts["cut_per_term"]), shape="plaintext", style="", **{"class": "legend"})
        if below:
            dot.edge("legend", below, style="invis")
    dot.counts = dict(steps=len(steps), drawn_steps=len(steps) - len(elided),
                      elided_steps=len(elided), **counts)
    dot.names = dict(name)
    return dot


def _at_level(graph, level):
    if level not in ("op", "step"):
        raise VizError(f"to_dot: level must be 'op' or 'step', got {level!r}")
    if not isinstance(graph, nx.DiGraph):              # a Tensor: record it
        return graph_at_level(record(graph), level)
    built = graph.graph.get("level")
    if built == level:
        return graph
    if built == "op" and "recording" in graph.graph:
        return collapse_steps(graph.graph["recording"])
    raise VizError(f"to_dot: this graph was built at level {built!r}; draw it at that level, "
                   f"or build it with viz.to_networkx(root, level={level!r})")


def _elided(steps, max_steps, keep_steps):
    """The steps not drawn: past max_steps, all but the first and last keep_steps, or fewer
    of them when max_steps is smaller, so that never more than max_steps are drawn."""
    max_steps = whole_number("to_dot", "max_steps", max_steps, 1, "a whole number >= 1")
    keep_steps = whole_number("to_dot", "keep_steps", keep_steps, 0, "a whole number >= 0")
    if len(steps) <= max_steps:
        return set()
    first, last = min(keep_steps, (max_steps + 1) // 2), min(keep_steps, max_steps // 2)
    return set(steps[first:len(steps) - last])


def _highlights(graph, highlight):
    chosen = () if highlight is None else name_list("to_dot", "highlight", highlight)
    parameters = graph.graph.get("parameters") or [n for n, p in graph.nodes(data="parameter") if p]
    for name in chosen:
        if name not in parameters:
            raise VizError(f"to_dot: cannot highlight {name!r}: the parameters are "
                           f"{', '.join(map(str, parameters)) or 'none'}")
    return {name: style.HIGHLIGHT_COLOURS[i % len(style.HIGHLIGHT_COLOURS)]
            for i, name in enumerate(dict.fromkeys(chosen))}


def _loss_term(graph, loss_term):
    if loss_term is None:
        return None
    terms = graph.graph.get("loss_terms", [])
    if is_integer(loss_term):               # a step: 7, np.int64(7)
        found = [t for t in terms if graph.nodes[t]["step"] == loss_term]
        if not found:
            raise VizError(f"to_dot: no loss term at step {loss_term}; the terms are {terms}")
        return found[0]
    if loss_term not in terms:
        raise VizError(f"to_dot: {loss_term!r} is not a loss term; the terms are {terms}")
    return loss_term


def _parameter_uses(view):
    """{(parameter, step): DOT name} of the op level's per-step stand-ins for the weights."""
    uses, graph = {}, view.graph
    for u, v, kind in graph.edges(data="kind"):
        step = graph.nodes[v]["step"]
        if kind == "parameter" and step is not None and v in view.name:
            uses.setdefault((u, step), f"{view.name[u]}_t{step}")
    return uses


def _add_nodes(dot, view):
    graph, by_step = view.graph, {}
    for node in view.name:
        by_step.setdefault(graph.nodes[node]["step"], []).append(node)
    columns = sorted(s for s in by_step if s is not None)
    if view.elided:            # the "... N steps ..." column goes where the steps are missing
        columns = sorted(columns + [min(view.elided) - 0.5])
    for column in columns:
        if column not in by_step:
            with dot.subgraph(name="cluster_elided") as box:
                box.attr(label="", style="invis", **{"class": "elision"})
                box.node("elided",
                         label=style.text(f"... {len(view.elided)} steps ...",
                                          f"t = {min(view.elided)} .. {max(view.elided)}"),
                         shape="box", style="dashed", color=style.ELIDED, fontcolor="#616161",
                         **{"class": "elided"})
                box.node("elided_ground", label="", shape="point", width="0", style="invis")
            dot.edge("elided_ground", "elided", style="invis")
            continue
        with dot.subgraph(name=f"cluster_t{column}") as box:
            box.attr(label=style.text(f"t = {column}"), style="rounded", color="#bdbdbd",
                     **{"class": "step" if column > 0 else "initial"})
            for node in by_step[column]:
                box.node(view.name[node], **_node_style(view, node))
            for (weight, step), stand_in in view.uses.items():
                if step == column:
                    box.node(stand_in, **style.reference_style(graph.nodes[weight],
                                                               view.highlight.get(weight)))
    free = by_step.get(None, [])
    weights = [n for n in free if graph.nodes[n]["parameter"]]
    if weights:
        with dot.subgraph(name="cluster_weights") as box:
            box.attr(label=style.text("shared weights"), style="rounded,dashed", color="#9e9e9e",
                     **{"class": "weights"})
            for node in weights:
                box.node(view.name[node], **_node_style(view, node))
    for node in free:
        if node not in weights:                       # the total R, above the columns
            dot.node(view.name[node], **_node_style(view, node))


def _node_style(view, node):
    attrs = style.node_style(view.graph.nodes[node], view.level, view.highlight.get(node),
                             view.show_values)
    if node == view.term:
        attrs.update(penwidth="3")     # a bold font would break Graphviz's text metrics
    elif view.term is not None and node not in view.reached[0]:
        attrs.update(style.unreached_node(), **{"class": attrs["class"] + " unreached"})
    return attrs


def _below_the_graph(dot, view):
    """Place the shared weights below the lowest row of the steps, so that they (and the
    legend under them) add height, not width. rankdir is BT, so an edge's tail sits below its
    head: an invisible point tied to the lowest node of every column sits under the row, and
    the weights under it; tied to one column only, dot would move that column aside.
    Returns the DOT name the legend goes under (None in a graph without steps)."""
    graph, lowest = view.graph, {}
    for node, dot_name in view.name.items():
        attrs = graph.nodes[node]
        if attrs["step"] is not None and attrs["step"] > 0 and attrs["role"] in ROWS:
            row = ROWS.index(attrs["role"])
            if attrs["step"] not in lowest or row < lowest[attrs["step"]][0]:
                lowest[attrs["step"]] = (row, dot_name)
    if not lowest:
        return None
    columns = {step: dot_name for step, (_, dot_name) in lowest.items()}
    if view.elided:            # tied too, at its place: left free, dot moves it to the end
        columns[min(view.elided) - 0.5] = "elided_ground"
    dot.node("ground", label="", shape="point", width="0", style="invis")
    for column in sorted(columns):
        dot.edge("ground", columns[column], style="invis")
    weights = [view.name[n] for n, s in graph.nodes(data="step")
               if s is None and graph.nodes[n]["parameter"] and n in view.name]
    for weight in weights:
        dot.edge(weight, "ground", style="invis")
    return weights[0] if weights else "ground"


def _add_edges(dot, view, widths, parameter_edges):
    graph, name, term = view.graph, view.name, view.term
    counts = dict(truncated=0, highlighted=0, hidden_truncated=0, elided_edges=0, cut_per_term=0)
    summarised = {}          # (tail, head) of an edge to or from the elided steps: what it hides
    for u, v, a in graph.edges(data=True):
        tail = name.get(u)
        if a.get("kind") == "parameter" and not parameter_edges:
            tail = view.uses.get((u, graph.nodes[v]["step"]))
            if tail is None:
                continue                 # the step picture shows weights as edge colours
        dropped = (term in a["dropped_for"] and v in view.reached[0]) if term is not None \
            else a["dropped"]
        counts["cut_per_term"] += bool(a["dropped_for"]) and not a["dropped"]
        hidden = [n for n in (u, v) if graph.nodes[n]["step"] in view.elided]
        if hidden:
            counts["hidden_truncated"] += dropped
            ends = ("elided" if u in hidden else tail, "elided" if v in hidden else name[v])
            if ends[0] != ends[1]:
                summarised.setdefault(ends, []).append(
                    (dropped, term is None or (u, v) in view.reached[1]))
            continue
        colour = next((view.highlight[p] for p in a["parameters"] if p in view.highlight), None)
        classes = [c for c, on in (("truncated", dropped), ("highlighted", colour is not None),
                                   ("recurrent", a["recurrent"]),
                                   ("parameter", a.get("kind") == "parameter"),
                                   ("unreached", term is not None and not dropped
                                    and (u, v) not in view.reached[1])) if on]
        counts["truncated"] += dropped
        counts["highlighted"] += colour is not None
        attrs = style.edge_style(classes or ["plain"], colour, widths.get((u, v)))
        if a["recurrent"] and _descends(view, u, v):
            # drawn as before, declared head -> tail: a rank constraint that agrees with the
            # rows (the state of step t-1 sits above what it enters in step t); left
            # unconstrained, such edges lead dot's crossing minimisation to shuffle the columns
            del attrs["constraint"]
            dot.edge(name[v], tail, dir="back", **attrs)
        else:
            dot.edge(tail, name[v], **attrs)
    for ends, hidden in summarised.items():
        classes = _summary_classes(hidden)
        dot.edge(*ends, **style.edge_style(classes))
        counts["elided_edges"] += 1     # (its dropped edges are counted in hidden_truncated)
    return counts


def _summary_classes(hidden):
    """The classes of one edge to or from the elided steps, from the (dropped, reached by the
    term in focus) of the edges it stands for: dropped when all of them are (elman's h[t-1]
    -> h[t] into the first drawn step), faded when the term reaches none of them, so that
    a picture with steps elided still shows whether the gradient enters them."""
    if all(dropped for dropped, _ in hidden):
        return ["elided", "truncated"]
    if not any(reached and not dropped for dropped, reached in hidden):
        return ["elided", "unreached"]
    return ["elided"]


def _descends(view, u, v):
    """True when the recurrent edge u -> v enters a lower row (always so at op level)."""
    if view.level == "op":
        return True
    rows = [ROWS.index(view.graph.nodes[n]["role"]) if view.graph.nodes[n]["role"] in ROWS
            else None for n in (u, v)]
    return None not in rows and rows[1] < rows[0]


def _widths(graph):
    """Edge width by |gradient| at the edge's head, on a log scale from 0.6 to 5: the
    thinnest for a zero or NaN gradient (or none), the thickest for an infinite one."""
    norms = {(u, v): graph.nodes[v]["grad_norm"] for u, v in graph.edges}
    known = [n for n in norms.values() if n and math.isfinite(n)]
    if not known and math.inf not in norms.values():
        return {}
    low, high = (math.log(min(known)), math.log(max(known))) if known else (0.0, 0.0)
    scale = (high - low) or 1.0

    def width(norm):
        if norm == math.inf:
            return 5.0
        if not norm or math.isnan(norm):
            return 0.6
        return 0.6 + 4.4 * (math.log(norm) - low) / scale
    return {edge: width(norm) for edge, norm in norms.items()}


def _add_rows(dot, view):
    """rank=same per role across the step clusters (newrank): the lecture's rows."""
    present = {}
    for node, dot_name in view.name.items():
        attrs = view.graph.nodes[node]
        if attrs["step"] is not None and attrs["role"] in ROWS:
            present.setdefault(attrs["role"], []).append(dot_name)
    middle = next((r for r in ("state", "hidden", "output") if r in present), None)
    if view.elided and middle:
        present[middle].append("elided")
    for role in ROWS:
        if role in present:
            with dot.subgraph() as row:
                row.attr(rank="same")
                for node in present[role]:
                    row.node(node)
