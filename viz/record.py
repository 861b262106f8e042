"""Recorded graph -> plain lists -> the op-level networkx graph. With replay.py, the only
module of viz that reads engine nodes.

It reads the engine's read-only protocol (`op`, `parents`, `params`, `meta`, `is_leaf`,
`data`, `grad`, `name`, `requires_grad`, `value_released`) once, in the engine's own walk
(`tinygrad_rnn.graph.topological_order`), into a Recording: node i's op, parents (indices, in
argument order, repeats kept), tags and arrays, nodes numbered parents first. So every number
the visualizer shows comes from the engine itself, and everything else in viz works on the
Recording or on the networkx graphs made from it.

    >>> rec = record(R, model)                       # model: names the parameters
    >>> rec.ids[rec.parameters[0]], rec.ids[rec.loss_terms[0]], rec.ops[rec.loss_terms[0]]
    ('W1', 'R[1]', 'mse')

Node ids are deterministic, never id(): a node's name (its meta "name" or tensor name, with
its scope, as in "layer1/h[3]"), "#k" appended to the k-th repeat of a name (the chains of
window(h) repeat h[t]), and "op:i" for unnamed nodes, i their position in the walk. They are
made in one place, `node_ids`, with `unique_name`, which the step level uses for its merged
nodes too.
"""
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from tinygrad_rnn.graph import topological_order
from tinygrad_rnn.tensor import Tensor

from .dropped import dropped_for
from .errors import VizError, VizTypeError, name_list


@dataclass
class Recording:
    """Node i of a recorded graph, numbered parents first (a topological order)."""
    ids: list             # deterministic node ids (node_ids)
    ops: list             # primitive name, "leaf" for leaves
    parents: list         # tuples of parent indices, in argument order
    names: list
    roles: list
    steps: list
    scopes: list
    calls: list           # the unroll call that made the node (meta "unroll"), or None
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
    carries: list = field(default=None)       # the parameters a node is computed from alone
    dropped_for: dict = field(default=None)   # cut index -> loss-term indices (dropped.py)
    reached: list = field(default=None)       # bools: backward's walk from the roots visits it

    def __post_init__(self):
        self.children = [[] for _ in self.ops]
        for child, parents in enumerate(self.parents):
            for position, parent in enumerate(parents):
                self.children[parent].append((child, position))
        # a value computed from parameters alone (and constants) stands for them: W1.T,
        # W * 2.0, W.tanh(), W - W.T; one computed from anything else (x[t], h[t]) for none
        self.carries = []
        for i in range(len(self.ops)):
            if self.parameter[i]:
                self.carries.append((i,))
                continue
            varying = [self.carries[p] for p in self.parents[i] if not self.is_constant(p)]
            self.carries.append(tuple(dict.fromkeys(w for ws in varying for w in ws))
                                if varying and all(varying) else ())
        self.dropped_for = dropped_for(self)
        # backward's walk: from the roots, into a node's arguments only when it requires grad
        # (never past a cut); nodes come parents first, so reversed, children come first
        self.reached = [False] * len(self.ops)
        for root in self.roots:
            self.reached[root] = True
        for i in reversed(range(len(self.ops))):
            if self.reached[i] and self.requires_grad[i]:
                for parent in self.parents[i]:
                    self.reached[parent] = True

    def is_constant(self, i):
        """Node i is a constant: a leaf that is not a parameter, has no role (an input x[t]
        has one) and does not require grad (a number, a mask, a precomputed array)."""
        return self.roles[i] == "constant" and not self.requires_grad[i]

    @property
    def steps_total(self):
        return max((s for s in self.steps if s is not None), default=0)

    def is_dropped(self, child):
        """Edges into a cut are where backpropagation stops."""
        return self.ops[child] == "cut"


def record(root, params=None):
    """Read the graph under `root` (a Tensor or a list of them) into a Recording.

    params: {name: Tensor}, (name, Tensor) pairs or a Module (its named_parameters()); names
    the parameters. Leaves that require grad count as parameters anyway.
    """
    roots = as_roots(root)
    return record_nodes(topological_order(roots), roots, parameter_names(params))


