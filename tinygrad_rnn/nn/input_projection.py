"""The input projection W1 x[t] + b1 of many steps in one matmul, recorded step by step.

x[t] does not depend on the state, so the projection of a whole block of steps is one
(steps * B, N) @ (N, H) matmul instead of one small matmul per step; BLAS does much better on
the large one. Each step still records its own linear(x[t], W1, b1) node, holding its slice of
the block, so the graph (and the picture of it) is exactly the step-by-step one: x[t] -> h[t].
The block is computed by linear itself (without recording), so its value is the one a step's
linear would compute: the same dtype (float32 x and W with a float64 b give float64), the same
shape errors, a bias of None left out.

Blocks of `block` steps, not the whole sequence: once a block's steps are done and their
projection values released (memory.py), the block's array is freed, so hoisting costs one
block of memory rather than a (T, B, H) array.
"""
from ..context import no_grad
from ..functional import linear
from ..tensor import leaf, precomputed


class InputProjection:
    """projection(x, t) -> the linear(x, W, b) node of step t, computed a block at a time."""

    def __init__(self, xs, W, b, block=64):
        self.xs, self.W, self.b, self.block = xs._data, W, b, block
        self.start, self.values = None, None

    def __call__(self, x, t):
        i = t - 1
        if self.start is None or not self.start <= i < self.start + self.block:
            self.start = i
            with no_grad():
                self.values = linear(leaf(self.xs[i:i + self.block]), self.W, self.b)._data
        inputs = (x, self.W) if self.b is None else (x, self.W, self.b)
        return precomputed("linear", inputs, self.values[i - self.start])
