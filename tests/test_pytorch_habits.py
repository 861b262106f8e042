"""More of the PyTorch user's habits on tensors: to/float/double/type_as/clone (astype
underneath), torch's names for ops (pow, matmul, mm, t), var and std, all and any, masked_fill
and where, split and chunk, flip, expand and repeat, requires_grad_. Values, shapes and
gradients against PyTorch where it is installed, and against finite differences and the
formulas without it. (Modules, losses, LayerNorm: test_pytorch_habits_modules.py.)"""
import numpy as np
import pytest
from engine_oracles import check_backward
from refusals import refuses

import tinygrad_rnn as tg
from tinygrad_rnn import BackwardError, DTypeError, SettingError, ShapeError, Tensor

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))


def torch_or_skip():
    return pytest.importorskip("torch")


# --- ops under torch's names ---

def test_torch_names_record_the_same_ops():
    x, w = Tensor(X, requires_grad=True), Tensor(RNG.normal(size=(4, 2)))
    assert x.pow(2).op == "pow" and x.matmul(w).op == "matmul" and x.mm(w).op == "matmul"
    np.testing.assert_array_equal(x.pow(3).data, X ** 3)
    np.testing.assert_array_equal(x.mm(w).data, X @ w.data)
    assert x.t().shape == (4, 3) and Tensor([1.0, 2.0]).t().shape == (2,)
    refuses(ShapeError, lambda: Tensor(np.ones((2, 3, 4))).mm(w), "mm", "2-D", "(2, 3, 4)")
    refuses(ShapeError, lambda: Tensor(np.ones((2, 3, 4))).t(), "t:", "at most 2 axes")
    leaf = Tensor([1.0, 2.0])
    assert leaf.requires_grad_() is leaf and leaf.requires_grad
    assert not leaf.requires_grad_(False).requires_grad
    refuses(BackwardError, lambda: (x * 2).requires_grad_(False), "only a leaf")


def test_dtypes_as_torch_spells_them():
    x = Tensor(X, requires_grad=True)
    single = x.float()
    assert single.dtype == np.float32 and single.op == "astype" and single.requires_grad
    np.testing.assert_array_equal(single.data, X.astype(np.float32))
    (single * single).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, 2 * X, rtol=1e-6)
    assert x.double() is x and x.to("float64") is x and x.to("cpu") is x
    assert x.type_as(single).dtype == np.float32 and single.double().dtype == np.float64
    mask = x > 0
    np.testing.assert_array_equal(mask.float().data, (X > 0).astype(np.float32))
    copy = x.clone()
    assert copy is not x and copy.op == "astype" and copy.dtype == x.dtype
    copy.data[0, 0] = 100.0                       # a copy: x keeps its value
    assert x.data[0, 0] == X[0, 0]
    refuses(SettingError, lambda: x.to("cuda"), "'cuda'", "CPU")
    for dtype in (np.int64, bool, np.float16, None, "float128"):
        with pytest.raises(DTypeError, match="dtype"):
            x.to(dtype)


def test_clone_copies_every_tensor_a_mask_and_float16_too():
    """clone() of a bool mask or of a float16 tensor was a DTypeError (astype takes float32
    and float64); torch clones every tensor. A mask's copy is a mask; to("cpu:0") is itself."""
    x = Tensor(X, requires_grad=True)
    mask = x > 0
    copy = mask.clone()
    assert copy.dtype == bool and not copy.requires_grad
    copy.data[...] = False                          # a copy: the mask keeps its values
    np.testing.assert_array_equal(mask.data, X > 0)
    half = Tensor(X, dtype=np.float16, requires_grad=True)
    twin = half.clone()
    assert twin.dtype == np.float16 and twin.op == "astype"
    twin.sum().backward()
    assert half.grad.dtype == np.float16 and np.all(half.grad == 1)
    assert x.to("cpu:0") is x
    refuses(DTypeError, lambda: x.astype(None), "astype")


def test_split_and_chunk_of_a_0d_tensor_say_it_has_no_dims():
    for piece in (lambda t: t.split(1), lambda t: t.chunk(1, dim=-1)):
        refuses(ShapeError, lambda piece=piece: piece(Tensor(1.0)), "0-d tensor has no dims")


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("correction", [0, 1])
def test_var_and_std_are_the_formulas_with_their_gradients(dim, keepdim, correction):
    x = Tensor(X)
    axes = tuple(range(X.ndim)) if dim is None else dim
    n = X.size // np.mean(X, axis=axes, keepdims=True).size
    expected = ((X - X.mean(axis=axes, keepdims=True)) ** 2).sum(axis=axes, keepdims=keepdim)
    np.testing.assert_allclose(x.var(dim, keepdim=keepdim, correction=correction).data,
                               expected / (n - correction), rtol=1e-13)
    np.testing.assert_allclose(x.std(dim, keepdim=keepdim, correction=correction).data,
                               np.sqrt(expected / (n - correction)), rtol=1e-13)
    for op in ("var", "std"):
        check_backward(lambda t, op=op: getattr(t, op)(dim, keepdim=keepdim,
                                                       correction=correction),
                       [X], np.random.default_rng(2))