def record_nodes(order, roots, names):
    """The Recording of the nodes `order` (parents first, as topological_order gives them),
    of which `roots` are the roots, with parameters named by `names` (parameter_names)."""
    index = {node: i for i, node in enumerate(order)}
    metas = [node.meta for node in order]
    ops = [node.op for node in order]
    if "checkpoint" in ops:
        raise VizError("the graph was recorded with checkpoint_every: each checkpointed segment "
                       "is one node whose steps are recomputed during backward and not kept, so "
                       "there are no steps to draw. Draw the same model called without "
                       "checkpoint_every (its gradients are the same)")
    datas = [node.data for node in order]
    parameter = [op is None and (node in names or node.requires_grad)
                 for node, op in zip(order, ops)]
    dtype_names = {}
    for data in datas:
        if data.dtype not in dtype_names:      # a graph holds one or two dtypes: named once
            dtype_names[data.dtype] = str(data.dtype)
    columns = dict(
        ops=[op or "leaf" for op in ops],
        parents=[tuple([index[p] for p in node.parents]) for node in order],
        names=[name_of(node, names) for node in order],
        roles=[_role(op, meta, p) for op, meta, p in zip(ops, metas, parameter)],
        steps=[meta.get("step") for meta in metas], scopes=[meta.get("scope") for meta in metas],
        calls=[meta.get("unroll") for meta in metas],
        parameter=parameter, requires_grad=[node.requires_grad for node in order],
        shapes=[data.shape for data in datas], dtypes=[dtype_names[data.dtype] for data in datas],
        values=[None if node.value_released else node.data for node in order],
        grads=[node.grad for node in order],
        op_params=[{k: repr(v) for k, v in node.params.items()} if op else {}
                   for node, op in zip(order, ops)])
    rank = {tensor: i for i, tensor in enumerate(names)}
    parameters = sorted((i for i, p in enumerate(parameter) if p),
                        key=lambda i: rank.get(order[i], len(rank)))
    steps, roles = columns["steps"], columns["roles"]
    terms = sorted((i for i, role in enumerate(roles) if role == "loss" and steps[i] is not None),
                   key=lambda i: (steps[i], i))
    root_indices = [index[r] for r in roots]
    return Recording(ids=node_ids(columns["ops"], columns["names"]), roots=root_indices,
                     parameters=parameters, loss_terms=terms or root_indices, **columns)


def retain_grads(root, roles=("state", "cell", "hidden", "output", "loss")):
    """Call retain_grad() on every recorded node of these roles under root, before backward,
    so that dR/dh[t] (and the edge widths by gradient norm) are known afterwards.
    Returns how many nodes now retain their gradient. roles: one role or several ("state").
    Called after backward it changes nothing already computed (as PyTorch's retain_grad).

    >>> viz.retain_grads(R); R.backward()
    """
    roles = set(name_list("retain_grads", "roles", roles))
    count = 0
    for node in topological_order(as_roots(root)):
        if not node.is_leaf and node.requires_grad and node.meta.get("role") in roles:
            node.retain_grad()
            count += 1
    return count


def as_roots(root):
    """[root] for a Tensor, the roots of a non-empty list or tuple of Tensors; anything else
    is a VizTypeError naming what was given."""
    if isinstance(root, Tensor):
        return [root]
    if isinstance(root, (list, tuple)) and root and all(isinstance(r, Tensor) for r in root):
        return list(root)
    if isinstance(root, (list, tuple)):
        others = sorted({type(r).__name__ for r in root if not isinstance(r, Tensor)})
        given = f"a {type(root).__name__} of {' and '.join(others)}" if others else \
            f"an empty {type(root).__name__}"
    else:
        given = type(root).__name__
    raise VizTypeError(f"expected a recorded Tensor (the loss R, a loss term, any output) or a "
                       f"list of them, got {given}")


