"""What a truncation costs, read off the recorded graph with networkx.

    G = to_networkx(R, model, level="step")
    gradient_paths(G, "R[5]", "W1")                   # full BPTT: 5 paths (one per step 1..5)
    gradient_paths(G, "R[5]", "W1", truncated=True)   # under elman: 1
    print(path_counts(G))                             # every loss term x parameter
    dropped_edges(G)                                  # edges the policy drops
    dropped_edges(G, "R[7]")                          # where R[7]'s gradient stops (window(h))
    unreached_edges(G, "R[7]")                        # edges R[7]'s gradient no longer follows
    print(gradient_by_lag(R, model))                  # dR/dW by lag: full vs truncated
    state_gradient_norms(G)                           # |dR/dh[t]| per step (vanishing, exploding)

Edges run from argument to result, so the gradient of R[t] with respect to W reaches W along
the paths W -> ... -> R[t]; their number is counted by dynamic programming over networkx's
topological order of the ancestors of R[t]. "Truncated" removes the edges the recorded policy
drops for that term (dropped, or dropped_for containing it).
"""
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .errors import VizError, VizTypeError, flag, name_list
from .reach import blocked_edges, is_blocked
from .replay import step_gradients


def _check(graph, *nodes):
    """A VizTypeError unless graph is one viz.to_networkx made; a VizError naming the loss
    terms and parameters for each of `nodes` that is not in it."""
    if not isinstance(graph, nx.DiGraph) or "loss_terms" not in graph.graph:
        raise VizTypeError(f"expected a graph from viz.to_networkx, got "
                           f"{type(graph).__name__}")
    for node in nodes:
        if node not in graph:
            known = ", ".join(map(str, list(graph.graph.get("loss_terms", [])) +
                                  list(graph.graph.get("parameters", []))))
            raise VizError(f"{node!r} is not a node of this graph (loss terms and parameters: "
                           f"{known})")


def truncated_view(graph, term):
    """The graph without the edges the truncation drops for loss term `term`."""
    blocked = [(u, v) for u, v, a in graph.edges(data=True) if is_blocked(a, term)]
    return nx.restricted_view(graph, [], blocked)


def paths_to(graph, term):
    """{node: number of paths node -> term}, over the ancestors of term (networkx's
    topological order, reversed; an op-level x * x edge counts twice)."""
    region = graph.subgraph(nx.ancestors(graph, term) | {term})
    try:
        order = list(nx.topological_sort(region))
    except nx.NetworkXUnfeasible:
        raise VizError(f"the graph has a cycle upstream of {term!r}, so its paths cannot be "
                       f"counted; graphs from viz.to_networkx have none: was an edge "
                       f"added?") from None
    counts = {}
    for node in reversed(order):
        counts[node] = 1 if node == term else sum(
            counts[child] * edge.get("multiplicity", 1) for child, edge in region.adj[node].items())
    return counts


def gradient_paths(graph, term, parameter, truncated=False):
    """How many paths the gradient of loss term `term` takes back to `parameter`: under full
    BPTT (truncated=False) or under the truncation the graph was recorded with."""
    _check(graph, term, parameter)
    view = truncated_view(graph, term) if flag("gradient_paths", "truncated", truncated) \
        else graph
    return paths_to(view, term).get(parameter, 0)


@dataclass
class PathCounts:
    """Gradient paths per (loss term, parameter): full BPTT and the recorded truncation."""
    terms: list
    parameters: list
    full: dict          # (term, parameter) -> count
    truncated: dict

    def __str__(self):
        header = ["term"] + [f"{p} full/trunc" for p in self.parameters]
        rows = [[t] + [f"{self.full[t, p]}/{self.truncated[t, p]}" for p in self.parameters]
                for t in self.terms]
        return _table(header, rows)


def path_counts(graph, parameters=None):
    """PathCounts for every loss term and parameter: `parameters` a name or a list of names
    (default None: all of the graph's; an empty list is an error, not "all")."""
    _check(graph)
    parameters = list(graph.graph["parameters"] if parameters is None else
                      name_list("path_counts", "parameters", parameters))
    if not parameters:
        raise VizError("path_counts: parameters is empty; name at least one, or pass None "
                       "for all of the graph's")
    terms = list(graph.graph["loss_terms"])
    _check(graph, *parameters, *terms)
    full, truncated = {}, {}
    for term in terms:
        everything, kept = paths_to(graph, term), paths_to(truncated_view(graph, term), term)
        for parameter in parameters:
            full[term, parameter] = everything.get(parameter, 0)
            truncated[term, parameter] = kept.get(parameter, 0)
    return PathCounts(terms, parameters, full, truncated)


def dropped_edges(graph, term=None):
    """The edges the recorded truncation drops: all of them (term=None: edges no gradient
    crosses), or where the gradient of loss term `term` stops (under window(h) a different
    edge for each term; reach.blocked_edges, the edges the pictures mark)."""
    _check(graph, *([] if term is None else [term]))
    if term is None:
        return [(u, v) for u, v, dropped in graph.edges(data="dropped") if dropped]
    return blocked_edges(graph, term)


def unreached_edges(graph, term):
    """Edges on some path to `term` that its truncated gradient no longer follows."""
    _check(graph, term)
    kept = _edges_into(truncated_view(graph, term), term)
    return [edge for edge in _edges_into(graph, term) if edge not in kept]