def test_var_unbiased_spelling_and_refusals():
    x = Tensor(X)
    np.testing.assert_allclose(x.var(unbiased=False).data, X.var(), rtol=1e-13)
    np.testing.assert_allclose(x.var(unbiased=True).data, X.var(ddof=1), rtol=1e-13)
    refuses(ShapeError, lambda: Tensor([1.0]).var(), "1 element", "no degrees of freedom")
    refuses(ShapeError, lambda: Tensor(np.ones((3, 0))).std(1), "0 element")
    refuses(SettingError, lambda: x.var(correction=-1), "correction", ">= 0")
    refuses(SettingError, lambda: x.var(correction=0.5), "correction")
    refuses(DTypeError, lambda: x.var(unbiased="yes"), "unbiased")


def test_var_and_std_take_their_positional_arguments_in_torchs_order():
    """torch's var(dim, unbiased, keepdim): x.var(1, False) is the population variance; it was
    read as keepdim=False and gave the unbiased one, silently. Both unbiased and correction,
    which torch refuses, are refused (unbiased was taken and correction dropped)."""
    x = Tensor(X)
    np.testing.assert_allclose(x.var(1, False).data, X.var(axis=1), rtol=1e-13)
    np.testing.assert_allclose(x.std(0, True).data, X.std(axis=0, ddof=1), rtol=1e-13)
    assert x.var(1, False, True).shape == (3, 1) and x.std(1, True, True).shape == (3, 1)
    refuses(SettingError, lambda: x.var(1, False, correction=1), "unbiased", "correction")
    refuses(SettingError, lambda: x.std(unbiased=True, correction=0), "not both")


def test_all_any_masked_fill_and_where():
    x = Tensor(X, requires_grad=True)
    mask = x > 0
    assert (mask.all().item(), mask.any().item()) == (bool(np.all(X > 0)), bool(np.any(X > 0)))
    assert Tensor(np.zeros(0)).all().item() and not Tensor(np.zeros(0)).any().item()
    assert not mask.any().requires_grad
    filled = x.masked_fill(mask, -1.0)
    np.testing.assert_array_equal(filled.data, np.where(X > 0, -1.0, X))
    filled.sum().backward()
    np.testing.assert_array_equal(x.grad, np.where(X > 0, 0.0, 1.0))
    # a NaN or inf under the mask is replaced, not multiplied by zero
    y = Tensor([np.nan, np.inf, 2.0])
    np.testing.assert_array_equal(y.masked_fill(np.array([True, True, False]), 0.0).data,
                                  [0.0, 0.0, 2.0])
    refuses(DTypeError, lambda: x.masked_fill(x, 0.0), "masked_fill", "bool mask", "float64")
    # torch's x.where(condition, y): x where it holds, y elsewhere
    kept = Tensor(X, requires_grad=True)
    chosen = kept.where(X > 0, 2.0)
    np.testing.assert_array_equal(chosen.data, np.where(X > 0, X, 2.0))
    chosen.sum().backward()
    np.testing.assert_array_equal(kept.grad, (X > 0).astype(float))
    refuses(DTypeError, lambda: kept.where(np.array(["a"] * 4), 0.0), "where", "condition")


@pytest.mark.parametrize("shape, how, argument, dim, lengths", [
    ((5, 2), "split", 2, 0, [2, 2, 1]), ((5, 2), "split", [1, 4], 0, [1, 4]),
    ((2, 7), "split", 3, 1, [3, 3, 1]), ((2, 7), "chunk", 3, -1, [3, 3, 1]),
    ((6,), "chunk", 4, 0, [2, 2, 2]), ((5,), "chunk", 7, 0, [1] * 5),
    ((0, 3), "chunk", 2, 0, [0, 0]), ((0, 3), "split", 2, 0, [0])])
def test_split_and_chunk_are_slices_along_dim(shape, how, argument, dim, lengths):
    data = RNG.normal(size=shape)
    pieces = getattr(Tensor(data), how)(argument, dim)
    assert [p.shape[dim] for p in pieces] == lengths
    np.testing.assert_array_equal(np.concatenate([p.data for p in pieces], axis=dim), data)
    if data.size:
        check_backward(lambda t: tg.concatenate(
            [p * (k + 1) for k, p in enumerate(getattr(t, how)(argument, dim))], axis=dim),
            [data], np.random.default_rng(3))


