"""Sequence losses: R = sum_t L(y[t], v[t]) against per-step losses computed independently,
the last-step loss of sequence classification, and masks for padded variable-length batches
(a padded batch gives the gradient of each sequence run at its own length)."""
import numpy as np
import pytest
from nn_oracles import engine_grads

from tinygrad_rnn import Tensor, cross_entropy, nn
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.nn.sequence_loss import LOSS_BLOCK

T, B, N, H, O = 5, 3, 2, 4, 3


def numpy_mse(y, v):
    return np.mean((y - v) ** 2)


def numpy_cross_entropy(y, labels):
    shifted = y - y.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(log_p[np.arange(len(labels)), labels])


def numpy_bce(z, v):
    return np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - v * z)


@pytest.fixture
def outputs():
    rng = np.random.default_rng(0)
    model = nn.Elman(N, H, O, seed=1)
    xs = rng.normal(size=(T, B, N))
    return model, xs, rng


@pytest.mark.parametrize("loss, make_targets, reference", [
    ("mse", lambda rng: rng.normal(size=(T, B, O)), numpy_mse),
    ("cross_entropy", lambda rng: rng.integers(0, O, size=(T, B)), numpy_cross_entropy),
    ("bce", lambda rng: rng.integers(0, 2, size=(T, B, O)).astype(float), numpy_bce),
])
def test_sequence_loss_is_the_sum_of_independent_per_step_losses(loss, make_targets, reference,
                                                                  outputs):
    model, xs, rng = outputs
    vs = make_targets(rng)
    ys, _ = model(xs)
    R = nn.sequence_loss(ys, vs, loss)
    per_step = [reference(ys.data[t], vs[t]) for t in range(T)]
    np.testing.assert_allclose(R.item(), sum(per_step), rtol=1e-12)
    terms = nn.loss_terms(ys, vs, loss)
    np.testing.assert_allclose([r.item() for r in terms], per_step, rtol=1e-12)
    assert [r.meta["step"] for r in terms] == list(range(1, T + 1))
    np.testing.assert_allclose(nn.loss_vector(ys, vs, loss).data, per_step, rtol=1e-12)
    mean = nn.sequence_loss(ys, vs, loss, time_reduction="mean")
    np.testing.assert_allclose(mean.item(), sum(per_step) / T, rtol=1e-12)


def test_sequence_loss_gradient_is_the_sum_of_the_per_step_gradients(outputs):
    model, xs, rng = outputs
    vs = rng.normal(size=(T, B, O))
    model.zero_grad()
    ys, _ = model(xs)
    nn.sequence_loss(ys, vs).backward()
    total = engine_grads(model)
    summed = {n: np.zeros(p.shape) for n, p in model.named_parameters()}
    for t in range(T):      # each term on its own fresh graph, built from y[t] as a slice
        model.zero_grad()
        ys, _ = model(xs)
        term = ((ys[t] - vs[t]) ** 2).mean()
        term.backward()
        for n, p in model.named_parameters():
            summed[n] += p.grad
    for n in total:
        np.testing.assert_allclose(total[n], summed[n], rtol=1e-12, atol=1e-15, err_msg=n)


def test_sequence_loss_accepts_a_list_of_outputs_and_a_plain_tensor(outputs):
    model, xs, rng = outputs
    vs = rng.normal(size=(T, B, O))
    ys, _ = model(xs)
    want = sum(numpy_mse(ys.data[t], vs[t]) for t in range(T))
    plain = Tensor(ys.data)     # not a stack node: sliced per step
    np.testing.assert_allclose(nn.sequence_loss(list(ys.parents), vs).item(), want, rtol=1e-12)
    np.testing.assert_allclose(nn.sequence_loss(plain, vs).item(), want, rtol=1e-12)
    np.testing.assert_allclose(nn.sequence_loss(ys, Tensor(vs)).item(), want, rtol=1e-12)


def test_last_step_loss_reads_the_last_step_only(outputs):
    model, xs, rng = outputs
    labels = rng.integers(0, O, size=B)
    model.zero_grad()
    ys, _ = model(xs)
    loss = nn.last_step_loss(ys, labels)
    np.testing.assert_allclose(loss.item(), numpy_cross_entropy(ys.data[-1], labels), rtol=1e-12)
    assert loss.meta["step"] == T
    loss.backward()
    got = engine_grads(model)
    # the same loss built by hand on y[T] alone
    model.zero_grad()
    ys, _ = model(xs)
    cross_entropy(ys[T - 1], labels).backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(got[n], p.grad, rtol=1e-12, atol=1e-15, err_msg=n)


