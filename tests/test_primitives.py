"""Every entry of the ops table against central finite differences in float64.

Each primitive has a case in primitive_cases.py: random shapes (broadcastable ones for the
elementwise ops), values inside the op's smooth domain, and the op written with the public
Tensor API; the table is called with the params (axis, index, ...) that expression records.
Each vjp is then checked twice:

- directly: for a random cotangent g and direction dx, <unbroadcast(vjp_i(g)), dx> must equal
  <(f(x + eps dx) - f(x - eps dx)) / (2 eps), g>, the adjoint identity <J^T g, dx> = <g, J dx>;
- through backward(): the API expression, a random weighted sum of its output, backward(),
  and every leaf's .grad compared with element-by-element finite differences.

A third test holds each entry to its `reads` declaration. A primitive added to the table
without a case there fails test_every_primitive_has_a_case.
"""
import numpy as np
import pytest
from engine_oracles import check_backward, directional_derivative
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from primitive_cases import CASES

from tinygrad_rnn import Tensor
from tinygrad_rnn.errors import BackwardError
from tinygrad_rnn.primitives import PRIMITIVES, unbroadcast

HYPOTHESIS = settings(max_examples=30, deadline=None)


def test_every_primitive_has_a_case():
    missing = sorted(set(PRIMITIVES) - set(CASES))
    stale = sorted(set(CASES) - set(PRIMITIVES))
    assert not missing, ("primitives without a finite-difference case in primitive_cases.py: "
                         f"{missing}")
    assert not stale, f"cases for primitives no longer in the table: {stale}"


def _draw_case(name, data):
    """The case's rng and arrays, and the params its API expression records: those are what
    the table is called with (the API normalizes axes, turns Tensor indices into arrays...)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    case = CASES[name](data, rng)
    out = case.api(*[Tensor(a, requires_grad=True) for a in case.arrays])
    node = _find_node(out, name)
    assert node is not None, f"the API expression recorded no {name!r} node"
    return rng, case, dict(node.params)


def _find_node(out, name):
    """The node of op `name` nearest to `out` (checkpoint's outputs are slices of its node)."""
    queue = [out]
    while queue:
        node = queue.pop(0)
        if node.op == name:
            return node
        queue += node.parents
    return None


def _vjp(prim, i, g, out, arrays, params):
    """Input i's gradient from the primitive's one vjp, every input requiring grad."""
    parents = [Tensor(a, requires_grad=True) for a in arrays]
    for parent, a in zip(parents, arrays):
        parent._data = np.asarray(a)     # exactly these values (NaN placeholders included)
    return prim.vjp(g, out, parents, params)[i]


@pytest.mark.parametrize("name", sorted(CASES))
@HYPOTHESIS
@given(data=st.data())
def test_vjp_directly_against_finite_differences(name, data):
    prim = PRIMITIVES[name]
    rng, case, params = _draw_case(name, data)

    def forward(*arrays):
        return np.array(prim.forward(*arrays, **params), dtype=np.float64)   # a copy: cut and
                                                                             # reshape return views
    out = forward(*case.arrays)
    if not prim.differentiable:         # cut: identity forward, and no vjp to follow at all
        np.testing.assert_array_equal(out, case.arrays[0])
        assert prim.vjp is None
        return
    g = rng.standard_normal(out.shape)
    for i, x in enumerate(case.arrays):
        vjp = unbroadcast(np.asarray(_vjp(prim, i, g, out, case.arrays, params)), x.shape)
        dx = rng.standard_normal(x.shape)
        analytic = float(np.sum(vjp * dx))
        numeric = float(np.sum(directional_derivative(forward, case.arrays, i, dx) * g))
        assert abs(analytic - numeric) <= 1e-7 + 1e-6 * abs(numeric), \
            f"{name} input {i}: <vjp(g), dx> = {analytic!r}, <g, J dx> = {numeric!r}"


@pytest.mark.parametrize("name", sorted(CASES))
@HYPOTHESIS
@given(data=st.data())
def test_vjp_through_backward_against_finite_differences(name, data):
    rng, case, _ = _draw_case(name, data)
    if name == "cut":
        # Finite differences see through a cut; its defined gradient is zero. With
        # loss = <cut(x), w> + <x, v> the only gradient reaching x is v.
        x = Tensor(case.arrays[0], requires_grad=True)
        w, v = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
        out = case.api(x)
        ((out * w).sum() + (x * v).sum()).backward()
        np.testing.assert_array_equal(x.grad, v)
        assert out.parents[0] is x and not out.requires_grad
        return
    check_backward(case.api, case.arrays, rng)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_an_op_on_a_released_operand_is_refused_in_every_position(name, data):
    """A value released to save memory (memory.py) holds a NaN placeholder: computing with it
    must be a BackwardError, whichever input it is, never the placeholder's NaN passed off as
    the value (matmul's right operand, linear's weight, cut and checkpoint once were)."""
    _, case, _ = _draw_case(name, data)
    for i in range(len(case.arrays)):
        operands = [Tensor(a, requires_grad=True) * 1.0 for a in case.arrays]
        operands[i].release_value()
        with pytest.raises(BackwardError, match="released to save memory"):
            case.api(*operands)


def _reads_cases():
    return [name for name in sorted(CASES) if PRIMITIVES[name].differentiable]


@pytest.mark.parametrize("name", _reads_cases())
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_vjps_read_only_the_values_reads_declares(name, data):
    """`reads` documents which values backward needs; every value not listed may be garbage
    (here NaN of the right shape) without changing any vjp's result."""
    prim = PRIMITIVES[name]
    rng, case, params = _draw_case(name, data)
    out = np.asarray(prim.forward(*case.arrays, **params))
    g = rng.standard_normal(out.shape)
    blank = lambda a: np.full(np.shape(a), np.nan)    # noqa: E731
    hidden_out = out if "out" in prim.reads else blank(out)
    hidden = [a if prim.reads_input(i) else blank(a) for i, a in enumerate(case.arrays)]
    for i in range(len(case.arrays)):
        full = _vjp(prim, i, g, out, case.arrays, params)
        partial = _vjp(prim, i, g, hidden_out, hidden, params)
        np.testing.assert_array_equal(partial, full, err_msg=f"{name} vjp {i} reads more than "
                                                             f"reads={prim.reads}")


@HYPOTHESIS
@given(data=st.data())
def test_unbroadcast_is_the_adjoint_of_broadcasting(data):
    """<unbroadcast(g, s), dx> = <g, broadcast_to(dx, g.shape)> for every dx: it sums exactly
    the copies broadcasting made."""
    drawn = data.draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
    small, full = drawn.input_shapes[0], drawn.result_shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    g, dx = rng.standard_normal(full), rng.standard_normal(small)
    reduced = unbroadcast(g, small)
    assert reduced.shape == small
    np.testing.assert_allclose(np.sum(reduced * dx), np.sum(g * np.broadcast_to(dx, full)),
                               rtol=1e-12, atol=1e-12)


def test_unbroadcast_by_hand():
    g = np.arange(6.0).reshape(2, 3)          # [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(unbroadcast(g, (3,)), [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(unbroadcast(g, (1, 3)), [[3.0, 5.0, 7.0]])
    np.testing.assert_array_equal(unbroadcast(g, (2, 1)), [[3.0], [12.0]])
    np.testing.assert_array_equal(unbroadcast(g, ()), 15.0)
    assert unbroadcast(g, (2, 3)) is g
    np.testing.assert_array_equal(unbroadcast(np.ones((4, 2, 3)), (2, 1)), [[12.0], [12.0]])
