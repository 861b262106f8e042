"""Truncation policies: the identities DESIGN.md pins, chunked(k) and window(h) against
independent constructions, forward values that never depend on the policy, and the cut nodes
the graph records."""
import numpy as np
import pytest
from nn_oracles import (
    chunked_cut,
    elman_bptt,
    engine_grads,
    final_state_arrays,
    full_cut,
    jordan_bptt,
    randomize,
    window_cut,
)

from tinygrad_rnn import SettingError, Tensor, nn, truncation
from tinygrad_rnn.truncation import Policy

T, B, N, H, O = 6, 2, 2, 3, 2


WEIGHT_SCALE = 0.8      # the recurrent paths carry a visible share of the gradient
MODELS = {
    "elman": lambda: randomize(nn.Elman(N, H, O, learn_initial_state=True, seed=0),
                               seed=1, scale=WEIGHT_SCALE),
    "jordan": lambda: randomize(nn.Jordan(N, H, O, mu=0.7, learn_initial_state=True, seed=0),
                                seed=2, scale=WEIGHT_SCALE),
    "stacked": lambda: randomize(nn.Stacked([nn.Jordan(N, H, 2, seed=0),
                                             nn.Elman(2, H, O, seed=1)]),
                                 seed=3, scale=WEIGHT_SCALE),
}


@pytest.fixture(scope="module")
def sequence():
    rng = np.random.default_rng(42)
    return rng.normal(size=(T, B, N)), rng.normal(size=(T, B, O))


def grads_under(model, xs, vs, policy):
    model.zero_grad()
    ys, _ = model(xs, truncation=policy)
    nn.sequence_loss(ys, vs, "mse").backward()
    return engine_grads(model)


def assert_same_grads(a, b, atol=1e-12):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=atol, err_msg=name)


def assert_differ(a, b, names, margin=1e-4):
    assert max(np.max(np.abs(a[n] - b[n])) for n in names) > margin


@pytest.mark.parametrize("kind", MODELS)
def test_window_1_equals_chunked_1_equals_elman(kind, sequence):
    model = MODELS[kind]()
    xs, vs = sequence
    elman = grads_under(model, xs, vs, "elman")
    assert_same_grads(grads_under(model, xs, vs, truncation.window(1)), elman)
    assert_same_grads(grads_under(model, xs, vs, truncation.chunked(1)), elman)
    assert_differ(elman, grads_under(model, xs, vs, "full"), elman.keys())


@pytest.mark.parametrize("kind", MODELS)
def test_window_T_equals_chunked_T_equals_full(kind, sequence):
    model = MODELS[kind]()
    xs, vs = sequence
    full = grads_under(model, xs, vs, "full")
    assert_same_grads(grads_under(model, xs, vs, truncation.window(T)), full)
    assert_same_grads(grads_under(model, xs, vs, truncation.chunked(T)), full)
    # longer than the sequence changes nothing either
    assert_same_grads(grads_under(model, xs, vs, truncation.window(T + 3)), full)
    assert_same_grads(grads_under(model, xs, vs, truncation.chunked(T + 3)), full)


def oracle_for(kind, model, xs, vs, cut):
    P = model.state_dict()
    if kind == "elman":
        return elman_bptt(P, xs, vs, P["h0"], cut)[1]
    return jordan_bptt(P, xs, vs, P["s1"], model.mu, cut)[1]


@pytest.mark.parametrize("kind", ["elman", "jordan"])
@pytest.mark.parametrize("k", range(2, T))
def test_chunked_k_matches_hand_written_bptt_stopping_at_chunk_starts(kind, k, sequence):
    model = MODELS[kind]()
    xs, vs = sequence
    got = grads_under(model, xs, vs, truncation.chunked(k))
    want = oracle_for(kind, model, xs, vs, chunked_cut(k))
    assert_same_grads(got, want)
    assert_differ(got, grads_under(model, xs, vs, "full"), ["W1", "Wm"])


@pytest.mark.parametrize("kind", ["elman", "jordan"])
@pytest.mark.parametrize("h", range(1, T + 1))
def test_window_h_matches_hand_written_bptt_h(kind, h, sequence):
    model = MODELS[kind]()
    xs, vs = sequence
    assert_same_grads(grads_under(model, xs, vs, truncation.window(h)),
                      oracle_for(kind, model, xs, vs, window_cut(h)))


