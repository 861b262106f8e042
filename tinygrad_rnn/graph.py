"""Walking a recorded graph: every node under some roots, each after all of its parents.

One walk serves every reader of the graph: backward (reversed, it visits each node after all
of its consumers), gradcheck (which leaves a loss depends on) and the visualizer (node ids in
a fixed order). It is a depth-first post-order with an explicit stack, so a graph as deep as a
100,000-step sequence is no problem, and it follows parents in argument order, so the same
graph gives the same order every time.

Reversed, the order is also frugal with memory: it finishes one branch before the next (R[T],
y[T], h[T], then R[T-1], ...), so backward holds few pending gradients at a time.

    >>> order = topological_order([loss])          # leaves and ops, parents first
    >>> order[-1] is loss
    True
"""


def all_parents(node):
    """Every input of the op that made `node` (a leaf has none)."""
    return node.parents


def topological_order(roots, parents=all_parents):
    """The nodes under `roots` (a list of Tensors), each once, parents before children.

    `parents(node)` says which inputs to follow (default: every input, in argument order);
    nodes reached only through inputs it leaves out are not in the order.
    """
    order, seen = [], set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        path, unvisited = [root], [iter(parents(root))]    # the nodes being expanded, and
        while path:                                           # the parents each has left
            for parent in unvisited[-1]:
                if parent not in seen:
                    seen.add(parent)
                    path.append(parent)
                    unvisited.append(iter(parents(parent)))
                    break
            else:                      # every parent is in the order: the node goes after them
                unvisited.pop()
                order.append(path.pop())
    return order
