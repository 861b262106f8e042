"""Where the gradient of each loss term R[t] flows, read off a recorded step-level graph.

The gradient of R[t] flows back from R[t] along every edge that the recorded truncation does
not drop for it: an edge is blocked for R[t] when it is dropped (no gradient crosses it at
all) or when R[t] is in its dropped_for (window(h) cuts each term's chain at its own step).
What R[t] reaches is everything upstream of it along unblocked edges: the same region as
networkx.ancestors of R[t] in analysis.truncated_view, found here by one backward search per
term over the reached part only (O(T) per term, not one pass over every edge).

    >>> nodes, edges = term_reach(G, "R[6]")          # under window(3): steps 4..6 and weights
    >>> blocked_edges(G, "R[6]")                     # [("h[3]", "h[4]")]
    >>> reach_matrix({"full": G_full, "window(3)": G_window})["window(3)"]   # (T, T) booleans

Nothing here knows a policy's rules: every answer comes from the `dropped` and `dropped_for`
attributes that record.py computed from the cut nodes in the recorded graph.
"""
import networkx as nx
import numpy as np

from .errors import VizError, VizTypeError, flag


def is_blocked(attrs, term):
    """True when the edge with these attributes carries no gradient of loss term `term`."""
    return attrs["dropped"] or term in attrs["dropped_for"]


def term_reach(graph, term, through_cuts=False):
    """(nodes, edges) the gradient of loss term `term` flows through: `term` itself and every
    node upstream of it along edges not blocked for it, and those edges (tail, head).
    through_cuts=True follows blocked edges too: where full BPTT of the same graph flows.

    Both are returned in the order the search meets them; callers sort what they show."""
    if not isinstance(graph, nx.DiGraph) or "loss_terms" not in graph.graph:
        raise VizTypeError(f"term_reach: expected a graph from viz.to_networkx, got "
                           f"{type(graph).__name__}")
    if term not in graph:
        raise VizError(f"{term!r} is not a node of this graph; the loss terms are "
                       f"{', '.join(map(str, graph.graph.get('loss_terms', [])))}")
    through_cuts = flag("term_reach", "through_cuts", through_cuts)
    nodes, edges, stack = {term: None}, [], [term]
    predecessors = graph.pred
    while stack:
        head = stack.pop()
        for tail, attrs in predecessors[head].items():
            if not through_cuts and is_blocked(attrs, term):
                continue
            edges.append((tail, head))
            if tail not in nodes:
                nodes[tail] = None
                stack.append(tail)
    return list(nodes), edges


def blocked_edges(graph, term):
    """The edges where the gradient of `term` stops: those whose dropped_for holds it and
    whose head it reaches. (A cut on a value with two consumers, as Jordan's s[t] feeding h[t]
    and s[t+1], lies on both step-level edges; a term past only one of them stops there.)"""
    nodes = set(term_reach(graph, term)[0])
    return [(u, v) for u, v, terms in graph.edges(data="dropped_for")
            if term in terms and v in nodes]


def loss_terms_by_step(graph):
    """The graph's loss terms that belong to a time step, in step order."""
    terms = [t for t in graph.graph.get("loss_terms", []) if graph.nodes[t]["step"] is not None]
    return sorted(terms, key=lambda t: graph.nodes[t]["step"])


def reached_steps(graph, term):
    """The time steps s >= 1 with a node that the gradient of `term` reaches."""
    nodes, _ = term_reach(graph, term)
    steps = (graph.nodes[n]["step"] for n in nodes)
    return sorted({s for s in steps if s is not None and s >= 1})


def reach_matrix(recordings):
    """{label: (terms, T) bool array}: row i is the i-th loss term R[t] by step, column s - 1 is
    time step s; True where R[t]'s gradient reaches a node of step s.

    recordings: {label: step-level UnrolledGraph}, e.g. {"full": G, "elman": G_elman}; a
    viz.Page works too (its recordings). Under full BPTT the matrix is the lower triangle,
    under elman the diagonal, chunked(k) staircase blocks, window(h) a band h wide.

    >>> reach_matrix({"elman": viz.to_networkx(R, model, level="step")})["elman"].shape
    (5, 5)
    """
    graphs = getattr(recordings, "graphs", recordings)
    if not hasattr(graphs, "items") or not graphs:
        raise VizError(f"reach_matrix: expected a non-empty {{label: step-level graph}} mapping "
                       f"or a viz.Page, got {type(recordings).__name__}")
    matrices = {}
    for label, graph in graphs.items():
        if getattr(graph, "graph", {}).get("level") != "step":
            raise VizError(f"reach_matrix: the recording {label!r} is not a step-level graph "
                           f"(build it with viz.to_networkx(root, params, level='step'))")
        steps = max((s for _, s in graph.nodes(data="step") if s is not None), default=0)
        terms = loss_terms_by_step(graph)
        if not terms or steps < 1:
            raise VizError(f"reach_matrix: the recording {label!r} has no loss term R[t] "
                           f"that belongs to a time step")
        matrix = np.zeros((len(terms), steps), dtype=bool)
        for row, term in enumerate(terms):
            matrix[row, [s - 1 for s in reached_steps(graph, term)]] = True
        matrices[label] = matrix
    return matrices
