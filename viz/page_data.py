"""The numbers an explorer page shows, computed in Python and packed small.

For every recording (policy) and every loss term R[t]: the nodes and edges its gradient flows
through and the edges where it stops (reach.py, from the recorded graph's cuts), |dR[t]/dnode|
on the nodes it reaches and dR[t]/dW by lag (term_gradients.py, from the engine), next to the
same numbers under full BPTT; and the same for the whole loss R. The page's script only reads
them: it shows and hides, and never re-derives a reach from a policy's rules.

Packing. Nodes are numbered in a step order: by row (x, h, y, R, then the weights), name and
step, so that x[4..6] are consecutive numbers; edges likewise by the rows of both ends and
the head's step. A set of nodes or edges is then a list of runs [start, length, start,
length, ...]: a few runs per term whatever T is (so T = 1000 stays small), where listing the
reach sets would be O(T^2). Floats travel as base64 of little-endian float32 (nan where a
number does not exist, such as the gradient of an input that requires none).
"""
import base64
import math
import re

import numpy as np

from .reach import loss_terms_by_step
from .record import norm
from .steps import KEY_ROLES

ROW = {role: i for i, role in enumerate(KEY_ROLES)}
ROW["parameter"] = len(KEY_ROLES)
_STEP_SUFFIX = re.compile(r"\[\d+\](#\d+)?$")


def node_key(graph, node):
    """Sort key of the step order: row, scope, name without its [t], step, id."""
    attrs = graph.nodes[node]
    step = attrs["step"]
    base = _STEP_SUFFIX.sub("", str(attrs["name"] if attrs["name"] is not None else node))
    row = ROW["parameter"] if attrs["parameter"] else ROW.get(attrs["role"], len(ROW))
    return (row, attrs["scope"] or "", base, -1 if step is None else step, str(node))


def numbering(graph):
    """({node: number}, {edge: number}) in the step order."""
    keys = {n: node_key(graph, n) for n in graph.nodes}
    nodes = {n: i for i, n in enumerate(sorted(graph.nodes, key=keys.get))}

    def edge_key(edge):
        (tail, head), (a, b) = edge, (keys[edge[0]], keys[edge[1]])
        lag = 0 if -1 in (a[3], b[3]) else b[3] - a[3]
        return a[:3] + b[:3] + (lag, b[3], a[3], tail, head)

    edges = {e: i for i, e in enumerate(sorted(graph.edges, key=edge_key))}
    return nodes, edges


def runs(numbers):
    """[start, length, ...] of a set of integers."""
    flat, ordered = [], sorted(set(numbers))
    for number in ordered:
        if flat and flat[-2] + flat[-1] == number:
            flat[-1] += 1
        else:
            flat += [number, 1]
    return flat


def floats(values):
    """base64 of little-endian float32 (nan for None)."""
    array = np.array([math.nan if v is None else v for v in values], dtype="<f4")
    return base64.b64encode(array.tobytes()).decode("ascii")


def lag_buckets(by_step, term_step, max_lags, shape):
    """[array per lag 0 .. max_lags - 1, array of every older lag], and the part read outside
    any step (or after the term): dR[t]/dW split by lag t - s."""
    buckets = [np.zeros(shape) for _ in range(max_lags + 1)]
    other = np.zeros(shape)
    for step, grad in by_step.items():
        lag = None if step is None or term_step is None else term_step - step
        if lag is None or lag < 0:
            other = other + grad
        else:
            buckets[min(lag, max_lags)] = buckets[min(lag, max_lags)] + grad
    return buckets, other


def trimmed_norms(buckets):
    norms = [norm(b) for b in buckets]
    while norms and norms[-1] == 0.0:
        norms.pop()
    return norms


class LagTable:
    """Per (term, parameter): norms of dR[t]/dW by lag, then [|dR[t]/dW|, fraction of the full
    gradient kept, |part read outside the steps|]; per term, [|dR[t]/dW|, fraction kept] of
    all parameters together. Packed as lengths and float blobs."""

    def __init__(self):
        self.lengths, self.values, self.summary, self.overall = [], [], [], []

    def add_term(self, rows):
        """rows: [(lag norms, dR[t]/dW, full BPTT's dR[t]/dW, part outside steps)] by parameter."""
        for norms, total, reference, other in rows:
            self.lengths.append(len(norms))
            self.values.extend(norms)
            self.summary.extend([float(np.linalg.norm(total)), kept(total, reference),
                                 float(np.linalg.norm(other))])
        flat = np.concatenate([np.ravel(total) for _, total, _, _ in rows] or [np.zeros(0)])
        full = np.concatenate([np.ravel(ref) for _, _, ref, _ in rows] or [np.zeros(0)])
        self.overall.extend([float(np.linalg.norm(flat)), kept(flat, full)])

    def packed(self):
        return {"lengths": self.lengths, "values": floats(self.values),
                "summary": floats(self.summary), "overall": floats(self.overall)}


