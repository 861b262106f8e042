"""Optimizers against torch.optim step for step, against hand-written updates, gradient-norm
clipping against its definition, fit(), and a short training run that needs full BPTT."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import NumericalError, Tensor, nn, optim

SHAPES = [(3, 2), (4,), (1,)]
STEPS = 6


def gradient_sequence(seed):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) for s in SHAPES] for _ in range(STEPS)]


def start_values(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in SHAPES]


def run_ours(make_optimizer, grads_per_step, skip=None):
    params = [Tensor(v, requires_grad=True) for v in start_values()]
    opt = make_optimizer(params)
    trajectory = []
    for k, grads in enumerate(grads_per_step):
        opt.zero_grad()
        for i, (p, g) in enumerate(zip(params, grads)):
            p.grad = None if (skip and skip(k, i)) else g.copy()
        opt.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory


def run_torch(torch, make_optimizer, grads_per_step, skip=None):
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in start_values()]
    opt = make_optimizer(params)
    trajectory = []
    for k, grads in enumerate(grads_per_step):
        opt.zero_grad(set_to_none=True)
        for i, (p, g) in enumerate(zip(params, grads)):
            p.grad = None if (skip and skip(k, i)) else torch.tensor(g, dtype=torch.float64)
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


def assert_same_trajectory(ours, theirs, rtol=1e-12, atol=1e-14):
    for k, (a_step, b_step) in enumerate(zip(ours, theirs, strict=True)):
        for i, (a, b) in enumerate(zip(a_step, b_step, strict=True)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {k}, param {i}")


SGD_SETTINGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, weight_decay=0.1),
                dict(lr=0.05, momentum=0.8, weight_decay=0.01),
                dict(lr=0.05, momentum=0.9, nesterov=True),
                dict(lr=0.05, momentum=0.7, weight_decay=0.05, nesterov=True)]
ADAM_SETTINGS = [dict(lr=1e-2), dict(lr=3e-2, betas=(0.8, 0.95), eps=1e-6),
                 dict(lr=1e-2, weight_decay=0.1)]


@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_sgd_matches_torch_step_for_step(settings):
    torch = pytest.importorskip("torch")
    grads = gradient_sequence(1)
    ours = run_ours(lambda ps: optim.SGD(ps, **settings), grads)
    theirs = run_torch(torch, lambda ps: torch.optim.SGD(ps, **settings), grads)
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("settings", ADAM_SETTINGS)
def test_adam_matches_torch_step_for_step(settings):
    torch = pytest.importorskip("torch")
    grads = gradient_sequence(2)
    ours = run_ours(lambda ps: optim.Adam(ps, **settings), grads)
    theirs = run_torch(torch, lambda ps: torch.optim.Adam(ps, **settings), grads)
    assert_same_trajectory(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("make", [lambda ps, o: o.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps, o: o.Adam(ps, lr=0.01)])
def test_parameters_without_a_gradient_are_skipped_as_in_torch(make):
    """A parameter with grad None at some step keeps its value and its optimizer state."""
    torch = pytest.importorskip("torch")
    grads = gradient_sequence(3)

    def skip(k, i):
        return i == 1 and k in (1, 2)

    ours = run_ours(lambda ps: make(ps, optim), grads, skip)
    theirs = run_torch(torch, lambda ps: make(ps, torch.optim), grads, skip)
    assert_same_trajectory(ours, theirs, rtol=1e-10)
    np.testing.assert_array_equal(ours[1][1], ours[0][1])


def test_sgd_against_a_hand_written_update():
    """v <- mu v + (g + wd p); p <- p - lr v  (nesterov: p <- p - lr (g + wd p + mu v))."""
    lr, mu, wd = 0.1, 0.9, 0.01
    grads = gradient_sequence(4)
    for nesterov in (False, True):
        p, v = start_values(), [np.zeros(s) for s in SHAPES]
        ours = run_ours(lambda ps, nesterov=nesterov: optim.SGD(ps, lr=lr, momentum=mu,
                                                                weight_decay=wd,
                                                                nesterov=nesterov), grads)
        for k, gs in enumerate(grads):
            for i, g in enumerate(gs):
                d = g + wd * p[i]
                v[i] = mu * v[i] + d
                p[i] = p[i] - lr * (d + mu * v[i] if nesterov else v[i])
                np.testing.assert_allclose(ours[k][i], p[i], rtol=1e-13, atol=1e-15)


def test_adam_against_a_hand_written_update():
    lr, (b1, b2), eps = 0.05, (0.9, 0.999), 1e-8
    grads = gradient_sequence(5)
    ours = run_ours(lambda ps: optim.Adam(ps, lr=lr), grads)
    p = start_values()
    m, v = [np.zeros(s) for s in SHAPES], [np.zeros(s) for s in SHAPES]
    for k, gs in enumerate(grads):
        n = k + 1
        for i, g in enumerate(gs):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g ** 2
            p[i] = p[i] - lr * (m[i] / (1 - b1 ** n)) / (np.sqrt(v[i] / (1 - b2 ** n)) + eps)
            np.testing.assert_allclose(ours[k][i], p[i], rtol=1e-12, atol=1e-15)
    # the first Adam step moves every coordinate by about lr, whatever the gradient's scale
    np.testing.assert_allclose(np.abs(ours[0][0] - start_values()[0]), lr, rtol=1e-5)


def test_optimizers_refuse_bad_settings():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([Tensor([1.0], requires_grad=True)], lr=0.0)


def test_clip_grad_norm_matches_the_definition():
    rng = np.random.default_rng(6)
    params = [Tensor(rng.normal(size=s), requires_grad=True) for s in SHAPES]
    grads = [rng.normal(size=s) * 3 for s in SHAPES]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    params.append(Tensor([1.0], requires_grad=True))      # no gradient: counts as zero
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    assert norm > 1.0
    returned = optim.clip_grad_norm(params, 1.0)
    np.testing.assert_allclose(returned, norm, rtol=1e-14)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g / norm, rtol=1e-10)     # same direction, norm 1
    np.testing.assert_allclose(optim.grad_norm(params), 1.0, rtol=1e-10)
    assert params[-1].grad is None
    # below the threshold nothing changes
    before = [p.grad.copy() for p in params[:-1]]
    assert optim.clip_grad_norm(params, 10.0) == pytest.approx(1.0, rel=1e-10)
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad, g)


def test_clip_grad_norm_agrees_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    grads = [rng.normal(size=s) * 2 for s in SHAPES]
    ours = [Tensor(np.zeros(s), requires_grad=True) for s in SHAPES]
    theirs = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    for a, b, g in zip(ours, theirs, grads):
        a.grad, b.grad = g.copy(), torch.tensor(g)
    total_ours = optim.clip_grad_norm(ours, 0.5)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, 0.5)
    np.testing.assert_allclose(total_ours, total_theirs.item(), rtol=1e-14)
    for a, b in zip(ours, theirs):       # torch adds 1e-6 to the norm before dividing
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-5)


def linear_regression(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(32, 3))
    w_true = np.array([[1.5, -2.0, 0.5]])
    Y = X @ w_true.T + 0.3
    model = nn.Linear(3, 1, seed=seed)
    return model, (lambda step: tg.mse_loss(model(Tensor(X)), Y)), w_true


def test_fit_reduces_the_loss():
    model, loss_fn, w_true = linear_regression()
    history = tg.fit(model.parameters(), loss_fn,
                     optim.SGD(model.parameters(), lr=0.1, momentum=0.5),
                     steps=200, progress=False)
    assert len(history) == 200
    assert history[-1] < 1e-3 * history[0]
    np.testing.assert_allclose(model.W.data, w_true, atol=1e-2)
    np.testing.assert_allclose(model.b.data, [0.3], atol=1e-2)
    # history holds the loss before each update: the first value is the starting loss
    _, fresh_loss, _ = linear_regression()
    assert history[0] == pytest.approx(fresh_loss(0).item(), rel=1e-14)


def test_fit_stops_when_the_callback_says_so_and_clips():
    model, loss_fn, _ = linear_regression()
    seen, norms = [], []

    def callback(step, value):
        seen.append((step, value))
        norms.append(optim.grad_norm(model.parameters()))
        return step == 4

    history = tg.fit(model.parameters(), loss_fn, optim.SGD(model.parameters(), lr=0.01), steps=100,
                     clip=0.25, progress=False, callback=callback)
    assert len(history) == 5 and [s for s, _ in seen] == [0, 1, 2, 3, 4]
    assert [v for _, v in seen] == history
    assert max(norms) <= 0.25 + 1e-12


def test_fit_stops_on_a_non_finite_loss_before_touching_the_weights():
    model, loss_fn, _ = linear_regression()
    before = model.state_dict()

    def exploding(step):
        loss = loss_fn(step)
        return loss * np.inf if step == 3 else loss

    with pytest.raises(NumericalError, match="step 3"):
        tg.fit(model.parameters(), exploding, optim.SGD(model.parameters(), lr=0.01), steps=10,
               progress=False)
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert any(not np.array_equal(p.data, before[n]) for n, p in model.named_parameters())


def sign_memory_task(rng, batch, steps=6):
    """Output, at the last step, the sign of x[1]; every later input is noise."""
    xs = rng.normal(size=(steps, batch, 1))
    labels = (xs[0, :, 0] > 0).astype(float)[:, None]
    return xs, labels


def train_on_sign_memory(truncation):
    rng = np.random.default_rng(0)
    model = nn.Elman(1, 8, 1, seed=1)
    opt = optim.Adam(model.parameters(), lr=0.05)

    def loss_fn(step):
        xs, labels = sign_memory_task(rng, 64)
        ys, _ = model(xs, truncation=truncation)
        return nn.last_step_loss(ys, labels, loss="bce")

    history = tg.fit(model.parameters(), loss_fn, opt, steps=150, clip=5.0, progress=False)
    xs, labels = sign_memory_task(np.random.default_rng(99), 1000)
    ys, _ = model(xs)
    return np.mean((ys.data[-1] > 0) == (labels > 0.5)), history


def test_elman_with_full_bptt_learns_to_remember_x1():
    accuracy, history = train_on_sign_memory("full")
    assert accuracy > 0.95, (accuracy, history[-5:])


def test_elman_s_own_rule_does_not_learn_to_remember_x1():
    """The lecture's moral on the same run: with h[t-1] treated as a constant the gradient of
    the last step never reaches x[1], and the network stays near chance."""
    accuracy, _ = train_on_sign_memory("elman")
    assert accuracy < 0.75


OPTIMIZERS = {
    "SGD": lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9, weight_decay=0.1),
    "SGD plain": lambda ps, lr: optim.SGD(ps, lr=lr),
    "Adam": lambda ps, lr: optim.Adam(ps, lr=lr),      # weight decay: (0.1 p)^2 overflows
    "AdamW": lambda ps, lr: optim.AdamW(ps, lr=lr),
    "RMSprop": lambda ps, lr: optim.RMSprop(ps, lr=lr, momentum=0.5, centered=True),
    "Adagrad": lambda ps, lr: optim.Adagrad(ps, lr=lr, lr_decay=0.1),
}


def optimizer_state(opt):
    """Every per-parameter list the optimizer keeps (moments, buffers, step counts), copied."""
    return {name: [None if v is None else np.copy(v) for v in value]
            for name, value in vars(opt).items()
            if isinstance(value, list) and name != "params"}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_step_that_would_overflow_changes_no_parameter_and_no_state(name):
    """p - lr * step beyond the largest float: the weights became -inf with only numpy's
    RuntimeWarning. Now nothing changes, the first parameter (whose update was fine) neither,
    and the step after it is the one a fresh optimizer would have taken from there."""
    import warnings
    make = OPTIMIZERS[name]
    params = [Tensor(np.array([0.5, -0.25]), requires_grad=True),
              Tensor(np.array([-1.5e308, 1.0]), requires_grad=True)]
    twins = [Tensor(p.data.copy(), requires_grad=True) for p in params]
    opt, fresh = make(params, 1e-2), make(twins, 1e-2)
    for ps, o in ((params, opt), (twins, fresh)):        # one ordinary step on both
        for p in ps:
            p.grad = np.array([1.0, 2.0])
        o.step()
    values, state = [p.data.copy() for p in params], optimizer_state(opt)
    recorded = (params[0] * params[0]).sum()           # a graph reading the first parameter
    opt.lr = 1e308
    params[0].grad = np.array([1e-10, 1e-10])          # its update stays finite, and is made
    params[1].grad = np.array([10.0, 10.0])            # before this one overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no RuntimeWarning either
        with pytest.raises(NumericalError, match="overflowed"):
            opt.step()
    for p, before in zip(params, values):
        np.testing.assert_array_equal(p.data, before)
    for key, arrays in optimizer_state(opt).items():
        for now, before in zip(arrays, state[key]):
            np.testing.assert_array_equal(now, before)
    saved, params[0].grad = params[0].grad, None
    recorded.backward()          # a refused step wrote nothing: the graph before it still runs
    np.testing.assert_array_equal(params[0].grad, 2 * values[0])
    params[0].grad = saved
    opt.lr = 1e-2
    for ps, o in ((params, opt), (twins, fresh)):
        for p in ps:
            p.grad = np.array([3.0, -1.0])
        o.step()
    for p, twin in zip(params, twins):
        np.testing.assert_array_equal(p.data, twin.data)


def test_adam_refuses_a_squared_gradient_that_overflows_its_second_moment():
    """g = 1e200: g^2 is inf, v_hat inf, the step 0; v stayed inf, so that weight never moved
    again, without a word."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    w.grad = np.array([1e200, 1.0])
    with pytest.raises(NumericalError, match="'s v at index \\(0,\\)"):
        opt.step()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert opt.t == [0] and not opt.v[0].any()
