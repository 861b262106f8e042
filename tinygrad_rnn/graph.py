"""Walking a recorded graph: every node under some roots, each after all of its parents.

One walk serves every reader of the graph: backward (reversed, it visits each node after all
of its consumers), gradcheck (which leaves a loss depends on), memory release and the
visualizer. It is iterative, so a graph as deep as a 100,000-step sequence is no problem, and
deterministic: parents are followed in argument order (x * x visits x once).

    >>> order = topological_order([loss])          # leaves and ops, parents first
    >>> [node.op for node in order][-1]            # the root comes last
    'sum'
"""


def all_parents(node):
    """Every input of the op that made `node` (a leaf has none)."""
    return node.parents


def topological_order(roots, parents=all_parents):
    """The nodes under `roots` (a Tensor or a list), parents before children.

    A depth-first post-order that follows `parents(node)` (default: every input, in argument
    order) with an explicit stack. Each node appears once, after every parent it reaches
    through `parents`; a root that is also a parent of another root comes before it.
    """
    order, seen = [], set()
    for root in [roots] if hasattr(roots, "parents") else roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(parents(root)))]
        while stack:
            node, pending = stack[-1]
            for parent in pending:
                if parent not in seen:
                    seen.add(parent)
                    stack.append((parent, iter(parents(parent))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order
