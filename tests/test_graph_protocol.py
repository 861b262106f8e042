"""The read-only graph protocol the visualizer reads (op, parents, params, meta, is_leaf) and
the tags step(t), name_scope and tagged put into node.meta."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def test_leaf_and_node_protocol():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * x
    assert x.is_leaf and x.op is None and x.parents == () and dict(x.params) == {}
    assert not y.is_leaf and y.op == "mul"
    assert len(y.parents) == 2 and y.parents[0] is x and y.parents[1] is x    # duplicates kept


def test_parents_keep_argument_order():
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    assert [p is q for p, q in zip((a - b).parents, (a, b))] == [True, True]
    assert [p is q for p, q in zip((b - a).parents, (b, a))] == [True, True]
    c = Tensor([3.0], requires_grad=True)
    stacked = tg.stack([c, a, b, a])
    assert stacked.op == "stack" and len(stacked.parents) == 4
    assert all(p is q for p, q in zip(stacked.parents, (c, a, b, a)))


def test_numbers_become_constant_leaf_parents_on_their_own_side():
    x = Tensor([1.0, 2.0], requires_grad=True)
    right, left = x + 2, 2 - x
    assert right.parents[0] is x and right.parents[1].is_leaf and right.parents[1].item() == 2.0
    assert left.parents[1] is x and left.parents[0].item() == 2.0
    assert not left.parents[0].requires_grad


def test_params_are_recorded_and_read_only():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    s = x.sum(axis=-1, keepdims=True)
    assert s.op == "sum" and dict(s.params) == {"axis": (1,), "keepdims": True}
    assert x.reshape(3, -1).params["shape"] == (3, -1)
    assert x.transpose(1, 0).params["axes"] == (1, 0)
    picked = x[[0, 0]]
    np.testing.assert_array_equal(picked.params["index"], [0, 0])
    with pytest.raises(TypeError):
        s.params["axis"] = 0
    with tg.step(1):
        tagged = x * 2
    with pytest.raises(TypeError):
        tagged.meta["step"] = 2
    with pytest.raises(AttributeError):
        s.op = "add"
    with pytest.raises(AttributeError):
        s.parents = ()


def test_graph_stays_inspectable_after_backward():
    x = Tensor([0.5, -0.5], requires_grad=True)
    h = x.tanh()
    loss = (h * x).sum()
    loss.backward()
    assert loss.op == "sum" and loss.parents[0].op == "mul"
    assert loss.parents[0].parents[0] is h and h.parents == (x,)


def test_step_name_scope_and_tagged_reach_meta():
    x = Tensor([1.0], requires_grad=True)
    assert dict(x.meta) == {}
    with tg.name_scope("encoder"):
        with tg.step(3):
            h = x * 2
            with tg.name_scope("cell"), tg.tagged(role="state", kind="h"):
                s = h.tanh()
        after = s + 1
    assert dict(h.meta) == {"scope": "encoder", "step": 3}
    assert dict(s.meta) == {"scope": "encoder/cell", "step": 3, "role": "state", "kind": "h"}
    assert dict(after.meta) == {"scope": "encoder"}
    assert dict((after * 2).meta) == {}


def test_inner_tags_override_outer_ones_and_constants_are_tagged_too():
    with tg.step(1):
        with tg.step(2):
            inner = Tensor([1.0]) * 3          # no gradient anywhere: still knows its step
        outer = Tensor([1.0]) * 3
    assert inner.meta["step"] == 2 and outer.meta["step"] == 1
    assert not inner.requires_grad and inner.is_leaf


def test_tags_are_restored_when_the_block_raises():
    with pytest.raises(RuntimeError):
        with tg.step(4), tg.name_scope("boom"):
            raise RuntimeError
    assert dict((Tensor([1.0]) * 2).meta) == {}


def test_annotate_tags_one_node():
    x = Tensor([1.0], requires_grad=True)
    with tg.step(2):
        h = (x * 2).annotate(role="state")
        other = x * 3
    assert dict(h.meta) == {"step": 2, "role": "state"} and dict(other.meta) == {"step": 2}
