"""One finite-difference case per entry of the ops table: random shapes (broadcastable ones
for the elementwise ops), values inside the op's smooth domain, and the op written with the
public Tensor API. tests/test_primitives.py checks every vjp against them."""
from dataclasses import dataclass
from typing import Callable

import numpy as np
from engine_oracles import away_from_zero, distinct, normal, off_grid, on_grid, positive
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.checkpoint import checkpoint  # registers the "checkpoint" primitive


@dataclass
class Case:
    arrays: list          # the primitive's inputs
    api: Callable         # the op through the public API: api(*tensors) -> Tensor; the params
                          # (axis, index, ...) the table is called with are those it records


# --- drawing shapes, axes and values ---

def broadcastable_shapes(data, n, max_dims=3):
    drawn = data.draw(mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims,
                                                    max_side=3), label="shapes")
    return drawn.input_shapes


def a_shape(data, min_dims=0, max_dims=3):
    return data.draw(array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=3),
                     label="shape")


def an_axis(data, ndim, extra=0):
    """One axis of an ndim (+ extra) result, as a non-negative or a negative number."""
    return data.draw(st.integers(-(ndim + extra), ndim + extra - 1), label="axis")


def axis_argument(data, ndim):
    """None, one axis, or a tuple of distinct axes (some written negative)."""
    if ndim == 0:
        return None
    kind = data.draw(st.sampled_from(["none", "int", "tuple"]), label="axis kind")
    if kind == "none":
        return None
    if kind == "int":
        return an_axis(data, ndim)
    chosen = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if data.draw(st.booleans(), label="negative") else a for a in chosen)


# --- one case per primitive ---

def elementwise(api, *values):
    """An op of len(values) broadcastable inputs, each drawn by its value function."""
    def case(data, rng):
        shapes = broadcastable_shapes(data, len(values)) if len(values) > 1 else [a_shape(data)]
        return Case([draw(rng, s) for draw, s in zip(values, shapes)], api)
    return case


def where_case(data, rng):
    condition_shape, a_shape_, b_shape = broadcastable_shapes(data, 3)
    condition = rng.random(condition_shape) < 0.5
    as_tensor = data.draw(st.booleans(), label="condition as Tensor")
    given_condition = Tensor(condition) if as_tensor else condition    # a Tensor reads as != 0
    return Case([normal(rng, a_shape_), normal(rng, b_shape)],
                lambda a, b: tg.where(given_condition, a, b))


def matmul_case(data, rng):
    """Vector or matrix on each side; matrices get broadcastable batch dimensions."""
    batch_a, batch_b = broadcastable_shapes(data, 2, max_dims=2)
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    a = (k,) if data.draw(st.booleans(), label="a is a vector") else batch_a + (n, k)
    b = (k,) if data.draw(st.booleans(), label="b is a vector") else batch_b + (k, m)
    return Case([normal(rng, a), normal(rng, b)], lambda x, y: x @ y)


def reduction(name, values):
    def case(data, rng):
        shape = a_shape(data)
        axis = axis_argument(data, len(shape))
        keepdims = data.draw(st.booleans(), label="keepdims")
        return Case([values(rng, shape)], lambda x: getattr(x, name)(axis=axis, keepdims=keepdims))
    return case


def along_axis(name):
    def case(data, rng):
        shape = a_shape(data, min_dims=1)
        axis = an_axis(data, len(shape))
        method = data.draw(st.booleans(), label="method, not function")
        api = (lambda x: getattr(x, name)(axis)) if method else \
              (lambda x: getattr(tg, name)(x, axis=axis))
        return Case([2 * normal(rng, shape)], api)
    return case


def reshape_case(data, rng):
    shape = a_shape(data)
    size = int(np.prod(shape, dtype=np.int64))
    target = data.draw(st.sampled_from([(size,), (1, size), (size, 1), shape[::-1],
                                        (1,) + shape, shape + (1,), ()] if size == 1 else
                                       [(size,), (1, size), (size, 1), shape[::-1],
                                        (1,) + shape, shape + (1,)]), label="target")
    if target and data.draw(st.booleans(), label="use -1"):
        target = tuple(-1 if i == 0 else n for i, n in enumerate(target))
    spelling = data.draw(st.sampled_from(["varargs", "tuple", "list"]), label="spelling")
    api = {"varargs": lambda x: x.reshape(*target), "tuple": lambda x: x.reshape(target),
           "list": lambda x: x.reshape(list(target))}[spelling]
    return Case([normal(rng, shape)], api)


