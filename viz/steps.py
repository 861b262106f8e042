"""Op level -> step level: the lecture's picture, from the same recording.

The step level keeps the *key* nodes: inputs x[t], states h[t] or s[t], hidden h[t] (Jordan),
outputs y[t], loss terms R[t] and the total R, the parameters, and the roots. An edge u -> v
joins two key nodes when an op-level path leads from u to v through non-key nodes only
(linear, tanh, cut, ...). Its attributes summarise those paths:

    dropped      every path passes a dropped edge (the gradient cannot flow back from v to u)
    dropped_for  the loss terms whose gradient stops on one of those paths (see dropped.py)
    parameters   the weights the edge carries: every weight that a product (mul, div,
                 matmul, linear) multiplies u's value by on its way to v (x[t] -> h[t]
                 carries W1, being W1 x[t] + b1: the lecture's "all blue edges represent
                 W1"; a temporal convolution's x[t] -> y[t] carries its taps and its head's
                 weight; biases, being added, ride no data edge, and neither does a weight
                 that multiplies what is added to u's value: Wm on x[t] -> h[t]); a
                 parameter's own edges carry it
    parameter    the one weight carried, or None
    paths        how many op-level paths it stands for
    position     the argument position of u at its first op
    recurrent    u and v belong to different time steps
    kind         "parameter" for edges leaving a weight, else "data" (a learned initial
                 state h0 is a parameter drawn as a state: its edges are data edges)

Copies of one value merge into one node: window(h) computes h[t] once per chain, and the
merged h[t] gets the sum of the copies' gradients (the total dR/dh[t]); a merged edge is
dropped only when it is dropped in every copy, and dropped_for keeps which term loses it.
Copies are nodes of one name, role and step made by the same unroll call; the same name from
two calls (a model called twice, two models in one scope, two losses) is a VizError, not a
merge: the picture would fold two sequences into one.
"""
import networkx as nx
import numpy as np

from .errors import VizError
from .record import carries_gradient, node_attributes, op_graph, unique_name

# the lecture's rows, from the bottom of the picture up (rankdir BT); "cell" is an LSTM's
# cell state c[t], beside h[t]
KEY_ROLES = ("input", "cell", "state", "hidden", "output", "loss")
# the products, and the argument positions they multiply together: a weight at one of them
# multiplies the value at another (linear's b, at position 2, is added: a bias)
PRODUCTS = {"mul": frozenset({0, 1}), "div": frozenset({0, 1}), "matmul": frozenset({0, 1}),
            "linear": frozenset({0, 1})}
_EMPTY = frozenset()


def graph_at_level(rec, level, create_using=nx.DiGraph):
    """The graph of a Recording at `level`, "op" (record.op_graph) or "step" (collapse_steps),
    made as `create_using` (networkx's convention)."""
    if level == "op":
        return op_graph(rec, create_using)
    if level == "step":
        return collapse_steps(rec, create_using)
    raise VizError(f"level must be 'op' or 'step', got {level!r}")


def collapse_steps(rec, create_using=nx.DiGraph):
    """The step-level graph of a Recording (see the module docstring), made as `create_using`
    (networkx's convention)."""
    roots = set(rec.roots)
    key = [rec.parameter[i] or rec.roles[i] in KEY_ROLES or i in roots for i in range(len(rec.ops))]
    reach = [None] * len(rec.ops)
    key_edges = []
    for node in reversed(range(len(rec.ops))):          # children before parents
        targets = _reach(rec, node, key, reach)
        if not key[node]:
            reach[node] = targets
            continue
        for target, (live, dropped_for, paths, position, weights) in targets.items():
            carried = frozenset({node}) if _is_weight(rec, node) else weights
            key_edges.append((node, target, live, dropped_for, paths, position, carried))
    return _merge_copies(rec, key, key_edges, create_using(level="step"))


def _reach(rec, node, key, reach):
    """{first key node v after node: (some path is live, dropped_for, paths, position,
    the weights that multiply node's value on some path to v)}."""
    found = {}
    for child, position in rec.children[node]:
        dropped = rec.is_dropped(child)
        cut_off = frozenset(rec.dropped_for.get(child, ())) if dropped else _EMPTY
        multiplied = _multiplying(rec, child, position)
        through = {child: (True, _EMPTY, 1, 0, _EMPTY)} if key[child] else reach[child]
        for target, (live, dropped_for, paths, _, weights) in through.items():
            live = live and not dropped
            dropped_for = dropped_for | cut_off if cut_off else dropped_for
            weights = weights | multiplied if multiplied else weights
            old = found.get(target)
            found[target] = (live, dropped_for, paths, position, weights) if old is None else \
                (old[0] or live, old[1] | dropped_for, old[2] + paths, min(old[3], position),
                 old[4] | weights)
    return found