SHAPE_CASES = [((2, 1, 3), "expand", (2, 4, 3)), ((2, 1, 3), "expand", (5, 2, -1, 3)),
               ((1,), "expand", (3,)), ((3,), "expand", ((2, -1),)),
               ((2, 3), "repeat", (2, 1)), ((2, 3), "repeat", (1, 2, 3)),
               ((2, 3), "repeat", (0, 1)), ((3,), "repeat", ((2,),)),
               ((2, 3, 4), "flip", (0,)), ((2, 3, 4), "flip", ((0, 2),)), ((2, 3), "flip", (-1,))]


def _numpy(how, data, args):
    """numpy's broadcast_to, tile and flip for torch's expand, repeat and flip."""
    sizes = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    if how == "expand":
        lead = len(sizes) - data.ndim
        return np.broadcast_to(data, tuple(n if n != -1 else data.shape[i - lead]
                                           for i, n in enumerate(sizes)))
    return np.tile(data, sizes) if how == "repeat" else np.flip(data, args[0])


@pytest.mark.parametrize("shape, how, args", SHAPE_CASES)
def test_expand_repeat_and_flip_are_numpys_with_their_gradients(shape, how, args):
    data = RNG.normal(size=shape)
    np.testing.assert_array_equal(getattr(Tensor(data), how)(*args).data,
                                  _numpy(how, data, args))
    check_backward(lambda t: getattr(t, how)(*args) * 1.0, [data], np.random.default_rng(6))


def test_expand_repeat_and_flip_refusals():
    x = Tensor(X)
    refuses(ShapeError, lambda: x.expand(3, 5), "expand", "(3, 4)", "(3, 5)")
    refuses(ShapeError, lambda: x.expand(4), "expand")
    refuses(ShapeError, lambda: x.expand(-1, 3, 4), "expand")
    refuses(ShapeError, lambda: x.repeat(2), "repeat", "2 axes")
    refuses(ShapeError, lambda: x.repeat(2, -1), "repeat")
    refuses(DTypeError, lambda: x.repeat(2, 1.5), "repeat", "ints")
    refuses(ShapeError, lambda: x.flip((0, 0)), "flip", "twice")
    refuses(ShapeError, lambda: x.flip(2), "flip", "dim")


def test_split_and_chunk_refusals():
    x = Tensor(X)
    refuses(ShapeError, lambda: x.split([1, 1], 0), "split", "[1, 1]", "adding up to 3")
    refuses(ShapeError, lambda: x.split(0), "split_size", "> 0")
    refuses(ShapeError, lambda: x.split(2, dim=2), "split", "dim")
    refuses(ShapeError, lambda: x.chunk(0), "chunk", ">= 1")


# --- against PyTorch ---

def test_against_torch():
    torch = torch_or_skip()
    t = torch.tensor(X, requires_grad=True)
    weights = RNG.normal(size=(3, 4))
    cases = {
        "var": (lambda x: x.var(1, keepdim=True), lambda x: x.var(1, keepdim=True)),
        "var positional": (lambda x: x.var(1, False, True), lambda x: x.var(1, False, True)),
        "std zero spread": (lambda x: (x * 0).std(0), lambda x: (x * 0).std(0)),
        "std": (lambda x: x.std(0), lambda x: x.std(0)),
        "std all": (lambda x: x.std(correction=0), lambda x: x.std(correction=0)),
        "masked_fill": (lambda x: x.masked_fill(x > 0.2, 3.0),
                        lambda x: x.masked_fill(x > 0.2, 3.0)),
        "pow": (lambda x: x.pow(3), lambda x: x.pow(3)),
        "split": (lambda x: x.split([1, 3], dim=1)[1] * 2, lambda x: x.split([1, 3], dim=1)[1] * 2),
        "chunk": (lambda x: x.chunk(3, dim=1)[-1], lambda x: x.chunk(3, dim=1)[-1]),
        "expand": (lambda x: x[:1].expand(3, 4) * 2, lambda x: x[:1].expand(3, 4) * 2),
        "repeat": (lambda x: x.repeat(1, 2)[:, 3:7], lambda x: x.repeat(1, 2)[:, 3:7]),
        "flip": (lambda x: x.flip((0, 1)), lambda x: x.flip((0, 1))),
        "where": (lambda x: x.where(x < 0.3, x * x), lambda x: x.where(x < 0.3, x * x)),
    }
    for name, (ours_fn, theirs_fn) in cases.items():
        ours, theirs = Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
        out, out_torch = ours_fn(ours), theirs_fn(theirs)
        np.testing.assert_allclose(out.data, out_torch.detach().numpy(), rtol=1e-13,
                                   err_msg=name)
        w = weights[tuple(slice(0, n) for n in out.shape)]
        (out * w).sum().backward()
        (out_torch * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=name)
    x = Tensor(X)
    assert [p.shape for p in x.chunk(2, 1)] == [tuple(p.shape) for p in t.chunk(2, 1)]
    assert (x > 0).any().item() == bool((t > 0).any()) and x.t().shape == tuple(t.t().shape)


