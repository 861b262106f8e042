"""A recorded graph as plain lists, and as the op-level networkx graph.

export.py reads the engine once into a Recording: node i's op, parents (indices, in argument
order, repeats kept), tags and arrays, nodes numbered parents first. Both levels are built
from it with list lookups rather than networkx calls, which keeps a 5,000-step recording
(65,000 nodes) to about a second; only the result becomes a networkx graph.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .dropped import dropped_for
from .graph import UnrolledGraph

# ops that move or relabel a value without combining it with another: a parameter seen
# through them is still that parameter (W1.T is W1)
VIEW_OPS = frozenset({"transpose", "reshape", "getitem"})


@dataclass
class Recording:
    """Node i of a recorded graph, numbered parents first (a topological order)."""
    ids: list             # deterministic node ids (see export.py)
    ops: list             # primitive name, "leaf" for leaves
    parents: list         # tuples of parent indices, in argument order
    names: list
    roles: list
    steps: list
    scopes: list
    parameter: list       # bools: a leaf that is a parameter
    requires_grad: list
    shapes: list
    dtypes: list
    values: list          # the arrays themselves (None when released to save memory)
    grads: list
    op_params: list
    roots: list           # indices
    parameters: list      # indices, in the order of the params mapping
    loss_terms: list      # indices of R[t], by step (else the roots)
    children: list = field(default=None)      # [(child, position)] per node
    carries: list = field(default=None)       # parameters a node's value is (a view of)
    dropped_for: dict = field(default=None)   # cut index -> loss-term indices (dropped.py)

    def __post_init__(self):
        self.children = [[] for _ in self.ops]
        for child, parents in enumerate(self.parents):
            for position, parent in enumerate(parents):
                self.children[parent].append((child, position))
        self.carries = []
        for i, op in enumerate(self.ops):
            if self.parameter[i]:
                self.carries.append((i,))
            elif op in VIEW_OPS and len(self.parents[i]) == 1:
                self.carries.append(self.carries[self.parents[i][0]])
            else:
                self.carries.append(())
        self.dropped_for = dropped_for(self)

    @property
    def steps_total(self):
        return max((s for s in self.steps if s is not None), default=0)

    def is_dropped(self, child):
        """Edges into a cut are where backpropagation stops."""
        return self.ops[child] == "cut"


def _norm(array):
    """The 2-norm; vdot is twice as fast as linalg.norm on the small arrays of a step."""
    return None if array is None else math.sqrt(float(np.vdot(array, array)))


def node_attributes(rec, i):
    """The attributes of node i in either networkx graph (see export.to_networkx)."""
    value, grad = rec.values[i], rec.grads[i]
    return dict(op=rec.ops[i], name=rec.names[i], role=rec.roles[i], parameter=rec.parameter[i],
                step=rec.steps[i], scope=rec.scopes[i], shape=rec.shapes[i], dtype=rec.dtypes[i],
                requires_grad=rec.requires_grad[i], value=value, grad=grad,
                value_norm=_norm(value), grad_norm=_norm(grad), op_params=rec.op_params[i])


def to_op_graph(rec):
    """The op-level UnrolledGraph: one node per recorded tensor, one edge per argument."""
    graph = UnrolledGraph(level="op")
    ids = rec.ids
    graph.add_nodes_from((ids[i], node_attributes(rec, i)) for i in range(len(ids)))
    edges = {}
    for child, parents in enumerate(rec.parents):
        for position, parent in enumerate(parents):
            pair = (ids[parent], ids[child])
            if pair in edges:                    # x * x: one edge, two positions
                edges[pair]["positions"] += (position,)
                edges[pair]["multiplicity"] += 1
                continue
            steps = (rec.steps[parent], rec.steps[child])
            dropped = rec.is_dropped(child)
            edges[pair] = dict(
                position=position, positions=(position,), multiplicity=1,
                recurrent=None not in steps and steps[0] != steps[1], dropped=dropped,
                dropped_for=(tuple(ids[t] for t in rec.dropped_for.get(child, ()))
                             if dropped else ()),
                carries_gradient=rec.requires_grad[parent] and not dropped,
                parameters=tuple(ids[p] for p in rec.carries[parent]),
                kind="parameter" if rec.parameter[parent] else "data")
    graph.add_edges_from((u, v, attrs) for (u, v), attrs in edges.items())
    graph.graph.update(roots=[ids[i] for i in rec.roots],
                       parameters=[ids[i] for i in rec.parameters],
                       loss_terms=[ids[i] for i in rec.loss_terms], steps=rec.steps_total)
    return graph