class CutOnlyBefore(Policy):
    """A test-only policy: one cut, on the state entering step `first` (none if first <= 1)."""

    def __init__(self, first):
        self.first = first

    def cuts_before(self, t, chain=0):
        return t > 1 and t == self.first

    def __repr__(self):
        return f"cut-only-before({self.first})"


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("h", [2, 3, 4])
def test_window_h_equals_per_term_gradients_with_one_cut_h_steps_back(kind, h, sequence):
    """BPTT(h) built term by term: for each t a fresh unroll whose only cut is on the state
    entering step t-h+1, backward of R[t] alone, summed over t."""
    model = MODELS[kind]()
    xs, vs = sequence
    total = {name: np.zeros(p.shape) for name, p in model.named_parameters()}
    for t in range(1, T + 1):
        model.zero_grad()
        ys, _ = model(xs, truncation=CutOnlyBefore(t - h + 1))
        nn.loss_terms(ys, vs, "mse")[t - 1].backward()
        for name, p in model.named_parameters():
            if p.grad is not None:
                total[name] += p.grad
    got = grads_under(model, xs, vs, truncation.window(h))
    assert_same_grads(got, total)
    assert_differ(got, grads_under(model, xs, vs, truncation.chunked(h)), ["layer0.W1"]
                  if kind == "stacked" else ["W1"])


POLICIES = ["full", "elman", truncation.chunked(2), truncation.chunked(4), truncation.window(2),
            truncation.window(3), truncation.window(T)]


@pytest.mark.parametrize("kind", MODELS)
def test_forward_values_and_final_state_do_not_depend_on_the_policy(kind, sequence):
    model = MODELS[kind]()
    xs, _ = sequence
    ys_ref, state_ref = model(xs, truncation="full")
    for policy in POLICIES:
        ys, state = model(xs, truncation=policy)
        assert np.array_equal(ys.data, ys_ref.data), policy
        for a, b in zip(final_state_arrays(state), final_state_arrays(state_ref), strict=True):
            assert np.array_equal(a, b), policy


def graph_nodes(*roots):
    """Every node reachable from roots through parents (iterative)."""
    seen, stack, nodes = set(), list(roots), []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node.parents)
    return nodes


def cuts_in(ys):
    return [n for n in graph_nodes(ys) if n.op == "cut"]