def transpose_case(data, rng):
    shape = a_shape(data)
    ndim = len(shape)
    order = data.draw(st.permutations(range(ndim)), label="axes")
    axes = tuple(a - ndim if data.draw(st.booleans(), label="negative") else a for a in order)
    spelling = data.draw(st.sampled_from(["varargs", "tuple", "T"]), label="spelling")
    if spelling == "T":
        axes = tuple(reversed(range(ndim)))
        api = lambda x: x.T    # noqa: E731
    elif spelling == "tuple":
        api = lambda x: x.transpose(axes)    # noqa: E731
    else:
        api = lambda x: x.transpose(*axes)    # noqa: E731
    return Case([normal(rng, shape)], api)


def getitem_case(data, rng):
    """Ints, slices (negative steps too), integer arrays with repeats (as arrays, lists,
    Tensors or tuples of ints), boolean masks, mixes."""
    shape = a_shape(data, min_dims=1)
    n = shape[0]
    kinds = ["int", "slice", "repeated", "mask", "ellipsis", "newaxis"]
    kinds += ["full mask"] + (["rows and columns", "slice and array", "nested tuples"]
                              if len(shape) >= 2 else [])
    kind = data.draw(st.sampled_from(kinds), label="index kind")
    picks = lambda size, length: rng.integers(-length, length, size)    # noqa: E731
    if kind == "int":
        index = int(rng.integers(-n, n))
    elif kind == "slice":
        start, stop = (data.draw(st.one_of(st.none(), st.integers(-n, n))) for _ in range(2))
        index = slice(start, stop, data.draw(st.sampled_from([None, 1, 2, -1, -2])))
    elif kind == "repeated":
        index = picks(data.draw(st.integers(1, 6), label="picks"), n)
    elif kind == "mask":
        index = rng.random(n) < 0.5
    elif kind == "full mask":
        index = rng.random(shape) < 0.5
    elif kind == "ellipsis":
        index = (Ellipsis, int(rng.integers(0, shape[-1])))
    elif kind == "newaxis":
        index = (None, slice(None), None)
    elif kind == "rows and columns":
        index = (picks(4, n), picks(4, shape[1]))
    elif kind == "nested tuples":        # x[(0, 0), (1, 1)]: numpy's fancy index, repeats too
        index = (tuple(int(i) for i in picks(3, n)), tuple(int(j) for j in picks(3, shape[1])))
    else:
        index = (slice(None), picks(5, shape[1]))
    spelling = data.draw(st.sampled_from(["array", "list", "Tensor"]), label="spelling")
    given_index = index
    if isinstance(index, np.ndarray) and index.dtype.kind == "i" and spelling != "array":
        given_index = index.tolist() if spelling == "list" else Tensor(index)
    return Case([normal(rng, shape)], lambda x: x[given_index])


def stack_case(data, rng):
    shape = a_shape(data, max_dims=2)
    axis = an_axis(data, len(shape), extra=1)
    arrays = [normal(rng, shape) for _ in range(data.draw(st.integers(1, 3), label="count"))]
    return Case(arrays, lambda *xs: tg.stack(list(xs), axis=axis))


def concatenate_case(data, rng):
    shape = a_shape(data, min_dims=1)
    axis = an_axis(data, len(shape))
    arrays = []
    for _ in range(data.draw(st.integers(1, 3), label="count")):
        own = list(shape)
        own[axis] = data.draw(st.integers(1, 3), label="length along axis")
        arrays.append(normal(rng, tuple(own)))
    return Case(arrays, lambda *xs: tg.concatenate(list(xs), axis=axis))


def linear_case(data, rng):
    """x (..., I) @ W.T + b with W (O, I), and b absent, (O,) or a (..., O) tensor whose
    batch dimensions broadcast against x's."""
    batch_x, batch_b = broadcastable_shapes(data, 2, max_dims=2)
    n_in, n_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    arrays = [normal(rng, batch_x + (n_in,)), normal(rng, (n_out, n_in))]
    bias = data.draw(st.sampled_from(["none", "vector", "batched"]), label="bias")
    if bias != "none":
        arrays.append(normal(rng, (n_out,) if bias == "vector" else batch_b + (n_out,)))
    return Case(arrays, tg.linear)


def mse_case(data, rng):
    shape = a_shape(data)
    reduction = data.draw(st.sampled_from(["mean", "sum"]), label="reduction")
    return Case([normal(rng, shape), normal(rng, shape)],
                lambda y, v: tg.mse_loss(y, v, reduction=reduction))


def checkpoint_case(data, rng):
    """checkpoint(fn, a, b): one node whose vjp recomputes fn; fn returns one or two tensors."""
    a, b = (normal(rng, s) for s in broadcastable_shapes(data, 2))
    two = data.draw(st.booleans(), label="two outputs")

    def fn(a, b):
        h = (a * b).tanh() + a
        return (h, (b * b).sum()) if two else h

    def api(a, b):
        outputs = checkpoint(fn, a, b)
        return outputs[0] * 2 + outputs[1] if two else outputs
    return Case([a, b], api)