def kept(policy, full):
    """<g, g_full> / |g_full|^2: the share of the full gradient, along its own direction, that
    the policy's gradient keeps (1: all of it; nan when the full gradient is zero)."""
    scale = float(np.vdot(full, full))
    return math.nan if scale == 0.0 else float(np.vdot(policy, full)) / scale


def shape_text(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def terms_of(graphs):
    """The loss terms (with a time step) every recording shares, by step."""
    first, *rest = graphs
    return [t for t in loss_terms_by_step(first)
            if all(t in g and g.nodes[t]["role"] == "loss" for g in rest)]


def layout_payload(layout, node_numbers, edge_numbers):
    """What every policy shares: names, shapes, rows, steps, edges."""
    nodes = sorted(node_numbers, key=node_numbers.get)
    attrs = layout.nodes
    return {
        "nodes": [str(n) for n in nodes],
        "shapes": [shape_text(attrs[n]["shape"]) for n in nodes],
        "roles": [attrs[n]["role"] for n in nodes],
        "steps": [-1 if attrs[n]["step"] is None else attrs[n]["step"] for n in nodes],
        "requiresGrad": runs(i for i, n in enumerate(nodes) if attrs[n]["requires_grad"]),
        "edges": [[node_numbers[u], node_numbers[v]]
                  for u, v in sorted(edge_numbers, key=edge_numbers.get)],
    }


class GradientTables:
    """dR[t]/dW by lag for the terms of one recording, in term order, and for the whole loss
    R: the terms' parts weighted by dR/dR[t] (what analysis.gradient_by_lag sums)."""

    def __init__(self, parameters, shapes, max_lags):
        self.parameters, self.shapes, self.max_lags = parameters, shapes, max_lags
        self.table = LagTable()
        self.whole = {p: [np.zeros(shapes[p]) for _ in range(max_lags + 1)] for p in parameters}
        self.whole_other = {p: np.zeros(shapes[p]) for p in parameters}

    def add_term(self, gradients, step, weight, reference_totals=None):
        """Record one term's TermGradients; returns {parameter: dR[t]/dW}. reference_totals:
        full BPTT's {parameter: dR[t]/dW}, for the fraction kept (None: this is full BPTT)."""
        totals, rows = {}, []
        for p in self.parameters:
            buckets, other = lag_buckets(gradients.by_step.get(p, {}), step, self.max_lags,
                                         self.shapes[p])
            total = totals[p] = sum(buckets) + other
            reference = total if reference_totals is None else reference_totals[p]
            rows.append((trimmed_norms(buckets), total, reference, other))
            if weight is not None:
                for k, bucket in enumerate(buckets):
                    self.whole[p][k] = self.whole[p][k] + weight * bucket
                self.whole_other[p] = self.whole_other[p] + weight * other
        self.table.add_term(rows)
        return totals

    def finish(self, whole_gradients, reference_totals=None):
        """(packed tables of the terms and of the whole loss, {parameter: dR/dW}).

        dR/dW itself comes from one backward from R; what the weighted terms do not account
        for (a penalty on W added to R, say) is shown as read outside the steps. Summing the
        same numbers in another order differs by rounding only, which is not reported."""
        whole, totals, rows = LagTable(), {}, []
        for p in self.parameters:
            parts = list(whole_gradients.by_step.get(p, {}).values())
            total = totals[p] = np.sum(parts, axis=0) if parts else np.zeros(self.shapes[p])
            by_terms = sum(self.whole[p]) + self.whole_other[p]
            rest = total - by_terms
            if float(np.linalg.norm(rest)) <= 1e-9 * (1.0 + float(np.linalg.norm(total))):
                rest = np.zeros_like(rest)
            reference = total if reference_totals is None else reference_totals[p]
            rows.append((trimmed_norms(self.whole[p]), total, reference,
                         self.whole_other[p] + rest))
        whole.add_term(rows)
        return {"terms": self.table.packed(), "whole": whole.packed()}, totals


class PolicyTables:
    """Everything the page shows about one recording, built one loss term at a time."""

    def __init__(self, label, graph, numbers, parameters, max_lags, with_grad):
        self.label, self.graph, self.with_grad = label, graph, with_grad
        self.node_numbers, self.edge_numbers = numbers
        self.drops = {}
        for u, v, dropped_for in graph.edges(data="dropped_for"):
            for term in dropped_for:
                self.drops.setdefault(term, []).append((self.edge_numbers[u, v], v))
        shapes = {p: graph.nodes[p]["shape"] for p in parameters}
        self.lags = GradientTables(parameters, shapes, max_lags)
        self.reach, self.norms = [], []
        self.weights = {}

    def add_term(self, term, gradients, reference_totals):
        order = sorted(gradients.nodes, key=self.node_numbers.get)
        reached = set(order)
        stops = (number for number, head in self.drops.get(term, ()) if head in reached)
        self.reach.append([runs(self.node_numbers[n] for n in order),
                           runs(self.edge_numbers[e] for e in gradients.edges), runs(stops)])
        # norms only where there is a gradient to have: x[t] requires none (half of a reach)
        self.norms.extend(gradients.node_norms[n] for n in order if n in self.with_grad)
        self.lags.add_term(gradients, self.graph.nodes[term]["step"], self.weights.get(term),
                           reference_totals)

    def packed(self, whole_gradients, reference_totals, reference_index):
        graph, numbers = self.graph, self.node_numbers
        values, totals = [None] * len(numbers), [None] * len(numbers)
        for node, number in numbers.items():
            if node in graph:
                values[number] = graph.nodes[node]["value_norm"]
        for node, total in whole_gradients.node_norms.items():
            totals[numbers[node]] = total
        lags, _ = self.lags.finish(whole_gradients, reference_totals)
        edges = graph.edges(data=True)
        return {
            "name": self.label, "reference": reference_index,
            "dropped": runs(self.edge_numbers[u, v] for u, v, a in edges if a["dropped"]),
            "perTermCuts": any(a["dropped_for"] and not a["dropped"] for _, _, a in edges),
            "absent": runs(n for node, n in numbers.items() if node not in graph),
            "valueNorms": floats(values), "gradNorms": floats(totals),
            "reach": self.reach, "termNorms": floats(self.norms), "lags": lags,
        }


def explorer_payload(entries, layout, numbers, terms, max_lags):
    """The JSON-ready numbers of a page.

    entries: [(label, step graph, TermReplay under the policy, TermReplay under full BPTT)];
    the same replay object may serve as several entries' reference (computed once per term).
    layout: the graph drawn (its node and edge ids cover every entry's), numbers: its
    numbering()."""
    parameters = list(layout.graph["parameters"])
    references = list({id(ref): ref for _, _, _, ref in entries}.values())
    index = {id(ref): i for i, ref in enumerate(references)}
    shapes = {p: layout.nodes[p]["shape"] for p in parameters}
    reference_tables = [GradientTables(parameters, shapes, max_lags) for _ in references]
    with_grad = {n for n, needs in layout.nodes(data="requires_grad") if needs}
    policies = [PolicyTables(label, graph, numbers, parameters, max_lags, with_grad)
                for label, graph, _, _ in entries]
    whole = {id(r): r.whole() for r in references}
    for _, _, replay, _ in entries:
        if id(replay) not in whole:
            whole[id(replay)] = replay.whole()
    for tables, (_, _, replay, _) in zip(policies, entries):
        tables.weights = whole[id(replay)].term_weights
    for term in terms:
        results = {id(r): r.term(term) for r in references}
        full_totals = {}
        for i, ref in enumerate(references):
            step = ref.graph.nodes[term]["step"]
            full_totals[id(ref)] = reference_tables[i].add_term(
                results[id(ref)], step, whole[id(ref)].term_weights.get(term))
        for tables, (_, _, replay, ref) in zip(policies, entries):
            mine = results[id(replay)] if id(replay) in results else replay.term(term)
            tables.add_term(term, mine, full_totals[id(ref)])
    packed_references, whole_totals = [], {}
    for i, ref in enumerate(references):
        packed, whole_totals[id(ref)] = reference_tables[i].finish(whole[id(ref)])
        packed_references.append(packed)
    return {
        **layout_payload(layout, *numbers),
        "terms": [numbers[0][t] for t in terms],
        "parameters": parameters,
        "maxLags": max_lags,
        "references": packed_references,
        "policies": [tables.packed(whole[id(replay)], whole_totals[id(ref)], index[id(ref)])
                     for tables, (_, _, replay, ref) in zip(policies, entries)],
    }
