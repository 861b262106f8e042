"""dR[t]/dnode and dR[t]/dW by time step for one loss term at a time, computed by the engine.

The recorded ops are replayed through the engine (replay.py: every parameter untied per time
step) with the replayed copies of the step-level nodes retaining their gradient. One backward
from a loss term R[t] then leaves in each copy of a step node its share of dR[t]/dnode (the
copies of h[t] that window(h) computes add up), and in the copy of W read at step s the part
of dR[t]/dW that enters at step s, lag t - s. keep_cuts=False replays every cut as the
identity: full BPTT of the same forward computation. Only the nodes the gradient of R[t]
reaches (reach.term_reach on the recorded graph) are read and cleared, so one term costs what
its own backward costs. Like replay.py, this module reads engine nodes and calls the engine.

    >>> replay = TermReplay(R, model, G)      # G: the step-level graph of R's recording
    >>> gradients = replay.term("R[6]")
    >>> gradients.node_norms["h[4]"]          # |dR[6]/dh[4]|
    >>> gradients.by_step["W1"][4]            # dR[6]/dW1 entering at step 4 (lag 2)
"""
import math
from dataclasses import dataclass

import numpy as np

from tinygrad_rnn.context import enable_grad
from tinygrad_rnn.graph import topological_order

from .errors import VizError
from .reach import term_reach
from .record import norm, parameter_names, record_nodes
from .replay import replay_recording


@dataclass
class TermGradients:
    """The gradient of one loss term (or of the whole loss) at the nodes it reaches."""
    node_norms: dict     # step node -> |d term / d node| (nan: the node requires no gradient)
    by_step: dict        # parameter -> {step s or None: d term / dW entering at step s}
    nodes: list          # the step nodes the gradient reaches (term_reach)
    edges: list
    term_weights: dict   # loss term reached -> d(this root)/d(term), an array of its shape


class TermReplay:
    """The replayed graph of one recording, ready for one backward per loss term."""

    def __init__(self, root, params, graph, keep_cuts=True):
        if root.data.size != 1:
            raise VizError(f"the root must be a scalar loss, got shape {root.shape}")
        members = graph.graph.get("members")
        if members is None:
            raise VizError("TermReplay needs the step-level graph of the root's own recording "
                           "(viz.to_networkx(root, params, level='step'))")
        order = topological_order([root])
        if max((i for copies in members.values() for i in copies), default=-1) >= len(order):
            raise VizError("the step-level graph was not recorded from this root")
        self.graph = graph
        self.keep_cuts = keep_cuts
        parameters = set(graph.graph["parameters"])
        rec = record_nodes(order, [root], parameter_names(params))
        with enable_grad():
            replayed, copies = replay_recording(order, rec, keep_cuts)
        self.copies = {}         # step node id -> the replayed tensors that hold its value
        parameter_of = {}        # index of a recorded parameter -> its step node id
        for node, indices in members.items():
            if node in parameters:
                parameter_of[indices[0]] = node
                continue
            tensors = [replayed[i] for i in indices]
            self.copies[node] = [t for t in tensors if t.requires_grad]
            for tensor in self.copies[node]:
                if not tensor.is_leaf:
                    tensor.retain_grad()
        self.parameter_copies = {}    # parameter -> {step: its untied leaf read at that step}
        for (recorded, step), leaf in copies.items():
            self.parameter_copies.setdefault(parameter_of[recorded], {})[step] = leaf
        self.root = replayed[rec.roots[0]]
        self._replayed_terms = {t: self.copies[t] for t in graph.graph["loss_terms"]
                                if t in self.copies}

    def term(self, term):
        """TermGradients of loss term `term` (a step node id, "R[6]")."""
        tensors = self._replayed_terms.get(term)
        if not tensors:
            raise VizError(f"{term!r} is not a loss term of this recording that requires grad")
        if len(tensors) != 1:
            raise VizError(f"the loss term {term!r} was recorded {len(tensors)} times")
        return self._backward(tensors[0], term)

    def whole(self, node=None):
        """TermGradients of the root (the loss R) or of another step node."""
        node = node if node is not None else self.graph.graph["roots"][0]
        tensor = self.root if node == self.graph.graph["roots"][0] else self.copies[node][0]
        return self._backward(tensor, node)

    def _backward(self, tensor, node):
        nodes, edges = term_reach(self.graph, node, through_cuts=not self.keep_cuts)
        with enable_grad():
            tensor.backward(np.ones(tensor.shape, dtype=tensor.dtype), retain_graph=True)
        attributes = self.graph.nodes
        weights = {}
        steps = {attributes[n]["step"] for n in nodes}
        by_step, norms = {}, {}
        for parameter, leaves in self.parameter_copies.items():
            parts = by_step[parameter] = {}
            for step in steps:
                leaf = leaves.get(step)
                if leaf is not None and leaf.grad is not None:
                    parts[step] = leaf.grad
                    leaf.grad = None
        for n in nodes:
            if n in self.parameter_copies:
                parts = list(by_step[n].values())
                norms[n] = norm(np.sum(parts, axis=0)) if parts else 0.0
            elif not attributes[n]["requires_grad"]:
                norms[n] = math.nan
            else:
                grads = [t.grad for t in self.copies.get(n, ()) if t.grad is not None]
                total = np.sum(grads, axis=0) if grads else None
                norms[n] = 0.0 if total is None else norm(total)
                if n in self._replayed_terms:
                    weights[n] = np.zeros(attributes[n]["shape"]) if total is None else total
                for t in self.copies.get(n, ()):
                    t.grad = None
        return TermGradients(norms, by_step, nodes, edges, weights)


