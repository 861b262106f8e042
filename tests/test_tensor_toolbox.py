"""The PyTorch user's tensor habits: elementwise comparisons (bool tensors without gradient;
hashing stays by identity), argmax / argmin, min, clamp / clip, sin, cos, square, norm, tolist,
view / unsqueeze / squeeze / flatten, and dim= / keepdim= wherever axis= / keepdims= go. Values
against numpy written out here, gradients against finite differences and, where PyTorch is
installed, both against torch."""
import copy
import json
import operator
import pickle

import numpy as np
import pytest
from engine_oracles import check_backward, check_op

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.errors import SettingError, ShapeError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4))


def torch_or_skip():
    return pytest.importorskip("torch")


# --- comparisons ---

@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge,
                                     operator.eq, operator.ne])
def test_comparisons_are_elementwise_bool_tensors_without_gradient(compare):
    a = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    b = Tensor([[3.0, 2.0, 1.0]], requires_grad=True)
    for left, right, expected in ((a, b, compare(a.data, b.data)),
                                  (a, 2.0, compare(a.data, 2.0)),
                                  (2.0, a, compare(2.0, a.data)),
                                  (np.array([[2.0, 2.0, 2.0]]), a, compare(2.0, a.data))):
        result = compare(left, right)
        assert isinstance(result, Tensor) and result.dtype == bool
        np.testing.assert_array_equal(result.data, expected)
        assert not result.requires_grad and result.is_leaf and result.op is None


def test_a_mask_from_a_comparison_selects_and_weights():
    x = Tensor(X, requires_grad=True)
    mask = x > 0
    (x * mask).sum().backward()
    np.testing.assert_array_equal(x.grad, X > 0)
    assert tg.where(mask, x, 0.0).data.tolist() == np.where(X > 0, X, 0.0).tolist()
    np.testing.assert_array_equal(x[mask].data, X[X > 0])              # a mask, not 0s and 1s
    np.testing.assert_array_equal(x[x.argmax(dim=0), np.arange(4)].data, X.max(axis=0))


def test_tensors_stay_dict_keys_by_identity_and_compare_to_none_as_false():
    a, b = Tensor([1.0]), Tensor([1.0])
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b, a}) == 2
    assert (a == None) is False and (a != None) is True      # noqa: E711
    assert (a == "text") is False
    with pytest.raises(TypeError):
        operator.lt(a, "text")


@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge,
                                     operator.eq, operator.ne])
def test_comparing_with_a_torch_tensor_gives_a_bool_mask(compare):
    """numpy handed the result to torch, which gave a uint8 tensor: as an index it picked
    positions 0 and 1, not the elements where the comparison holds."""
    torch = torch_or_skip()
    x = Tensor([1.0, -2.0, 3.0])
    for mask in (compare(x, torch.zeros(3, dtype=torch.float64)),
                 compare(torch.zeros(3, dtype=torch.float64), x)):
        assert mask.dtype == np.bool_
    mask = compare(x, torch.zeros(3, dtype=torch.float64))
    assert mask.data.tolist() == compare(np.array([1.0, -2.0, 3.0]), 0).tolist()
    np.testing.assert_array_equal(x[mask].data, x.data[compare(x.data, 0)])
    with pytest.raises(tg.DTypeError, match="cannot compare"):
        compare(x, torch.zeros(3, requires_grad=True))


def test_comparing_shapes_that_do_not_fit_names_them():
    with pytest.raises(ShapeError, match=r"<: operands of shapes \(3, 4\) and \(5,\)"):
        operator.lt(Tensor(X), np.zeros(5))


# --- arg-reductions and min ---

@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions_match_numpy_and_have_no_gradient(name):
    x = Tensor(X, requires_grad=True)
    for kwargs, expected in (({}, getattr(np, name)(X)),
                             ({"axis": 1}, getattr(np, name)(X, axis=1)),
                             ({"dim": 0, "keepdim": True}, getattr(np, name)(X, axis=0)[None])):
        result = getattr(x, name)(**kwargs)
        assert result.dtype == np.int64 and not result.requires_grad
        np.testing.assert_array_equal(result.data, expected)
    with pytest.raises(ShapeError, match="empty"):
        getattr(Tensor(np.zeros((0, 3))), name)()


