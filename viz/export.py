"""Recorded graph -> networkx: with replay.py, the only module of viz that reads engine nodes.

It reads the engine's read-only protocol (`op`, `parents`, `params`, `meta`, `name`, `is_leaf`,
`data`, `grad`, `requires_grad`), so every number the visualizer shows comes from the engine
itself. Everything else in viz works on the networkx graphs made here.

    >>> G = to_networkx(R, params=model.named_parameters(), level="step")
    >>> G.nodes["h[3]"]["role"], G.edges["h[2]", "h[3]"]["dropped"]
    ('state', True)

Node ids are deterministic, never id(): a node's name (its meta "name" or tensor name, with
its scope, as in "layer1/h[3]"), "#k" appended to the k-th repeat of a name (the chains of
window(h) repeat h[t]), and "op:i" for unnamed nodes, i their position in a parents-first walk
from the root that follows each node's parents in argument order.
"""
from tinygrad_rnn.tensor import Tensor

from .errors import VizError
from .recording import Recording, to_op_graph
from .steps import collapse_steps


def to_networkx(root, params=None, level="op"):
    """The recorded graph under `root` as an UnrolledGraph (a networkx.DiGraph).

    root:   a Tensor (the loss R, a loss term, any output) or a list of them; before or
            after backward.
    params: {name: Tensor}, (name, Tensor) pairs or a Module (its named_parameters());
            names the parameters. Leaves that require grad count as parameters anyway.
    level:  "op" (every primitive, as torchviz) or "step" (the lecture's picture: x[t], h[t]
            or s[t], y[t], R[t] and the weights; see steps.py).

    Node attributes: op ("leaf" for leaves), name, role (input, parameter, state, hidden,
    output, loss, op, cut, constant), parameter (bool), step, scope, shape, dtype,
    requires_grad, value and grad (the arrays themselves; value None when the engine released
    it to save memory), value_norm, grad_norm (None without a gradient). Edges run from
    argument to result (data flow; gradients run back): position (argument index; positions
    and multiplicity for x * x), recurrent (crosses time steps), dropped (a cut drops it: no
    gradient flows back along it), dropped_for (the loss terms whose gradient stops exactly
    there), carries_gradient, parameters (the weights it carries) and kind.
    """
    if level not in ("op", "step"):
        raise VizError(f"to_networkx: level must be 'op' or 'step', got {level!r}")
    rec = record(root, params)
    if level == "step":
        return collapse_steps(rec)
    graph = to_op_graph(rec)
    graph.graph["recording"] = rec      # so that to_dot can draw it at step level too
    return graph


def record(root, params=None):
    """Read the graph under root into a Recording (plain lists; see recording.py)."""
    roots = _as_roots(root)
    order = _walk(roots)
    names = _parameter_names(params)
    index = {id(node): i for i, node in enumerate(order)}
    metas = [node.meta for node in order]
    ops = [node.op for node in order]
    datas = [node.data for node in order]
    parameter = [op is None and (id(node) in names or node.requires_grad)
                 for node, op in zip(order, ops)]
    dtype_names = {}
    for data in datas:
        if data.dtype not in dtype_names:      # str(dtype) is slow; a graph has one or two
            dtype_names[data.dtype] = str(data.dtype)
    columns = dict(
        ops=[op or "leaf" for op in ops],
        parents=[tuple([index[id(p)] for p in node.parents]) for node in order],
        names=[_name_of(node, meta, names) for node, meta in zip(order, metas)],
        roles=[_role(op, meta, p) for op, meta, p in zip(ops, metas, parameter)],
        steps=[meta.get("step") for meta in metas], scopes=[meta.get("scope") for meta in metas],
        parameter=parameter, requires_grad=[node.requires_grad for node in order],
        shapes=[data.shape for data in datas], dtypes=[dtype_names[data.dtype] for data in datas],
        values=[None if getattr(node, "value_released", False) else node.data for node in order],
        grads=[node.grad for node in order],
        op_params=[{k: repr(v) for k, v in node.params.items()} if op else {}
                   for node, op in zip(order, ops)])
    rank = {tensor_id: i for i, tensor_id in enumerate(names)}
    parameters = sorted((i for i, p in enumerate(columns["parameter"]) if p),
                        key=lambda i: rank.get(id(order[i]), len(rank)))
    steps, roles = columns["steps"], columns["roles"]
    terms = sorted((i for i, role in enumerate(roles) if role == "loss" and steps[i] is not None),
                   key=lambda i: (steps[i], i))
    root_indices = [index[id(r)] for r in roots]
    return Recording(ids=_node_ids(columns["ops"], columns["names"]), roots=root_indices,
                     parameters=parameters, loss_terms=terms or root_indices, **columns)


def retain_grads(root, roles=("state", "hidden", "output", "loss")):
    """Call retain_grad() on every recorded node of these roles under root, before backward,
    so that dR/dh[t] (and the edge widths by gradient norm) are known afterwards.
    Returns how many nodes now retain their gradient."""
    count = 0
    for node in _walk(_as_roots(root)):
        if not node.is_leaf and node.requires_grad and node.meta.get("role") in roles:
            node.retain_grad()
            count += 1
    return count


def _as_roots(root):
    roots = [root] if isinstance(root, Tensor) else list(root)
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"expected a Tensor or a list of Tensors, got {type(root).__name__}")
    return roots


def _walk(roots):
    """Every node under roots, parents before children: a depth-first post-order that visits
    parents in argument order, with an explicit stack (graphs are as deep as T is long)."""
    order, seen = [], set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.parents))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _parameter_names(params):
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    pairs = params.items() if hasattr(params, "items") else params
    return {id(tensor): str(name) for name, tensor in pairs}


def _name_of(node, meta, names):
    """The name to show and to build the id from: the params mapping's, else the meta "name"
    the models annotate (h[t], y[t], R[t]), else the tensor's own, prefixed with its scope."""
    if id(node) in names:
        return names[id(node)]
    name = meta.get("name") or node.name
    if name is None:
        return None
    scope = meta.get("scope")
    return f"{scope}/{name}" if scope else str(name)


def _node_ids(ops, shown):
    ids, used = [], set()
    for index, (op, base) in enumerate(zip(ops, shown)):
        candidate = base if base is not None else f"{op}:{index}"
        repeat = 1
        while candidate in used:
            candidate = f"{base}#{repeat}" if base is not None else f"{candidate}'"
            repeat += 1
        used.add(candidate)
        ids.append(candidate)
    return ids


def _is_parameter(node, names):
    return node.is_leaf and (id(node) in names or node.requires_grad)


def _role(op, meta, is_parameter):
    role = meta.get("role")
    if role is not None:
        return role
    if op == "cut":
        return "cut"
    if is_parameter:
        return "parameter"
    return "constant" if op is None else "op"