def _multiplying(rec, op, position):
    """The weights op multiplies its input at `position` by: those its other factors carry,
    if op is a product and that input one of its factors (not linear's bias). Other ops
    multiply by no weight: an addition, a view, tanh, max(x, threshold)."""
    factors = PRODUCTS.get(rec.ops[op], _EMPTY)
    if position not in factors:
        return _EMPTY
    return frozenset(weight for other, parent in enumerate(rec.parents[op])
                     if other != position and other in factors
                     for weight in rec.carries[parent] if _is_weight(rec, weight))


def _is_weight(rec, node):
    """A parameter that is a weight, not a learned initial state (h0, c0, s1): a state is
    drawn in its step's column, its edges are data edges, and it multiplies nothing."""
    return rec.parameter[node] and rec.roles[node] not in KEY_ROLES


def _merge_copies(rec, key, key_edges, graph):
    """Fill the step graph, merging the copies of one named value at one step."""
    group_of, members, ids, attributes = {}, {}, {}, {}
    for node in range(len(rec.ops)):                  # parents first
        if not key[node]:
            continue
        alone = rec.parameter[node] or rec.names[node] is None
        group = ("node", node) if alone else (rec.names[node], rec.roles[node], rec.steps[node])
        if group not in ids:
            ids[group] = unique_name(rec.ids[node] if alone else rec.names[node], attributes)
            attributes[ids[group]] = node_attributes(rec, node)
        group_of[node] = ids[group]
        members.setdefault(ids[group], []).append(node)
    for merged, copies in members.items():
        _one_call(rec, merged, copies)
        attrs = attributes[merged]
        attrs["copies"] = len(copies)
        grads = [rec.grads[c] for c in copies if rec.grads[c] is not None]
        if len(copies) > 1 and grads:
            attrs["grad"] = np.sum(grads, axis=0)
            attrs["grad_norm"] = float(np.linalg.norm(attrs["grad"]))
    graph.add_nodes_from(attributes.items())
    graph.add_edges_from(_edges(attributes, rec, group_of, key_edges))
    graph.graph.update(roots=_mapped(rec.roots, group_of),
                       parameters=_mapped(rec.parameters, group_of),
                       loss_terms=_mapped(rec.loss_terms, group_of), steps=rec.steps_total,
                       members=members)     # step node -> its recorded nodes (the copies)
    return graph


def _one_call(rec, name, copies):
    """VizError unless the copies of a named value were made by one unroll call (window(h)'s
    chains): otherwise they are two values that share a name."""
    calls = {rec.calls[c] for c in copies}
    if len(copies) > 1 and (len(calls) > 1 or None in calls):
        raise VizError(f"{name!r} was recorded {len(copies)} times, by separate calls (a model "
                       f"called twice, two models, or two losses over one output): a step "
                       f"picture draws one unrolled sequence. Draw each call's loss on its own, "
                       f"or build the models under tg.name_scope('a') / tg.name_scope('b') so "
                       f"their nodes have names of their own")


def _edges(nodes, rec, group_of, key_edges):
    merged = {}
    for u, v, live, dropped_for, paths, position, carried in key_edges:
        pair = (group_of[u], group_of[v])
        if pair[0] == pair[1]:
            continue
        flows = live and carries_gradient(rec, u, v)
        old = merged.get(pair)
        merged[pair] = (live, dropped_for, paths, position, carried, flows) if old is None else \
            (old[0] or live, old[1] | dropped_for, old[2] + paths, min(old[3], position),
             old[4] | carried, old[5] or flows)
    term_rank = {t: i for i, t in enumerate(_mapped(rec.loss_terms, group_of))}
    param_rank = {p: i for i, p in enumerate(_mapped(rec.parameters, group_of))}
    mapped = {}          # a graph has few distinct sets of weights or terms: map each once

    def ids_of(indices, rank):
        if indices not in mapped:
            mapped[indices] = _ordered({group_of[i] for i in indices}, rank)
        return mapped[indices]

    edges = []
    # key edges were found children first; reversed, they come out sources first
    for (u, v), (live, dropped_for, paths, position, carried, flows) in \
            reversed(merged.items()):
        tail, head = nodes[u], nodes[v]
        parameters = ids_of(carried, param_rank)
        edges.append((u, v, {
            "position": position, "multiplicity": 1, "paths": paths,
            "recurrent": tail["step"] is not None and head["step"] is not None
            and tail["step"] != head["step"],
            "dropped": not live, "dropped_for": ids_of(dropped_for, term_rank),
            "carries_gradient": flows, "parameters": parameters,
            "parameter": parameters[0] if len(parameters) == 1 else None,
            "kind": "parameter" if tail["parameter"] and tail["role"] not in KEY_ROLES
            else "data"}))
    return edges


def _ordered(items, rank):
    return tuple(items) if len(items) < 2 else tuple(sorted(items, key=rank.get))


def _mapped(indices, group_of):
    return list(dict.fromkeys(group_of[i] for i in indices if i in group_of))
