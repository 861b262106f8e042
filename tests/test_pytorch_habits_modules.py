"""The PyTorch user's habits with modules: a module's children, modules and apply in torch's
order, float() and double(); the losses as modules (MSELoss, CrossEntropyLoss,
BCEWithLogitsLoss), LayerNorm and nn.utils.clip_grad_norm_. Against PyTorch where it is
installed, and against the formulas and finite differences without it. (Tensors:
test_pytorch_habits.py.)"""
import numpy as np
import pytest
from engine_oracles import check_backward
from refusals import refuses

import tinygrad_rnn as tg
from tinygrad_rnn import SettingError, ShapeError, Tensor, nn

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))


def torch_or_skip():
    return pytest.importorskip("torch")


def _model():
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Sequential(nn.Linear(3, 1)))


def test_children_modules_and_apply_in_torchs_order():
    model = _model()
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    assert [type(m).__name__ for m in model.children()] == ["Linear", "Tanh", "Sequential"]
    assert [name for name, _ in model.named_modules()] == ["", "0", "1", "2", "2.0"]
    assert next(model.modules()) is model
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Tanh", "Linear", "Sequential", "Sequential"]   # children first
    shared = nn.Linear(2, 2)
    twice = nn.Sequential(shared, shared)
    assert [name for name, _ in twice.named_modules()] == ["", "0"]          # each once
    refuses(SettingError, lambda: model.apply("init"), "apply", "fn")
    refuses(SettingError, lambda: model.apply(lambda: None), "apply", "1 positional argument")


def test_apply_initializes_every_layer_and_float_double_convert():
    model = _model()

    def zero(module):
        if isinstance(module, nn.Linear):
            module.W.data[...] = 0.0
    model.apply(zero)
    weights = [p for name, p in model.named_parameters() if name.endswith("W")]
    assert len(weights) == 2 and not any(w.data.any() for w in weights)
    assert {p.dtype for p in model.float().parameters()} == {np.dtype(np.float32)}
    assert {p.dtype for p in model.double().parameters()} == {np.dtype(np.float64)}


def test_the_losses_as_modules():
    prediction, target = Tensor(X, requires_grad=True), RNG.normal(size=X.shape)
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_array_equal(nn.MSELoss(reduction)(prediction, target).data,
                                      tg.mse_loss(prediction, target, reduction).data)
    classes = np.array([0, 3, 1])
    np.testing.assert_array_equal(nn.CrossEntropyLoss()(prediction, classes).data,
                                  tg.cross_entropy(prediction, classes).data)
    bits = (RNG.random(X.shape) > 0.5).astype(float)
    np.testing.assert_array_equal(nn.BCEWithLogitsLoss("sum")(prediction, bits).data,
                                  tg.binary_cross_entropy_with_logits(prediction, bits,
                                                                      "sum").data)
    assert repr(nn.MSELoss()) == "MSELoss(reduction='mean')"
    refuses(SettingError, lambda: nn.CrossEntropyLoss("average"), "CrossEntropyLoss",
            "reduction", "'average'")


@pytest.mark.parametrize("normalized_shape", [4, (3, 4)])
def test_layer_norm_is_its_formula_with_its_gradient(normalized_shape):
    data = RNG.normal(size=(2, 3, 4)) * 3 + 1
    norm = nn.LayerNorm(normalized_shape)
    assert [name for name, _ in norm.named_parameters()] == ["weight", "bias"]
    norm.weight.data[...] = RNG.normal(size=norm.weight.shape)
    norm.bias.data[...] = RNG.normal(size=norm.bias.shape)
    axes = (-1,) if normalized_shape == 4 else (-2, -1)
    mean, var = data.mean(axis=axes, keepdims=True), data.var(axis=axes, keepdims=True)
    expected = (data - mean) / np.sqrt(var + 1e-5) * norm.weight.data + norm.bias.data
    np.testing.assert_allclose(norm(data).data, expected, rtol=1e-12, atol=1e-12)
    check_backward(lambda x, w, b: nn.LayerNorm(normalized_shape)(x) * w + b,
                   [data, norm.weight.data, norm.bias.data], np.random.default_rng(5))
    plain = nn.LayerNorm(normalized_shape, elementwise_affine=False)
    assert plain.parameters() == [] and plain(data).shape == data.shape
    refuses(ShapeError, lambda: nn.LayerNorm(5)(data), "trailing axes", "(5,)", "(2, 3, 4)")
    refuses(ShapeError, lambda: nn.LayerNorm((2, 3, 4, 5))(data), "trailing axes")
    refuses(SettingError, lambda: nn.LayerNorm(0), "normalized_shape")
    refuses(SettingError, lambda: nn.LayerNorm(4, eps=-1.0), "eps")


def test_clip_grad_norm_under_torchs_name():
    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = np.array([3.0, 4.0, 0.0])
    assert nn.utils.clip_grad_norm_([p], 1.0) == 5.0
    np.testing.assert_allclose(p.grad, [0.6, 0.8, 0.0])
    refuses(SettingError, lambda: nn.utils.clip_grad_norm_([p], 1.0, norm_type=1), "norm_type",
            "only norm_type=2")
    refuses(SettingError, lambda: nn.utils.clip_grad_norm_([p], 1.0, norm_type=float("inf")),
            "norm_type")


def test_modules_against_torch():
    torch = torch_or_skip()
    ours, theirs = _model(), torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(),
                                                 torch.nn.Sequential(torch.nn.Linear(3, 1)))
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    order = []
    theirs.apply(lambda m: order.append(type(m).__name__))
    mine = []
    ours.apply(lambda m: mine.append(type(m).__name__))
    assert mine == order
    data = RNG.normal(size=(2, 3, 4))
    theirs_norm = torch.nn.LayerNorm((3, 4), dtype=torch.float64)
    torch.nn.init.normal_(theirs_norm.weight)
    torch.nn.init.normal_(theirs_norm.bias)
    ours_norm = nn.LayerNorm((3, 4))
    ours_norm.load_state_dict({k: v.detach().numpy() for k, v in
                               theirs_norm.state_dict().items()})
    x, tx = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    weights = RNG.normal(size=data.shape)
    (ours_norm(x) * weights).sum().backward()
    (theirs_norm(tx) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours_norm(x).data, theirs_norm(tx).detach().numpy(), rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_norm.weight.grad, theirs_norm.weight.grad.numpy(),
                               rtol=1e-12, atol=1e-13)


def test_a_module_under_two_names_is_one_child_as_in_torch():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert [name for name, _ in model.named_children()] == ["0", "1"]
    calls = []
    model.apply(lambda m: calls.append(m) if m is shared else None)
    assert len(calls) == 1          # an init that scales the weights scales them once


def test_clip_grad_norm_takes_torchs_foreach_and_refuses_an_array_norm_type():
    p = Tensor(np.zeros(3), requires_grad=True)
    for foreach in (None, True, False):
        p.grad = np.array([3.0, 4.0, 0.0])
        assert nn.utils.clip_grad_norm_([p], 1.0, foreach=foreach) == 5.0
        np.testing.assert_allclose(p.grad, [0.6, 0.8, 0.0])
    refuses(SettingError, lambda: nn.utils.clip_grad_norm_([p], 1.0, foreach="yes"), "foreach")
    refuses(SettingError, lambda: nn.utils.clip_grad_norm_([p], 1.0, norm_type=np.array([2, 2])),
            "only norm_type=2")
