"""Gradients a vjp hands back without writing them out, and the walk adds up cheaply.

Two of the ops table's gradients would be wasteful as plain arrays:

- `Scatter`, the gradient of x[index] with respect to x: g at `index` in zeros of x's shape.
  A tensor read a step at a time gets one per step; the walk adds each into one sum in place.
- `Product`, the gradient of W in linear(x, W, b): g^T x summed over the batch. A weight used
  at every step gets one per step; the walk multiplies a block of them out as one matmul.

np.asarray() writes either out as the plain array it stands for, so any reader that wants
the array (a test, anomaly mode, a weight that is not a leaf) gets it.
"""
import math

import numpy as np


def _picks_once(index):
    """True when x[index] picks each position of x at most once (integers, slices, None,
    Ellipsis, boolean masks), so g can be added with +=. Any other index (an integer array,
    a sequence of integers such as x[(0, 0), (1, 1)]) may pick a position twice, and then
    each pick must add its share: np.add.at."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice))
               or (isinstance(part, (bool, np.bool_, np.ndarray))
                   and np.asarray(part).dtype == bool)
               for part in parts)


class Scatter:
    """The gradient of x[index] with respect to x, g placed at `index` in zeros of x's shape,
    not yet written out. A tensor sliced at every step (y[t] = ys[t] for t = 1..T) gets T such
    shares: the walk adds each into one sum of x's shape in place (`add_into`), where T dense
    arrays of x's shape would cost O(T^2) memory traffic (benchmarks/NOTES.md). np.asarray()
    writes it out."""

    __slots__ = ("g", "index", "shape")

    def __init__(self, g, index, shape):
        self.g, self.index, self.shape = g, index, shape

    def add_into(self, total):
        """total[index] += g, in place; repeated integer indices (x[[0, 0]]) accumulate."""
        if _picks_once(self.index):
            total[self.index] += self.g
        else:
            np.add.at(total, self.index, self.g)
        return total

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a Scatter is written out into a new array: copy=False cannot "
                             "be honoured")
        dense = self.add_into(np.zeros(self.shape, dtype=self.g.dtype))
        return dense if dtype is None else dense.astype(dtype, copy=False)


class Product:
    """The gradient of W in linear(x, W, b) = x W^T + b, g^T x summed over every leading
    (batch, time) axis, not yet multiplied out. A weight used at every step gets T such
    shares; the walk multiplies a block of k of them out as one (k B, O)^T (k B, I) matmul
    (`sum_of`), which writes one (O, I) array where k products write k (benchmarks/NOTES.md:
    it pays where a step's (O, I) product is large beside its rows, a small batch through a
    wide weight). np.asarray() multiplies one out."""

    __slots__ = ("g", "x", "shape", "count", "nbytes")

    def __init__(self, g, x, shape):
        self.g, self.x, self.shape = g, x, shape
        self.count = math.prod(g.shape[:-1])        # rows: (batch, time) positions
        # what multiplying it out with others copies: its rows of g and of x
        self.nbytes = self.count * (g.shape[-1] * g.itemsize + x.shape[-1] * x.itemsize)

    def rows(self):
        """(g, x) as matrices with one row per (batch, time) position."""
        g, x = self.g, self.x
        if x.shape[:-1] != g.shape[:-1]:      # x broadcast against a larger bias
            x = np.broadcast_to(x, g.shape[:-1] + x.shape[-1:])
        return g.reshape(self.count, g.shape[-1]), x.reshape(self.count, x.shape[-1])

    @staticmethod
    def sum_of(products):
        """The sum of the products, as one matmul over all their rows."""
        if len(products) == 1:
            return np.asarray(products[0])
        gs, xs = zip(*(p.rows() for p in products))
        return np.concatenate(gs).T.dot(np.concatenate(xs))

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a Product is multiplied out into a new array: copy=False cannot "
                             "be honoured")
        g, x = self.rows()
        dense = g.T.dot(x)
        return dense if dtype is None else dense.astype(dtype, copy=False)
