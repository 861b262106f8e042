"""Gradients by (loss term, step): the recorded ops replayed through the engine's own `apply`
and `backward` with every parameter untied per time step, so the lag decomposition
(analysis.gradient_by_lag) comes from the engine itself. Like export.py, it reads engine nodes
(the read-only protocol) and calls the engine; nothing else in viz does.
"""
import numpy as np

from tinygrad_rnn.context import enable_grad
from tinygrad_rnn.tensor import Tensor, apply

from .errors import VizError
from .export import _is_parameter, _name_of, _node_ids, _parameter_names, _walk
from .recording import VIEW_OPS


def step_gradients(root, params=None, keep_cuts=True):
    """d root / d parameter split by (loss term t, step s of the op that reads the parameter).

    The recorded ops are replayed through the engine with each parameter untied: the copy read
    at step s is its own leaf, so backward from a single term R[t] leaves in that copy exactly
    the part of dR[t]/dW that enters at step s (lag t - s). keep_cuts=False replays every cut
    as the identity: the full-BPTT gradient of the same forward computation. Each term is
    weighted by dR/dR[t] (1 for a sum, 1/T for a mean), so the contributions sum to dR/dW.
    Costs one backward per loss term: O(T^2) for a T-step sequence.

    Returns {"terms": [(term id, t)], "gradients": {param id: {(t, s): array}},
    "shapes": {param id: shape}}.
    """
    order = _walk([root])
    names = _parameter_names(params)
    shown = [_name_of(node, node.meta, names) for node in order]
    ids = dict(zip(map(id, order), _node_ids([n.op or "leaf" for n in order], shown)))
    if root.data.size != 1:
        raise VizError(f"step_gradients: the root must be a scalar loss, got shape {root.shape}")
    with enable_grad():
        replayed, copies = _replay(order, names, keep_cuts)
        terms = [n for n in order if n.meta.get("role") == "loss" and n.meta.get("step") is not None
                 and n is not root] or [root]
        weights = _term_weights(replayed[id(root)], [replayed[id(t)] for t in terms], copies)
        rank = {tensor_id: i for i, tensor_id in enumerate(names)}
        parameters = sorted((p for p in order if _is_parameter(p, names)),
                            key=lambda p: rank.get(id(p), len(rank)))
        gradients = {ids[id(p)]: {} for p in parameters}
        for term, weight in zip(terms, weights):
            t = term.meta.get("step")
            out = replayed[id(term)]
            for copy in copies.values():
                copy.grad = None
            if weight is not None and out.requires_grad:
                out.backward(weight, retain_graph=True)
            for (param, s), copy in copies.items():
                if copy.grad is not None:
                    gradients[ids[param]][(t, s)] = copy.grad
    return {"terms": [(ids[id(t)], t.meta.get("step")) for t in terms], "gradients": gradients,
            "shapes": {ids[id(p)]: p.shape for p in parameters}}


def _replay(order, names, keep_cuts):
    replayed, copies, views = {}, {}, {}

    def read(node, step):
        """The value an op of time step `step` reads from node: parameters (and views of them
        made outside any step, like a W.T hoisted out of the loop) untied per step."""
        if _is_parameter(node, names):
            if (id(node), step) not in copies:     # nodes outlive the replay: ids stay valid
                copies[id(node), step] = Tensor(node.data, requires_grad=True)
            return copies[id(node), step]
        if step is not None and node.meta.get("step") is None and node.op in VIEW_OPS \
                and _is_parameter_view(node, names):
            if (id(node), step) not in views:
                views[id(node), step] = apply(node.op, read(node.parents[0], step),
                                              **dict(node.params))
            return views[id(node), step]
        return replayed[id(node)]

    for node in order:
        step = node.meta.get("step")
        if node.is_leaf:
            replayed[id(node)] = node      # parameters are read through read(), untied
        elif node.op == "cut" and not keep_cuts:
            replayed[id(node)] = read(node.parents[0], step)
        else:
            inputs = [read(parent, step) for parent in node.parents]
            replayed[id(node)] = apply(node.op, *inputs, **dict(node.params))
    return replayed, copies


def _is_parameter_view(node, names):
    while node.op in VIEW_OPS and len(node.parents) == 1:
        node = node.parents[0]
    return _is_parameter(node, names)


def _term_weights(root, terms, copies):
    """dR/dR[t] for each term (None when R does not depend on it through a gradient)."""
    if len(terms) == 1 and terms[0] is root:
        return [np.ones(root.shape, dtype=root.dtype)]
    for term in terms:
        term.retain_grad()
    if root.requires_grad:
        root.backward(retain_graph=True)
    weights = [term.grad for term in terms]
    for term in terms:
        term.grad = None
    for copy in copies.values():
        copy.grad = None
    return weights
