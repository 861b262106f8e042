"""A second engine as the oracle for the gated cells: nn.LSTM / nn.GRU against torch.nn.LSTM /
torch.nn.GRU + Linear holding the same weights (float64), under full BPTT and under
chunked(k), which in PyTorch is the state detached at the chunk boundaries."""
import numpy as np
import pytest
from nn_oracles import randomize

from tinygrad_rnn import nn, truncation

torch = pytest.importorskip("torch")

T, B, N, H, O = 7, 3, 2, 4, 3
WEIGHT_SCALE = 0.7


@pytest.fixture(scope="module")
def sequence():
    rng = np.random.default_rng(5)
    return rng.normal(size=(T, B, N)), rng.normal(size=(T, B, O))


def torch_twin(model):
    """(rnn, head): torch.nn.LSTM or GRU and Linear with the model's weights. The LSTM's one
    bias b1 is torch's bias_ih with bias_hh = 0 (torch adds the two); the GRU's b1 and bm are
    torch's bias_ih and bias_hh."""
    kind = torch.nn.LSTM if isinstance(model, nn.LSTM) else torch.nn.GRU
    rnn = kind(N, H).double()
    head = torch.nn.Linear(H, O).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(model.W1.data))
        rnn.weight_hh_l0.copy_(torch.tensor(model.Wm.data))
        rnn.bias_ih_l0.copy_(torch.tensor(model.b1.data))
        rnn.bias_hh_l0.copy_(torch.tensor(model.bm.data) if isinstance(model, nn.GRU)
                             else torch.zeros(len(model.b1.data), dtype=torch.float64))
        head.weight.copy_(torch.tensor(model.W2.data))
        head.bias.copy_(torch.tensor(model.b2.data))
    return rnn, head


def torch_pairs(model, rnn, head):
    pairs = {"W1": rnn.weight_ih_l0, "Wm": rnn.weight_hh_l0, "b1": rnn.bias_ih_l0,
             "W2": head.weight, "b2": head.bias}
    if isinstance(model, nn.GRU):
        pairs["bm"] = rnn.bias_hh_l0
    return pairs


def run_torch(model, xs, vs, chunk=None):
    """Loss, ys and final state of the twin, the state detached every `chunk` steps."""
    rnn, head = torch_twin(model)
    lstm = isinstance(model, nn.LSTM)
    leaves = {}
    if "h0" in model._parameters:
        leaves["h0"] = torch.tensor(model.h0.data, requires_grad=True)
        h = leaves["h0"].expand(1, B, H)
        if lstm:
            leaves["c0"] = torch.tensor(model.c0.data, requires_grad=True)
            state = (h, leaves["c0"].expand(1, B, H))
        else:
            state = h
    else:
        state = None
    chunk = chunk or T
    outputs = []
    for start in range(0, T, chunk):
        if start > 0:
            state = tuple(s.detach() for s in state) if lstm else state.detach()
        hs, state = rnn(torch.tensor(xs[start:start + chunk]), state)
        outputs.append(head(hs))
    ys = torch.cat(outputs)
    loss = sum(((ys[t] - torch.tensor(vs[t])) ** 2).mean() for t in range(T))
    loss.backward()
    grads = {name: tensor.grad.numpy() for name, tensor in torch_pairs(model, rnn, head).items()}
    grads.update({name: leaf.grad.numpy() for name, leaf in leaves.items()})
    if not isinstance(model, nn.GRU):
        np.testing.assert_allclose(rnn.bias_hh_l0.grad.numpy(), grads["b1"], rtol=1e-12,
                                   atol=1e-14)       # the two biases' gradients are one
    final = [s[0].detach().numpy() for s in state] if lstm else [state[0].detach().numpy()]
    return loss.item(), ys.detach().numpy(), final, grads


MODELS = {
    "lstm": lambda learn: nn.LSTM(N, H, O, learn_initial_state=learn, seed=0),
    "gru": lambda learn: nn.GRU(N, H, O, learn_initial_state=learn, seed=0),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("learn_initial_state", [False, True])
@pytest.mark.parametrize("policy, chunk", [("full", None), (truncation.chunked(3), 3),
                                           ("elman", 1)])
def test_values_and_gradients_equal_torch(kind, learn_initial_state, policy, chunk, sequence):
    xs, vs = sequence
    model = randomize(MODELS[kind](learn_initial_state), seed=3, scale=WEIGHT_SCALE)
    ys, state = model(xs, truncation=policy)
    loss = nn.sequence_loss(ys, vs)
    loss.backward()

    loss_torch, ys_torch, final_torch, grads_torch = run_torch(model, xs, vs, chunk)
    np.testing.assert_allclose(loss.item(), loss_torch, rtol=1e-12)
    np.testing.assert_allclose(ys.data, ys_torch, rtol=0, atol=1e-12)
    for ours, theirs in zip(state if kind == "lstm" else (state,), final_torch):
        np.testing.assert_allclose(ours.data, theirs, rtol=0, atol=1e-12)
    assert set(grads_torch) == {name for name, _ in model.named_parameters()}
    for name, grad in grads_torch.items():
        np.testing.assert_allclose(getattr(model, name).grad, grad, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{kind} {name} under {policy}")


def test_truncation_changes_the_gradient_it_is_compared_on(sequence):
    """The chunked comparison is not vacuous: chunked(3) and full differ for these weights."""
    xs, vs = sequence
    grads = []
    for policy in ("full", truncation.chunked(3)):
        model = randomize(nn.LSTM(N, H, O, seed=0), seed=3, scale=WEIGHT_SCALE)
        ys, _ = model(xs, truncation=policy)
        nn.sequence_loss(ys, vs).backward()
        grads.append(model.Wm.grad)
    assert np.abs(grads[0] - grads[1]).max() > 1e-3


def test_default_initialization_is_torch_like_with_the_forget_bias():
    model = nn.LSTM(N, H, O, seed=0)
    bound = 1 / np.sqrt(H)
    for name in ("W1", "Wm", "W2", "b2"):
        values = getattr(model, name).data
        assert np.abs(values).max() <= bound and values.std() > 0
    np.testing.assert_array_equal(model.b1.data[H:2 * H], 1.0)
    assert np.abs(model.b1.data[:H]).max() <= bound
    kept = nn.LSTM(N, H, O, forget_bias=None, seed=0)
    assert np.abs(kept.b1.data).max() <= bound