def test_argmax_picks_classes_for_an_accuracy():
    logits = Tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    labels = np.array([1, 2])
    assert (logits.argmax(dim=-1) == labels).data.tolist() == [True, False]
    assert float((logits.argmax(dim=-1) == labels).data.mean()) == 0.5


def test_min_is_the_negated_max_of_the_negation():
    x = Tensor(X)
    np.testing.assert_array_equal(x.min(axis=1).data, X.min(axis=1))
    np.testing.assert_array_equal(x.min().data, -(-x).max().data)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("spelling", [
    lambda t, op, **k: getattr(t, op)(1, **k), lambda t, op, **k: getattr(t, op)(dim=1, **k),
    lambda t, op, **k: getattr(t, op)(-1, **k)], ids=["positional", "dim=", "negative"])
@pytest.mark.parametrize("keep", [False, True])
def test_max_and_min_along_a_dim_are_values_and_indices_as_torch(op, spelling, keep):
    """values, indices = logits.max(dim=1) unpacks the pair, as in torch (it once unpacked the
    rows of the values: vals was row 0's max, idx row 1's); values carry the gradient, to the
    one position indices names even where values tie, as torch's max(dim) sends it."""
    torch = torch_or_skip()
    data = np.array([[0.1, 2.0, 0.3, 2.0], [5.0, 0.2, 0.1, -1.0], [0.5, 0.5, 0.5, 0.5]])
    ours = Tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    values, indices = spelling(ours, op, keepdim=keep)
    expected = getattr(theirs, op)(dim=1, keepdim=keep)
    pair = spelling(ours, op, keepdim=keep)
    assert pair.values.shape == pair.indices.shape == tuple(expected.values.shape)
    np.testing.assert_array_equal(values.data, expected.values.detach().numpy())
    np.testing.assert_array_equal(indices.data, expected.indices.numpy())
    assert indices.dtype == np.int64 and not indices.requires_grad
    weights = np.arange(1.0, 4.0).reshape(expected.values.shape)
    (values * weights).sum().backward()
    (expected.values * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_max_along_a_dim_of_a_tensor_empty_along_another_is_empty_as_torch():
    """(0, 3).max(1) is empty pairs, as torch's; only the dim reduced may not be empty."""
    values, indices = Tensor(np.zeros((0, 3))).max(1)
    assert values.shape == indices.shape == (0,)
    with pytest.raises(ShapeError, match="empty along axis 1"):
        Tensor(np.zeros((2, 0))).max(1)


def test_max_over_numpy_axes_and_of_everything_stays_the_values():
    x = Tensor(X)
    np.testing.assert_array_equal(x.max(axis=1).data, X.max(axis=1))
    np.testing.assert_array_equal(x.min(axis=(0, 1), keepdims=True).data,
                                  X.min(axis=(0, 1), keepdims=True))
    for everything in (x.max(), x.max(None), x.max(dim=None), x.max(axis=None)):
        assert everything.shape == () and float(everything) == X.max()
    with pytest.raises(tg.DTypeError, match=r"max\(axis=\(0, 1\)\)"):
        x.max(dim=(0, 1))
    with pytest.raises(SettingError, match="give axis= or dim="):
        x.min(1, axis=1)


# --- elementwise math ---

@pytest.mark.parametrize("name, reference", [
    ("sin", np.sin), ("cos", np.cos), ("square", lambda a: a * a),
])
def test_elementwise_math_values_and_gradients(name, reference):
    check_op(getattr(Tensor, name), reference, [X], np.random.default_rng(1))


def test_clamp_and_clip_keep_the_gradient_inside_the_bounds_included():
    x = Tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    y = x.clamp(min=-1.0, max=1.0)
    np.testing.assert_array_equal(y.data, [-1, -1, 0, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])       # the bounds are inside
    np.testing.assert_array_equal(x.clip(max=0.5).data, np.minimum(x.data, 0.5))
    with pytest.raises(SettingError, match="min=, max= or both"):
        x.clamp()
    with pytest.raises(SettingError, match="max must be a number"):
        x.clamp(max=float("nan"))


@pytest.mark.parametrize("p, reference", [
    (2, lambda a: np.sqrt((a * a).sum())), ("fro", lambda a: np.sqrt((a * a).sum())),
    (1, lambda a: np.abs(a).sum()), (float("inf"), lambda a: np.abs(a).max()),
    (3, lambda a: (np.abs(a) ** 3).sum() ** (1 / 3)),
])
def test_norms_match_their_formulas_with_gradients(p, reference):
    check_op(lambda t: t.norm(p), reference, [X], np.random.default_rng(2))


def test_the_two_norm_along_dim_and_its_gradient_at_zero():
    check_op(lambda t: t.norm(dim=1, keepdim=True),
             lambda a: np.sqrt((a * a).sum(axis=1, keepdims=True)), [X], np.random.default_rng(3))
    zero = Tensor(np.zeros(3), requires_grad=True)
    zero.norm().backward()
    np.testing.assert_array_equal(zero.grad, 0.0)       # torch's subgradient, not NaN
    with pytest.raises(SettingError, match="p must be a positive number"):
        zero.norm(p=0)


# --- shape spellings (reshape underneath) ---

def test_shape_spellings():
    x = Tensor(RNG.normal(size=(2, 1, 3)), requires_grad=True)
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.unsqueeze(0).shape == (1, 2, 1, 3) and x.unsqueeze(-1).shape == (2, 1, 3, 1)
    assert x.squeeze().shape == (2, 3) and x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze(1).shape == (2, 3) and x.squeeze((1, 2)).shape == (2, 3)
    assert x.flatten().shape == (6,) and x.flatten(1).shape == (2, 3)
    assert x.flatten(0, 1).shape == (2, 3) and Tensor(1.0).flatten().shape == (1,)
    assert {x.view(6).op, x.unsqueeze(0).op, x.squeeze().op, x.flatten().op} == {"reshape"}
    check_backward(lambda t: t.unsqueeze(1).flatten(1) * t.flatten(1).unsqueeze(0).squeeze(0),
                   [RNG.normal(size=(2, 3))], np.random.default_rng(4))
    assert x.tolist() == x.data.tolist() and isinstance(Tensor(2.5).tolist(), float)
    with pytest.raises(ShapeError, match=r"unsqueeze: dim must be an int in \[-4, 3\]"):
        x.unsqueeze(4)
    with pytest.raises(ShapeError, match="flatten: start_dim 2 comes after end_dim 1"):
        x.flatten(2, 1)


def test_size_is_numpys_int_and_torchs_size():
    x = Tensor(RNG.normal(size=(2, 1, 3)))
    assert x.size == 6 and isinstance(x.size, int) and np.zeros(x.size).shape == (6,)
    assert x.size() == (2, 1, 3) and x.size(0) == 2 and x.size(-1) == 3
    assert x.numel() == 6 and x.dim() == 3 and Tensor(1.0).size() == () and Tensor(1.0).dim() == 0
    assert Tensor(np.zeros((4, 0))).size == 0 and Tensor(np.zeros((4, 0))).size(1) == 0
    for plain in (x.size + 0, pickle.loads(pickle.dumps(x.size)), copy.deepcopy(x.size)):
        assert type(plain) is int and plain == 6
    assert f"{x.size}" == "6" and json.dumps({"n": x.size}) == '{"n": 6}'
    with pytest.raises(ShapeError, match=r"size: dim must be an int in \[-3, 2\]"):
        x.size(3)
    with pytest.raises(ShapeError, match="a 0-d tensor has no dims"):
        Tensor(1.0).size(0)


# --- dim= wherever axis= ---

@pytest.mark.parametrize("call", [
    lambda x, **k: x.sum(**k), lambda x, **k: x.mean(**k), lambda x, **k: x.logsumexp(**k),
    lambda x, **k: x.norm(**k), lambda x, **k: x.argmax(**k), lambda x, **k: x.argmin(**k),
    lambda x, **k: x.max(**k).values if "dim" in k else x.max(**k),      # torch's pair
    lambda x, **k: x.min(**k).values if "dim" in k else x.min(**k),
])
def test_dim_and_keepdim_are_axis_and_keepdims(call):
    x = Tensor(X)
    np.testing.assert_array_equal(call(x, dim=1, keepdim=True).data,
                                  call(x, axis=1, keepdims=True).data)
    with pytest.raises(SettingError, match="give axis= or dim=.*not both"):
        call(x, axis=1, dim=1)
    with pytest.raises(SettingError, match="give keepdims= or keepdim="):
        call(x, axis=1, keepdims=True, keepdim=True)


@pytest.mark.parametrize("call", [
    lambda x, **k: x.sum(**k), lambda x, **k: x.mean(**k), lambda x, **k: x.logsumexp(**k),
    lambda x, **k: x.norm(**k), lambda x, **k: x.argmax(**k), lambda x, **k: x.argmin(**k),
    lambda x, **k: x.softmax(**k), lambda x, **k: x.log_softmax(**k),
    lambda x, **k: tg.logsumexp(x, **k), lambda x, **k: tg.softmax(x, **k),
])
def test_dim_none_means_what_axis_none_means(call):
    """dim=None is given, as axis=None is: all axes where an op reduces over all, refused where
    it runs along one; never the default axis (logsumexp's last) in disguise."""
    x = Tensor(X)
    try:
        expected = call(x, axis=None)
    except tg.TinygradRNNError as exc:
        with pytest.raises(type(exc)):
            call(x, dim=None)
    else:
        np.testing.assert_array_equal(call(x, dim=None).data, expected.data)
    with pytest.raises(tg.DTypeError, match="keepdims must be True or False"):
        x.sum(dim=1, keepdim=None)          # as keepdims=None


def test_dim_in_the_functions_too():
    x = Tensor(X)
    np.testing.assert_array_equal(x.softmax(dim=0).data, x.softmax(axis=0).data)
    np.testing.assert_array_equal(tg.log_softmax(x, dim=0).data, tg.log_softmax(x, 0).data)
    np.testing.assert_array_equal(tg.logsumexp(x, dim=0, keepdim=True).data,
                                  tg.logsumexp(x, 0, True).data)
    assert tg.stack([x, x], dim=1).shape == (3, 2, 4)
    assert tg.concatenate([x, x], dim=1).shape == (3, 8)
    with pytest.raises(SettingError, match="stack: give axis= or dim="):
        tg.stack([x, x], axis=0, dim=1)


# --- PyTorch as a second oracle ---

def test_everything_against_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(5)
    data = rng.normal(size=(3, 4))
    weights = rng.normal(size=(3, 4))
    cases = {
        "sin": (lambda t: t.sin(), lambda t: t.sin()),
        "cos": (lambda t: t.cos(), lambda t: t.cos()),
        "square": (lambda t: t.square(), lambda t: t.square()),
        "clamp": (lambda t: t.clamp(min=-0.5, max=0.7), lambda t: t.clamp(min=-0.5, max=0.7)),
        "min": (lambda t: t.min(dim=1, keepdim=True).values * 1.0,
                lambda t: t.min(dim=1, keepdim=True).values),
        "norm": (lambda t: t.norm(dim=0, keepdim=True), lambda t: t.norm(dim=0, keepdim=True)),
        "norm3": (lambda t: t.norm(3), lambda t: t.norm(3)),
    }
    for name, (ours_fn, theirs_fn) in cases.items():
        ours = Tensor(data, requires_grad=True)
        theirs = torch.tensor(data, requires_grad=True)
        out, out_torch = ours_fn(ours), theirs_fn(theirs)
        np.testing.assert_allclose(out.data, out_torch.detach().numpy(), rtol=1e-13,
                                   err_msg=name)
        w = weights[tuple(slice(0, n) for n in out.shape)] if out.ndim else 1.0
        (out * w).sum().backward()
        (out_torch * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=name)
    t = torch.tensor(data)
    x = Tensor(data)
    assert x.argmax(dim=1).tolist() == t.argmax(dim=1).tolist()
    assert (x > 0).tolist() == (t > 0).tolist()
    assert x.unsqueeze(1).flatten(1).squeeze().shape == tuple(t.unsqueeze(1).flatten(1)
                                                              .squeeze().shape)
    assert (x.size(), x.size(1), x.numel(), x.dim()) == (tuple(t.size()), t.size(1), t.numel(),
                                                         t.dim())