def _edges_into(graph, term):
    region = nx.ancestors(graph, term) | {term}
    return {(u, v): None for u, v in graph.edges if u in region and v in region}


def state_gradient_norms(graph, roles=("state", "cell")):
    """{node: |dR/dnode|} for the state nodes h[t] (Elman) or s[t] (Jordan), and an LSTM's
    cell state c[t] (the gradient's highway), by step.

    Needs gradients kept on those nodes: call viz.retain_grads(R) before R.backward(). On a
    step-level graph the copies of h[t] that window(h) computes are already summed.
    roles: one role or several; a graph without nodes of those roles (a feed-forward model)
    is a VizError saying so."""
    _check(graph)
    roles = set(name_list("state_gradient_norms", "roles", roles))
    nodes = [(a["step"], n) for n, a in graph.nodes(data=True)
             if a["role"] in roles and a["step"] is not None]
    if not nodes:
        present = sorted({a["role"] for _, a in graph.nodes(data=True)
                          if a["step"] is not None and a["role"] is not None})
        raise VizError(f"state_gradient_norms: this graph has no node of role "
                       f"{' or '.join(sorted(roles)) or '(none given)'} in a time step (a model "
                       f"without recurrence has none); its roles are {', '.join(present)}")
    norms = {n: graph.nodes[n]["grad_norm"] for _, n in sorted(nodes, key=lambda sn: sn[0])}
    if not any(v is not None for v in norms.values()):
        raise VizError("no gradient on the state nodes: call viz.retain_grads(R) before "
                       "R.backward(), then build the graph")
    return norms


@dataclass
class LagDecomposition:
    """dR/dW split by lag k = t - s: the part of each loss term R[t]'s gradient that enters
    through the use of W at step s. full[name][k] sums to the full-BPTT gradient (with
    `other`, the part read outside any step or not through any R[t]); truncated[name][k] to
    the recorded policy's."""
    parameters: list
    full: dict          # name -> array (T, *shape), lag 0 .. T-1
    truncated: dict
    other_full: dict    # name -> array: parts not attributable to a lag (ops outside steps,
                        # or reaching R other than through a loss term: a penalty on W)
    other_truncated: dict

    def gradient(self, name, truncated=False):
        if truncated:
            return self.truncated[name].sum(axis=0) + self.other_truncated[name]
        return self.full[name].sum(axis=0) + self.other_full[name]

    def difference(self, name):
        """Full minus truncated: the gradient the truncation throws away."""
        return self.gradient(name) - self.gradient(name, truncated=True)

    def norms(self, name, truncated=False):
        lags = self.truncated if truncated else self.full
        return [float(np.linalg.norm(g)) for g in lags[name]]

    def __str__(self):
        lags = max((len(v) for v in self.full.values()), default=0)
        shown = min(lags, 6)
        other = any(np.any(v) for part in (self.other_full, self.other_truncated)
                    for v in part.values())
        header = ["parameter", "policy"] + [f"lag {k}" for k in range(shown)] + \
            (["..."] if lags > shown else []) + (["other"] if other else []) + \
            ["|total|", "|full - trunc|"]
        rows = []
        for name in self.parameters:
            for label, truncated in (("full", False), ("trunc", True)):
                extra = self.other_truncated if truncated else self.other_full
                rows.append([name if not truncated else "", label] +
                            [f"{v:.3g}" for v in self.norms(name, truncated)[:shown]] +
                            (["..."] if lags > shown else []) +
                            ([f"{np.linalg.norm(extra[name]):.3g}"] if other else []) +
                            [f"{np.linalg.norm(self.gradient(name, truncated)):.4g}",
                             f"{np.linalg.norm(self.difference(name)):.3g}" if truncated else ""])
        title = "|dR/dW| by lag (steps between the use of W and the loss term)"
        return title + "\n" + _table(header, rows)


def gradient_by_lag(root, params=None):
    """The LagDecomposition of scalar loss `root` (exact: computed by the engine itself, see
    replay.step_gradients). Costs two backward passes per loss term (O(T^2) in all)."""
    full = step_gradients(root, params, keep_cuts=False)
    kept = step_gradients(root, params, keep_cuts=True)
    names = list(full["gradients"])
    steps = max([t for _, t in full["terms"] if t is not None] +
                [s for g in full["gradients"].values() for _, s in g if s is not None] + [1])
    shapes = full["shapes"]
    lag_full, other_full = _by_lag(full, names, shapes, steps)
    lag_kept, other_kept = _by_lag(kept, names, shapes, steps)
    return LagDecomposition(names, lag_full, lag_kept, other_full, other_kept)


def _by_lag(result, names, shapes, steps):
    """Sum the (t, s) contributions by lag t - s (0 .. steps - 1; anything else is `other`)."""
    lags = {name: np.zeros((steps,) + shapes[name]) for name in names}
    other = {name: result["rest"][name].copy() for name in names}
    for name in names:
        for (t, s), grad in result["gradients"][name].items():
            t = steps if t is None else t
            if s is None or not 0 <= t - s < steps:
                other[name] += grad
            else:
                lags[name][t - s] += grad
    return lags, other


def _table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
                     for r in [header] + rows)