def parameter_names(params):
    """{Tensor: name} from {name: Tensor}, (name, Tensor) pairs or a Module ({} for None);
    anything else is a VizTypeError. One tensor given two names is a VizError: the graph can
    show it under one only (a Module lists a shared weight once)."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    pairs = params.items() if hasattr(params, "items") else params
    try:
        pairs = [(str(name), tensor) for name, tensor in pairs]
    except (TypeError, ValueError):        # not pairs
        pairs = None
    if pairs is None or not all(isinstance(tensor, Tensor) for _, tensor in pairs):
        raise VizTypeError(f"params must be a Module, {{name: Tensor}} or (name, Tensor) pairs, "
                           f"got {type(params).__name__}")
    found = {}
    for name, tensor in pairs:
        if found.setdefault(tensor, name) != name:
            raise VizError(f"params names one tensor twice: {found[tensor]!r} and {name!r}; "
                           f"give each tensor one name")
    return found


def name_of(node, names):
    """The name to show and to build the id from: the params mapping's, else the meta "name"
    the models annotate (h[t], y[t], R[t]), else the tensor's own, prefixed with its scope;
    None for an unnamed node."""
    if node in names:
        return names[node]
    meta = node.meta
    name = meta.get("name") or node.name
    if name is None:
        return None
    scope = meta.get("scope")
    return f"{scope}/{name}" if scope else str(name)


def node_ids(ops, names):
    """The id of each node i, from its op and shown name (None when unnamed): the name, or
    "op:i"; made unique in order by unique_name."""
    ids, taken = [], set()
    for i, (op, name) in enumerate(zip(ops, names)):
        ids.append(unique_name(name if name is not None else f"{op}:{i}", taken))
        taken.add(ids[-1])
    return ids


def unique_name(name, taken):
    """`name`, or `name#k` with the smallest k >= 1 that is not in `taken`."""
    candidate, repeat = name, 1
    while candidate in taken:
        candidate = f"{name}#{repeat}"
        repeat += 1
    return candidate


def _role(op, meta, is_parameter):
    role = meta.get("role")
    if role is not None:
        return role
    if op == "cut":
        return "cut"
    if is_parameter:
        return "parameter"
    return "constant" if op is None else "op"


def norm(array):
    """The 2-norm of an array of any shape (None for None, a gradient never computed)."""
    return None if array is None else math.sqrt(float(np.vdot(array, array)))


def node_attributes(rec, i):
    """The attributes of node i in either networkx graph (see viz.to_networkx)."""
    value, grad = rec.values[i], rec.grads[i]
    return dict(op=rec.ops[i], name=rec.names[i], role=rec.roles[i], parameter=rec.parameter[i],
                step=rec.steps[i], scope=rec.scopes[i], shape=rec.shapes[i], dtype=rec.dtypes[i],
                requires_grad=rec.requires_grad[i], value=value, grad=grad,
                value_norm=norm(value), grad_norm=norm(grad), op_params=rec.op_params[i])


def carries_gradient(rec, tail, head):
    """Whether the roots' gradient flows back along an edge tail -> head: head is reached
    and passes gradient to its arguments, and tail takes it (requires grad). Jordan's
    y[t-1] -> s[t] under a truncation carries none: s[t] is consumed only through its cut."""
    return rec.reached[head] and rec.requires_grad[head] and rec.requires_grad[tail]


def op_graph(rec, create_using=nx.DiGraph):
    """The op-level graph of a Recording: one node per recorded tensor, one edge per argument.
    `create_using` is the graph type to make (networkx's convention)."""
    graph = create_using(level="op")
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
                carries_gradient=carries_gradient(rec, parent, child) and not dropped,
                parameters=tuple(ids[p] for p in rec.carries[parent]),
                kind="parameter" if rec.parameter[parent] else "data")
    graph.add_edges_from((u, v, attrs) for (u, v), attrs in edges.items())
    graph.graph.update(roots=[ids[i] for i in rec.roots],
                       parameters=[ids[i] for i in rec.parameters],
                       loss_terms=[ids[i] for i in rec.loss_terms], steps=rec.steps_total,
                       recording=rec)        # so that to_dot can draw it at step level too
    return graph
