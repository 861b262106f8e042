"""Which edges a truncation drops, per loss term.

A cut is an identity whose gradient is zero, so the edge into a cut is where backpropagation
stops. That edge is dropped *for* the loss term R[t] when the gradient of R[t] reaches the
cut: a path leads from the cut to R[t] along edges that are not dropped. Under elman that is
the edge into step t's cut only; under window(h), whose h chains cut at staggered steps, it is
the edge h[t-h] -> h[t-h+1] of the chain R[t] is read from: a different edge for every term,
which no single picture of cuts can show and `dropped_for` records.

Each search starts at a cut and stops at the next cut and at the loss terms, so the work is
the size of the graph times the number of chains, never T^2.
"""


def dropped_for(rec):
    """{cut index: the indices of the loss terms it cuts off, by step} for a Recording whose
    children are known."""
    terms = set(rec.loss_terms)
    rank = {term: i for i, term in enumerate(rec.loss_terms)}
    return {cut: tuple(sorted(_terms_reached(rec, cut, terms), key=rank.get))
            for cut, op in enumerate(rec.ops) if op == "cut"}


def _terms_reached(rec, start, terms):
    """Loss terms reachable from start along edges that are not dropped."""
    found, seen, stack = [], {start}, [start]
    children = rec.children
    while stack:
        node = stack.pop()
        if node in terms:
            found.append(node)
            continue          # what consumes a term (the sum R) is past every term's gradient
        for child, _ in children[node]:
            if child not in seen and not rec.is_dropped(child):
                seen.add(child)
                stack.append(child)
    return found