def clamp_case(data, rng):
    """Bounds on one side or both, given as min/max (torch) or through clip; values kept off
    the bounds, where the gradient jumps."""
    shape = a_shape(data)
    low, high = data.draw(st.sampled_from([(-0.5, 0.5), (None, 0.0), (-1.0, None)]),
                          label="bounds")
    x = off_grid(rng, shape) * 0.5      # k/2 + 0.25 +- 0.05: 0.2 or more from every bound above
    method = data.draw(st.sampled_from(["clamp", "clip"]), label="spelling")
    return Case([x], lambda t: getattr(t, method)(min=low, max=high))


def norm_case(data, rng):
    """The p-norm (p = 2 most of the time) over all, one or several axes, spelled axis= or
    dim=."""
    shape = a_shape(data)
    axis = axis_argument(data, len(shape))
    keepdims = data.draw(st.booleans(), label="keepdims")
    p = data.draw(st.sampled_from([2, 2, 0.5, 1.5, 3]), label="p")
    if data.draw(st.booleans(), label="torch spelling"):
        return Case([normal(rng, shape)], lambda x: x.norm(p, dim=axis, keepdim=keepdims))
    return Case([normal(rng, shape)], lambda x: x.norm(p, axis=axis, keepdims=keepdims))


def gate_case(op, gate_blocks, second_blocks):
    """A gate primitive of the gated cells on (..., gate_blocks * H) gates and a second input of
    (..., second_blocks * H) (c[t-1], h[t-1] or the hidden projection; 0: none), with leading
    shapes that broadcast against each other (a learned initial state is (H,))."""
    def case(data, rng):
        size = data.draw(st.integers(1, 3), label="H")
        lead_a, lead_b = broadcastable_shapes(data, 2, max_dims=2)
        arrays = [normal(rng, lead_a + (gate_blocks * size,))]
        if second_blocks:
            arrays.append(normal(rng, lead_b + (second_blocks * size,)))
        return Case(arrays, lambda *xs: tg.apply(op, *xs))
    return case


def uniform(low, high):
    return lambda rng, shape: np.asarray(rng.uniform(low, high, shape))


CASES = {
    "add": elementwise(lambda a, b: a + b, normal, normal),
    "sub": elementwise(lambda a, b: a - b, normal, normal),
    "mul": elementwise(lambda a, b: a * b, normal, normal),
    "div": elementwise(lambda a, b: a / b, normal, away_from_zero),
    "neg": elementwise(lambda x: -x, normal),
    "pow": elementwise(lambda a, b: a ** b, positive, uniform(-2, 2)),
    "maximum": elementwise(tg.maximum, on_grid, off_grid),
    "where": where_case,
    "exp": elementwise(Tensor.exp, uniform(-3, 3)),
    "log": elementwise(Tensor.log, positive),
    "tanh": elementwise(Tensor.tanh, uniform(-3, 3)),
    "sigmoid": elementwise(Tensor.sigmoid, uniform(-4, 4)),
    "relu": elementwise(Tensor.relu, away_from_zero),
    "sqrt": elementwise(Tensor.sqrt, positive),
    "abs": elementwise(Tensor.abs, away_from_zero),
    "softplus": elementwise(Tensor.softplus, uniform(-4, 4)),
    "matmul": matmul_case,
    "linear": linear_case,
    "mse": mse_case,
    "sum": reduction("sum", normal),
    "mean": reduction("mean", normal),
    "max": reduction("max", distinct),
    "logsumexp": reduction("logsumexp", normal),
    "softmax": along_axis("softmax"),
    "log_softmax": along_axis("log_softmax"),
    "reshape": reshape_case,
    "transpose": transpose_case,
    "getitem": getitem_case,
    "stack": stack_case,
    "concatenate": concatenate_case,
    "cut": elementwise(Tensor.cut, normal),
    "astype": elementwise(Tensor.clone, normal),   # float32 is tested apart (test_pytorch_habits)
    "checkpoint": checkpoint_case,
    # the PyTorch user's toolbox
    "min": reduction("min", distinct),
    "clamp": clamp_case,
    "sin": elementwise(Tensor.sin, uniform(-4, 4)),
    "cos": elementwise(Tensor.cos, uniform(-4, 4)),
    "square": elementwise(Tensor.square, normal),
    "norm": norm_case,
    # the gated cells' gate computations (gates.py)
    "lstm_gates": gate_case("lstm_gates", 4, 0),
    "lstm_cell": gate_case("lstm_cell", 4, 1),
    "lstm_hidden": gate_case("lstm_hidden", 4, 1),
    "gru_gates": gate_case("gru_gates", 3, 3),
    "gru_hidden": gate_case("gru_hidden", 3, 1),
}
