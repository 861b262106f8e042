"""Gradients by (loss term, step): the recorded ops replayed through the engine's own `apply`
and `backward` with every parameter untied per time step, so the lag decomposition
(analysis.gradient_by_lag) comes from the engine itself. Like record.py, it reads engine nodes
(the read-only protocol) and calls the engine; nothing else in viz does. What it knows of the
graph (ids, parameters, loss terms, steps, which values are computed from parameters alone) it
takes from the Recording that record.py makes of the same walk.
"""
import numpy as np

from tinygrad_rnn.context import enable_grad
from tinygrad_rnn.graph import topological_order
from tinygrad_rnn.tensor import Tensor, apply

from .errors import VizError
from .record import as_roots, norm, parameter_names, record_nodes


def step_gradients(root, params=None, keep_cuts=True):
    """d root / d parameter split by (loss term t, step s of the op that reads the parameter).

    The recorded ops are replayed through the engine with each parameter untied: the copy read
    at step s is its own leaf, so backward from a single term R[t] leaves in that copy exactly
    the part of dR[t]/dW that enters at step s (lag t - s). keep_cuts=False replays every cut
    as the identity: the full-BPTT gradient of the same forward computation. Each term is
    weighted by dR/dR[t] (1 for a sum, 1/T for a mean); what reaches a parameter from R other
    than through a term (a penalty on W added to R) is its "rest", so the contributions and
    the rest sum to dR/dW. Costs one backward per loss term: O(T^2) for a T-step sequence.

    Returns {"terms": [(term id, t)], "gradients": {param id: {(t, s): array}},
    "rest": {param id: array}, "shapes": {param id: shape}}.

    >>> step_gradients(R, model)["gradients"]["W1"][3, 3]      # dR[3]/dW1 entering at step 3
    """
    roots = as_roots(root)
    if len(roots) != 1 or roots[0].data.size != 1:
        got = f"shape {roots[0].data.shape}" if len(roots) == 1 else f"{len(roots)} roots"
        raise VizError(f"step_gradients: the root must be one scalar loss, got {got}")
    root = roots[0]
    order = topological_order([root])
    rec = record_nodes(order, [root], parameter_names(params))
    last = rec.roots[0]
    terms = [i for i in rec.loss_terms if i != last] or [last]
    with enable_grad():
        replayed, copies = replay_recording(order, rec, keep_cuts)
        weights, whole = _term_weights(replayed[last], [replayed[t] for t in terms], copies)
        gradients = {rec.ids[p]: {} for p in rec.parameters}
        rest = dict(whole)          # minus each term's part: what reaches W only from R
        summed = {p: [norm(g), len(copies)] for p, g in whole.items()}  # for its rounding
        for term, weight in zip(terms, weights):
            t = rec.steps[term]
            out = replayed[term]
            for copy in copies.values():
                copy.grad = None
            if weight is not None and out.requires_grad:
                out.backward(weight, retain_graph=True)
            for (param, s), copy in copies.items():
                if copy.grad is not None:       # two terms of one step (a sequence loss and
                    parts = gradients[rec.ids[param]]      # a last-step loss) add up
                    parts[t, s] = parts[t, s] + copy.grad if (t, s) in parts else copy.grad
                    if param in rest:
                        rest[param] = rest[param] - copy.grad
                        summed[param][0] += norm(copy.grad)
                        summed[param][1] += 1
    return {"terms": [(rec.ids[t], rec.steps[t]) for t in terms], "gradients": gradients,
            "rest": {rec.ids[p]: _unless_rounding(rest[p], *summed[p]) if p in rest
                     else np.zeros(rec.shapes[p]) for p in rec.parameters},
            "shapes": {rec.ids[p]: rec.shapes[p] for p in rec.parameters}}


def _unless_rounding(rest, scale, count):
    """The rest, or zeros when it is within the rounding of the sums that made it: `count`
    arrays whose norms add up to `scale`, each addition off by at most one spacing (eps) of
    what it adds, so count eps scale in all; twice that, for backward's order and the terms'.
    No absolute floor: a small gradient's rest (a tiny penalty) is kept."""
    if norm(rest) <= 2 * count * float(np.finfo(rest.dtype).eps) * scale:
        return np.zeros_like(rest)
    return rest


def replay_recording(order, rec, keep_cuts=True):
    """Replay the recorded ops of `order` (topological_order of the recording `rec`) through
    the engine with each parameter untied per time step. Returns ([replayed node i],
    {(parameter index, step): the untied leaf read at that step}); keep_cuts=False replays
    every cut as the identity (full BPTT of the same forward computation)."""
    replayed, copies, untied = [], {}, {}

    def read(i, step):
        """The value an op of time step `step` reads from node i: parameters (and what is
        computed from parameters alone outside any step, like a W.T hoisted out of the loop)
        untied per step."""
        if rec.parameter[i]:
            if (i, step) not in copies:
                copies[i, step] = Tensor(order[i].data, requires_grad=True)
            return copies[i, step]
        if step is not None and rec.steps[i] is None and not order[i].is_leaf and rec.carries[i]:
            if (i, step) not in untied:
                untied[i, step] = replay(i, step)
            return untied[i, step]
        return replayed[i]

    def replay(i, step):
        """Node i's op on what it reads at `step` (a cut as the identity unless keep_cuts)."""
        if rec.ops[i] == "cut" and not keep_cuts:
            return read(rec.parents[i][0], step)
        inputs = [read(parent, step) for parent in rec.parents[i]]
        return apply(rec.ops[i], *inputs, **dict(order[i].params))

    for i, node in enumerate(order):   # parameters are read through read(), untied
        replayed.append(node if node.is_leaf else replay(i, rec.steps[i]))
    return replayed, copies


def _term_weights(root, terms, copies):
    """([dR/dR[t] for each term (None when R does not depend on it through a gradient)],
    {parameter index: dR/dW summed over its untied copies}, from one backward from R; the
    dict is empty when R is its only term: no gradient reaches W but through it)."""
    if len(terms) == 1 and terms[0] is root:
        return [np.ones(root.data.shape, dtype=root.data.dtype)], {}
    for term in terms:
        term.retain_grad()
    if root.requires_grad:
        root.backward(retain_graph=True)
    weights = [term.grad for term in terms]
    for term in terms:
        term.grad = None
    whole = {}
    for (param, _), copy in copies.items():
        if copy.grad is not None:
            whole[param] = whole[param] + copy.grad if param in whole else copy.grad
        copy.grad = None
    return weights, whole