@pytest.mark.parametrize("policy, expected", [
    ("full", 0), ("elman", T - 1), (truncation.chunked(2), (T - 1) // 2),
    (truncation.chunked(3), (T - 1) // 3), (truncation.chunked(5), 1), (truncation.chunked(T), 0)])
def test_cut_nodes_counted_in_the_graph(policy, expected, sequence):
    xs, vs = sequence
    for kind, layers in (("elman", 1), ("jordan", 1), ("stacked", 2)):
        ys, _ = MODELS[kind]()(xs, truncation=policy)
        loss = nn.sequence_loss(ys, vs)
        assert len(cuts_in(loss)) == layers * expected, (kind, policy)


def test_elman_cuts_the_hidden_state_entering_steps_2_to_T(sequence):
    xs, _ = sequence
    ys, _ = MODELS["elman"]()(xs, truncation="elman")
    cuts = sorted(cuts_in(ys), key=lambda n: n.meta["step"])
    assert [c.meta["step"] for c in cuts] == list(range(2, T + 1))
    for c in cuts:
        (h_prev,) = c.parents
        assert h_prev.meta["name"] == f"h[{c.meta['step'] - 1}]"
        assert h_prev.meta["step"] == c.meta["step"] - 1
        assert not c.requires_grad and h_prev.requires_grad


def test_jordan_cuts_its_state_s_t(sequence):
    xs, _ = sequence
    ys, _ = MODELS["jordan"]()(xs, truncation=truncation.chunked(2))
    cuts = sorted(cuts_in(ys), key=lambda n: n.meta["step"])
    assert [c.meta["step"] for c in cuts] == [3, 5]
    for c in cuts:
        (s,) = c.parents
        # s[t] = mu s[t-1] + y[t-1]
        assert s.meta["name"] == f"s[{c.meta['step']}]" and s.op == "add"


@pytest.mark.parametrize("kind, init", [("elman", "h0"), ("jordan", "s1")])
def test_learned_initial_state_still_gets_its_gradient_from_step_1_under_elman(kind, init,
                                                                                sequence):
    model = MODELS[kind]()
    xs, vs = sequence
    got = grads_under(model, xs, vs, "elman")
    P = model.state_dict()
    # the gradient reaching the initial state under Elman's rule is R[1]'s alone
    if kind == "elman":
        _, only_R1 = elman_bptt(P, xs[:1], vs[:1], P["h0"], full_cut)
    else:
        _, only_R1 = jordan_bptt(P, xs[:1], vs[:1], P["s1"], model.mu, full_cut)
    np.testing.assert_allclose(got[init], only_R1[init], rtol=0, atol=1e-12)
    assert np.abs(got[init]).max() > 1e-3
    assert_differ(got, grads_under(model, xs, vs, "full"), [init])


def test_policy_spellings_resolve_to_the_same_policies():
    assert truncation.resolve("full") == truncation.full
    assert truncation.resolve("elman") == truncation.elman == truncation.chunked(1)
    assert truncation.resolve("chunked:4") == truncation.chunked(4)
    assert truncation.resolve("window:3") == truncation.window(3)
    for bad in ("window", "chunked:0", "chunked:-1", "half", 3, None):
        with pytest.raises(ValueError):
            truncation.resolve(bad)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError):
            truncation.window(bad)
        with pytest.raises(ValueError):
            truncation.chunked(bad)


# --- a sequence continued over calls: the boundary between calls is truncated as any other ---

CONTINUED_MODELS = {
    **MODELS,
    "lstm": lambda: randomize(nn.LSTM(N, H, O, seed=0), seed=4, scale=WEIGHT_SCALE),
    "gru": lambda: randomize(nn.GRU(N, H, O, seed=0), seed=5, scale=WEIGHT_SCALE),
}


def grads_in_two_calls(model, xs, vs, policy, split):
    """One backward through both calls' losses, the second call continuing the first's state."""
    model.zero_grad()
    first, state = model(xs[:split], truncation=policy)
    second, _ = model(xs[split:], state=state, truncation=policy)
    (nn.sequence_loss(first, vs[:split], "mse")
     + nn.sequence_loss(second, vs[split:], "mse")).backward()
    return engine_grads(model)


class CutBefore(Policy):
    """A test-only policy: cuts on the states entering the given steps of one call."""

    def __init__(self, *steps):
        self.steps = steps

    def cuts_before(self, t, chain=0):
        return t in self.steps

    def __repr__(self):
        return f"cut-before{self.steps}"


@pytest.mark.parametrize("kind", CONTINUED_MODELS)
@pytest.mark.parametrize("policy, split", [("elman", 2), ("elman", 3), ("chunked(3)", 3),
                                           ("full", 2), ("full", 4)])
def test_calls_that_meet_at_a_boundary_give_the_one_call_gradients(kind, policy, split,
                                                                   sequence):
    """The state entering step 1 of the second call was never cut: under elman and
    chunked(3) the gradient ran back into the first call (0.084 off on W1 for Elman)."""
    model = CONTINUED_MODELS[kind]()
    xs, vs = sequence
    assert_same_grads(grads_in_two_calls(model, xs, vs, policy, split),
                      grads_under(model, xs, vs, policy))


@pytest.mark.parametrize("kind", CONTINUED_MODELS)
def test_chunks_count_from_the_first_step_of_each_call(kind, sequence):
    """chunked(3) over calls of 2 and 4 steps: chunks [1, 2] and [3, 4, 5], [6] (steps of the
    whole sequence), the cuts a single call would make entering steps 3 and 6."""
    model = CONTINUED_MODELS[kind]()
    xs, vs = sequence
    split = grads_in_two_calls(model, xs, vs, "chunked(3)", 2)
    assert_same_grads(split, grads_under(model, xs, vs, CutBefore(3, 6)))
    assert_differ(split, grads_under(model, xs, vs, truncation.chunked(3)),
                  ["layer0.W1"] if kind == "stacked" else ["W1"])


@pytest.mark.parametrize("kind", ["elman", "lstm"])
def test_a_window_refuses_a_recorded_state_from_another_call(kind, sequence):
    """window(h)'s chains cannot be windowed into another call's single chain; a detached
    state starts the window at this call."""
    model = CONTINUED_MODELS[kind]()
    xs, _ = sequence
    _, state = model(xs[:3], truncation="window(2)")
    with pytest.raises(SettingError, match=r"window\(2\).*state\.detach\(\)"):
        model(xs[3:], state=state, truncation="window(2)")
    detached = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
    ys, _ = model(xs[3:], state=detached, truncation="window(2)")
    np.testing.assert_array_equal(ys.data, model(xs[3:], state=detached)[0].data)


@pytest.mark.parametrize("policy", ["elman", "chunked(3)", "window(2)"])
def test_a_state_that_is_not_the_models_own_carry_enters_uncut(policy, sequence):
    """Only the carry this model returned continues its sequence: an initial state computed
    from weights (or an encoder's final state) entering a call was cut too, and got no
    gradient under elman and chunked(k), or was refused under window(h)."""
    xs, vs = sequence
    model = CONTINUED_MODELS["elman"]()
    encoder = CONTINUED_MODELS["elman"]()
    _, encoded = encoder(xs)
    z = Tensor(np.ones((xs.shape[1], 2)))
    W = Tensor(np.full((2, H), 0.3), requires_grad=True)
    for state in (encoded, (z @ W).tanh()):
        ys, _ = model(xs, state=state, truncation=policy)
        nn.sequence_loss(ys, vs, "mse").backward()
    assert encoder.W1.grad is not None and np.abs(encoder.W1.grad).sum() > 0
    assert W.grad is not None and np.abs(W.grad).sum() > 0