def padded_batch(rng, lengths, with_nan_targets):
    """Sequences of the given lengths, padded to T with garbage inputs (finite, large) and,
    optionally, NaN targets at the padded steps."""
    xs = rng.normal(size=(T, len(lengths), N))
    vs = rng.normal(size=(T, len(lengths), O))
    mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    xs[~mask] = 50.0
    if with_nan_targets:
        vs[~mask] = np.nan
    return xs, vs, mask


def loss_and_grads(model, loss_of):
    """(value, {name: gradient}) of loss_of() after a fresh backward."""
    model.zero_grad()
    loss = loss_of()
    loss.backward()
    return loss.item(), engine_grads(model)


def averaged_over_sequences(model, lengths, loss_of_one):
    """Each sequence b alone, at its own length n (a batch of one): loss_of_one(b, n)'s value
    and gradients averaged over the sequences, as the padded batch's mean does."""
    runs = [loss_and_grads(model, lambda b=b, n=n: loss_of_one(b, n))
            for b, n in enumerate(lengths)]
    value = sum(v for v, _ in runs) / len(lengths)
    grads = {name: sum(g[name] for _, g in runs) / len(lengths) for name in runs[0][1]}
    return value, grads


@pytest.mark.parametrize("policy", ["full", "chunked:2"])
@pytest.mark.parametrize("with_nan_targets", [False, True])
def test_masked_padded_batch_gives_each_sequence_its_own_length_gradient(policy, with_nan_targets):
    rng = np.random.default_rng(3)
    lengths = [5, 2, 3]
    xs, vs, mask = padded_batch(rng, lengths, with_nan_targets)
    model = nn.Jordan(N, H, O, learn_initial_state=True, seed=4)
    model.s1.data[...] = rng.normal(size=O)

    R, padded = loss_and_grads(
        model, lambda: nn.sequence_loss(model(xs, truncation=policy)[0], vs, mask=mask))
    R_separate, separate = averaged_over_sequences(
        model, lengths, lambda b, n: nn.sequence_loss(model(xs[:n, b:b + 1], truncation=policy)[0],
                                                      vs[:n, b:b + 1]))
    np.testing.assert_allclose(R, R_separate, rtol=1e-12)
    for n in padded:
        assert np.all(np.isfinite(padded[n])), n
        np.testing.assert_allclose(padded[n], separate[n], rtol=1e-10, atol=1e-14, err_msg=n)


def test_unmasked_padding_would_change_the_gradient():
    """Guard: without the mask the garbage steps do enter the loss."""
    rng = np.random.default_rng(3)
    xs, vs, mask = padded_batch(rng, [5, 2, 3], with_nan_targets=False)
    model = nn.Elman(N, H, O, seed=4)
    ys, _ = model(xs)
    assert abs(nn.sequence_loss(ys, vs).item() - nn.sequence_loss(ys, vs, mask=mask).item()) > 1e-3


def test_masked_cross_entropy_ignores_pad_indices():
    rng = np.random.default_rng(5)
    lengths = [4, 1, 5]
    xs, _, mask = padded_batch(rng, lengths, False)
    labels = rng.integers(0, O, size=(T, len(lengths)))
    labels[~mask] = -100      # a PAD index that would be out of range if it were read
    model = nn.Elman(N, H, O, seed=6)
    ys, _ = model(xs)
    R = nn.sequence_loss(ys, labels, "cross_entropy", mask=mask)
    want = sum(numpy_cross_entropy(ys.data[:lengths[b], b], labels[:lengths[b], b]) * lengths[b]
               for b in range(len(lengths))) / len(lengths)
    np.testing.assert_allclose(R.item(), want, rtol=1e-12)


def test_last_step_loss_with_lengths_reads_each_sequence_at_its_own_end():
    rng = np.random.default_rng(7)
    lengths = [3, 5, 1]
    xs, _, _ = padded_batch(rng, lengths, False)
    labels = rng.integers(0, O, size=len(lengths))
    model = nn.Elman(N, H, O, seed=8)

    ys, _ = model(xs)
    loss, padded = loss_and_grads(
        model, lambda: nn.last_step_loss(model(xs)[0], labels, lengths=lengths))
    total, separate = averaged_over_sequences(
        model, lengths, lambda b, n: nn.last_step_loss(model(xs[:n, b:b + 1])[0], labels[b:b + 1]))
    np.testing.assert_allclose(loss, total, rtol=1e-12)
    want_value = np.mean([numpy_cross_entropy(ys.data[lengths[b] - 1, b:b + 1], labels[b:b + 1])
                          for b in range(len(lengths))])
    np.testing.assert_allclose(loss, want_value, rtol=1e-12)
    for n in padded:
        np.testing.assert_allclose(padded[n], separate[n], rtol=1e-10, atol=1e-14, err_msg=n)


