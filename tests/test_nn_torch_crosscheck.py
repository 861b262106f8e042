"""A second engine as the oracle: Elman's gradients against torch.nn.RNN + Linear with the same
weights (full BPTT), and against a torch RNNCell loop that detaches the state where our
truncation cuts it."""
import numpy as np
import pytest
from nn_oracles import randomize

from tinygrad_rnn import nn, truncation

torch = pytest.importorskip("torch")

T, B, N, H, O = 7, 3, 2, 4, 3
WEIGHT_SCALE = 0.7      # randomize(): every weight and the learned initial state, not the init's


def as_torch(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def torch_elman(model):
    """torch.nn.RNN + Linear holding the model's weights (bias_hh = 0, so bias_ih = b1)."""
    rnn = torch.nn.RNN(N, H, nonlinearity="tanh").double()
    head = torch.nn.Linear(H, O).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(model.W1.data))
        rnn.weight_hh_l0.copy_(torch.tensor(model.Wm.data))
        rnn.bias_ih_l0.copy_(torch.tensor(model.b1.data))
        rnn.bias_hh_l0.zero_()
        head.weight.copy_(torch.tensor(model.W2.data))
        head.bias.copy_(torch.tensor(model.b2.data))
    return rnn, head


def torch_sequence_loss(ys, vs):
    return sum(((ys[t] - vs[t]) ** 2).mean() for t in range(len(vs)))


@pytest.fixture(scope="module")
def sequence():
    rng = np.random.default_rng(0)
    return rng.normal(size=(T, B, N)), rng.normal(size=(T, B, O))


def ours(model, xs, vs, policy="full"):
    model.zero_grad()
    ys, h = model(xs, truncation=policy)
    loss = nn.sequence_loss(ys, vs)
    loss.backward()
    return loss.item(), ys.data, h


@pytest.mark.parametrize("learn_initial_state", [False, True])
def test_elman_full_bptt_matches_torch_rnn(learn_initial_state, sequence):
    xs, vs = sequence
    model = randomize(nn.Elman(N, H, O, learn_initial_state=learn_initial_state, seed=0),
                      seed=1, scale=WEIGHT_SCALE)
    loss, ys, h_final = ours(model, xs, vs)

    rnn, head = torch_elman(model)
    h0 = as_torch(model.h0.data if learn_initial_state else np.zeros(H))
    hs, h_last = rnn(torch.tensor(xs), h0.expand(1, B, H).contiguous())
    ys_torch = head(hs)
    loss_torch = torch_sequence_loss(ys_torch, torch.tensor(vs))
    loss_torch.backward()

    np.testing.assert_allclose(loss, loss_torch.item(), rtol=1e-13)
    np.testing.assert_allclose(ys, ys_torch.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(h_final.data, h_last[0].detach().numpy(), rtol=0, atol=1e-13)
    pairs = {"W1": rnn.weight_ih_l0, "Wm": rnn.weight_hh_l0, "b1": rnn.bias_ih_l0,
             "W2": head.weight, "b2": head.bias}
    if learn_initial_state:
        pairs["h0"] = h0
    for name, tensor in pairs.items():
        np.testing.assert_allclose(getattr(model, name).grad, tensor.grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
    np.testing.assert_allclose(model.b1.grad, rnn.bias_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("policy, detach_before", [
    ("elman", lambda t: t > 1),
    (truncation.chunked(3), lambda t: t > 1 and (t - 1) % 3 == 0),
])
def test_truncated_elman_matches_torch_with_detach(policy, detach_before, sequence):
    """Our cut is torch's detach() of the state entering a step."""
    xs, vs = sequence
    model = randomize(nn.Elman(N, H, O, learn_initial_state=True, seed=0),
                      seed=2, scale=WEIGHT_SCALE)
    ours(model, xs, vs, policy)

    cell = torch.nn.RNNCell(N, H, nonlinearity="tanh").double()
    head = torch.nn.Linear(H, O).double()
    with torch.no_grad():
        for target, source in ((cell.weight_ih, model.W1), (cell.weight_hh, model.Wm),
                               (cell.bias_ih, model.b1), (head.weight, model.W2),
                               (head.bias, model.b2)):
            target.copy_(torch.tensor(source.data))
        cell.bias_hh.zero_()
    h0 = as_torch(model.h0.data)
    h, outputs = h0.expand(B, H), []
    for t in range(1, T + 1):
        if detach_before(t):
            h = h.detach()
        h = cell(torch.tensor(xs[t - 1]), h)
        outputs.append(head(h))
    torch_sequence_loss(outputs, torch.tensor(vs)).backward()

    for name, tensor in {"W1": cell.weight_ih, "Wm": cell.weight_hh, "b1": cell.bias_ih,
                         "W2": head.weight, "b2": head.bias, "h0": h0}.items():
        np.testing.assert_allclose(getattr(model, name).grad, tensor.grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_stacked_elman_matches_torch_layers(sequence):
    """Two Elman layers, the first one's y[t] = W2 h[t] + b2 the second one's input."""
    xs, vs = sequence
    model = randomize(nn.Stacked([nn.Elman(N, H, 2, seed=0), nn.Elman(2, H, O, seed=1)]),
                      seed=3, scale=WEIGHT_SCALE)
    ours(model, xs, vs)

    rnn0, rnn1 = torch.nn.RNN(N, H).double(), torch.nn.RNN(2, H).double()
    head0, head1 = torch.nn.Linear(H, 2).double(), torch.nn.Linear(H, O).double()
    pairs = {}
    with torch.no_grad():
        for i, (rnn, head) in enumerate(((rnn0, head0), (rnn1, head1))):
            layer = getattr(model, f"layer{i}")
            for name, target in (("W1", rnn.weight_ih_l0), ("Wm", rnn.weight_hh_l0),
                                 ("b1", rnn.bias_ih_l0), ("W2", head.weight), ("b2", head.bias)):
                target.copy_(torch.tensor(getattr(layer, name).data))
                pairs[f"layer{i}.{name}"] = target
            rnn.bias_hh_l0.zero_()
    ys = head1(rnn1(head0(rnn0(torch.tensor(xs))[0]))[0])
    torch_sequence_loss(ys, torch.tensor(vs)).backward()
    params = dict(model.named_parameters())
    for name, tensor in pairs.items():
        np.testing.assert_allclose(params[name].grad, tensor.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
