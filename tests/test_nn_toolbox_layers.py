"""nn.Sequential, the activation modules, nn.Embedding, nn.Dropout and Module.train() /
.eval(): values by hand, gradients by finite differences (and against torch where
installed), and the errors bad input gets."""
import numpy as np
import pytest
from engine_oracles import finite_difference

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.errors import DTypeError, SettingError, TensorIndexError


def test_sequential_applies_its_modules_in_order():
    first, second = nn.Linear(3, 4, seed=0), nn.Linear(4, 2, seed=1)
    model = nn.Sequential(first, nn.Tanh(), second, nn.Sigmoid())
    x = np.random.default_rng(0).normal(size=(5, 3))
    expected = second(first(Tensor(x)).tanh()).sigmoid()
    np.testing.assert_array_equal(model(Tensor(x)).data, expected.data)
    assert [name for name, _ in model.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    assert len(model) == 4 and model[2] is second and list(model)[1].__class__ is nn.Tanh
    assert isinstance(model[1:3], nn.Sequential) and len(model[1:3]) == 2
    np.testing.assert_array_equal(nn.Sequential(nn.ReLU())(Tensor([-1.0, 2.0])).data, [0, 2])
    with pytest.raises(TensorIndexError, match="index 7 for 4 modules"):
        model[7]
    with pytest.raises(DTypeError, match="part 1 is a ufunc"):
        nn.Sequential(first, np.tanh)


def test_sequential_of_an_embedding_and_an_lstm_passes_keywords_to_the_last():
    tokens = np.array([[1, 2], [3, 3], [4, 0]])
    embed, lstm = nn.Embedding(5, 3, seed=0), nn.LSTM(3, 4, 2, seed=1)
    model = nn.Sequential(embed, lstm)
    ys, (h, c) = model(tokens, truncation="elman")
    expected, _ = lstm(embed.W.data[tokens], truncation="elman")
    np.testing.assert_allclose(ys.data, expected.data, rtol=1e-14)
    nn.sequence_loss(ys, np.zeros((3, 2, 2))).backward()
    assert embed.W.grad[[1, 2, 3, 4, 0]].any(axis=1).all()


def test_embedding_rows_and_their_accumulated_gradient():
    embed = nn.Embedding(4, 2, seed=0)
    W = embed.W.data.copy()
    tokens = np.array([[0, 3], [3, 3]])
    weights = np.random.default_rng(1).normal(size=(2, 2, 2))
    out = embed(tokens)
    np.testing.assert_array_equal(out.data, W[tokens])
    (out * weights).sum().backward()

    def loss(table):
        return float((table[tokens] * weights).sum())

    np.testing.assert_allclose(embed.W.grad, finite_difference(loss, [W])[0], rtol=1e-7)
    np.testing.assert_allclose(embed.W.grad[3], weights[0, 1] + weights[1, 0] + weights[1, 1])
    assert not embed.W.grad[1].any()
    np.testing.assert_array_equal(embed(Tensor([1.0, 2.0])).data, W[[1, 2]])   # whole floats


@pytest.mark.parametrize("tokens, error, match", [
    (np.array([0, 4]), TensorIndexError, r"in \[0, 4\), got values from 0 to 4"),
    (np.array([-1, 2]), TensorIndexError, "from -1 to 2"),
    (np.array([0.5]), DTypeError, "integer ids"),
    (np.array([True]), DTypeError, "integer ids"),
    ([[1], [2, 3]], DTypeError, "rectangular array"),
])
def test_embedding_refuses_ids_it_has_no_row_for(tokens, error, match):
    with pytest.raises(error, match=match):
        nn.Embedding(4, 2, seed=0)(tokens)


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    embed = nn.Embedding(6, 3, seed=0)
    theirs = torch.nn.Embedding(6, 3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(embed.W.data))
    tokens = np.array([[5, 1, 1], [0, 5, 2]])
    weights = np.random.default_rng(2).normal(size=(2, 3, 3))
    (embed(tokens) * weights).sum().backward()
    (theirs(torch.tensor(tokens)) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(embed.W.grad, theirs.weight.grad.numpy(), rtol=1e-14)


def test_dropout_in_training_and_in_evaluation():
    layer = nn.Dropout(0.25, seed=0)
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02           # 10,000 draws: 5 standard deviations
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)    # the mask is the gradient
    assert not np.array_equal(layer(x).data, y.data)  # a new mask every call
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert layer(x) is not x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, 0.0)
    for p in (-0.1, 1.5, "0.2", True):
        with pytest.raises(SettingError, match="p must be a probability"):
            nn.Dropout(p)


@pytest.mark.parametrize("layer", [nn.Dropout(0.5).eval(), nn.Dropout(0.0), nn.Dropout(0.5)],
                         ids=["evaluation", "p = 0", "training"])
def test_dropout_reads_an_array_or_list_as_a_constant_in_every_mode(layer):
    for given in ([1.0, 2.0], np.ones(2)):
        out = layer(given)
        assert isinstance(out, Tensor) and not out.requires_grad
        if not layer.training or layer.p == 0:
            np.testing.assert_array_equal(out.data, given)
    with pytest.raises(DTypeError, match="numeric"):
        layer("abc")


def test_dropout_in_training_refuses_a_bool_tensor_as_pytorch_does():
    """x * (mask / (1 - p)) cast to bool was x AND mask: the survivors' scale of 2 was lost."""
    mask = Tensor(np.array([True] * 8))
    with pytest.raises(DTypeError, match="1 / \\(1 - p\\) = 2, which a bool tensor cannot"):
        nn.Dropout(0.5, seed=0)(mask)
    assert nn.Dropout(0.5).eval()(mask) is mask        # as PyTorch: evaluation, p = 0 pass it
    assert nn.Dropout(0.0)(mask) is mask
    floats = nn.Dropout(0.5, seed=0)(Tensor(mask, dtype=np.float64)).data
    assert set(np.unique(floats)) <= {0.0, 2.0} and floats.any()


def test_dropout_without_a_seed_follows_manual_seed():
    x = Tensor(np.ones(20))
    tg.manual_seed(5)
    first = nn.Dropout(0.5)(x).data
    tg.manual_seed(5)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, first)


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.1)))
    assert model.training and all(m.training for m in model)
    assert model.eval() is model
    assert not model.training and not model[1].training and not model[2][0].training
    model.train()
    assert model[2][0].training
    stacked = nn.Stacked([nn.LSTM(2, 3, 2), nn.GRU(2, 3, 1)]).eval()
    assert not any(layer.training for layer in stacked.layers)