def test_loss_shape_errors_name_the_shapes():
    model = nn.Elman(N, H, O, seed=0)
    ys, _ = model(np.zeros((T, B, N)))
    with pytest.raises(ShapeError, match=r"5 outputs but targets for 4 steps"):
        nn.sequence_loss(ys, np.zeros((4, B, O)))
    with pytest.raises(ShapeError, match=r"mask of shape \(5, 2\).*\(5, 3\)"):
        nn.sequence_loss(ys, np.zeros((T, B, O)), mask=np.ones((T, 2), bool))
    with pytest.raises(ShapeError, match=r"\(3, 3\).*\(3, 2\).*t=1"):
        nn.sequence_loss(ys, np.zeros((T, B, 2)))
    with pytest.raises(ShapeError, match=r"lengths"):
        nn.last_step_loss(ys, np.zeros(B, int), lengths=[1, 2, T + 1])


def test_last_step_loss_with_lengths_reads_each_sample_at_its_own_step_for_vector_targets():
    rng = np.random.default_rng(11)
    model = nn.Elman(2, 3, 2, seed=0)
    xs, targets, lengths = rng.standard_normal((5, 3, 2)), rng.standard_normal((3, 2)), [2, 5, 4]
    ys, _ = model(xs)
    loss = nn.last_step_loss(ys, targets, "mse", lengths=lengths)
    expected = np.mean([np.mean((ys.data[n - 1, b] - targets[b]) ** 2)
                        for b, n in enumerate(lengths)])
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_squared_error_terms_over_several_blocks_are_the_per_step_mse_nodes():
    """The fused terms are computed a block of steps at a time but recorded as a per-step loop
    records them: R[t] = mse(y[t], v[t]) on the stack's own y[t], at step t, in y's dtype."""
    steps = LOSS_BLOCK + 6
    rng = np.random.default_rng(3)
    xs, vs = rng.normal(size=(steps, B, N)).astype(np.float32), rng.normal(size=(steps, B, O))
    model = nn.Elman(N, H, O, seed=0)
    for p in model.parameters():
        p.data = p.data.astype(np.float32)
    ys, _ = model(xs)
    for loss, reduce in (("sum_squared_error", np.sum), ("mse", np.mean)):
        terms = nn.loss_terms(ys, vs, loss)
        assert len(terms) == steps
        for t, term in enumerate(terms, start=1):
            y, v = term.parents
            assert term.op == "mse" and y is ys.parents[t - 1] and term.dtype == np.float32
            assert term.meta["step"] == v.meta["step"] == t and term.name == f"R[{t}]"
            np.testing.assert_array_equal(v.data, vs[t - 1].astype(np.float32))
            np.testing.assert_allclose(term.item(), reduce((y.data - v.data) ** 2), rtol=1e-5)


@pytest.mark.parametrize("call", [
    lambda ys, vs, m: nn.sequence_loss(ys, vs, mask=m),
    lambda ys, vs, m: nn.sequence_loss(ys[..., None], vs[..., None], mask=m,
                                       loss=lambda y, v: ((y - v) ** 2).mean(axis=-1,
                                                                           keepdims=True)),
    lambda ys, vs, m: nn.last_step_loss(ys, vs[0], loss="bce", lengths=np.array([1, 2])),
], ids=["outputs without a feature axis", "a loss returning (B, 1)", "lengths, no feature axis"])
def test_a_mask_needs_one_loss_per_sample(call):
    """Sample 1 is padded: a scalar per-step loss (ys (T, B)) or a (B, 1) one made the mask
    scale or broadcast instead of pick, and the padded 5.0 counted (13.0 for 1.0)."""
    ys, vs = np.array([[0.0, 5.0], [0.0, 5.0]]), np.array([[1.0, 0.0], [1.0, 0.0]])
    mask = np.array([[True, False], [True, False]])
    with pytest.raises(ShapeError, match=r"one value per sample \(2,\)"):
        call(ys, vs, mask)
    assert nn.sequence_loss(ys[..., None], vs[..., None], mask=mask).item() == 1.0


def test_outputs_given_as_nested_lists_are_constants():
    """A raw AttributeError ('list' object has no attribute 'shape') before."""
    assert nn.sequence_loss(np.ones((2, 2, 1)).tolist(), np.zeros((2, 2, 1))).item() == 2.0
