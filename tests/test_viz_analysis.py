"""viz.analysis: gradient paths against their closed forms and networkx's own path search,
the decomposition by lag against the engine under other policies and finite differences,
and |dR/dh[t]| against a hand derivation."""
import networkx as nx
import numpy as np
import pytest
from engine_oracles import finite_difference
from viz_problems import data, make_model, parameter_grads, recorded

import tinygrad_rnn as tg
import viz

T = 6


@pytest.mark.parametrize("truncation, closed_form", [
    ("full", lambda t: t),                          # R[t] reaches W1 through steps 1..t
    ("elman", lambda t: 1),                         # only through step t
    ("chunked:2", lambda t: (t - 1) % 2 + 1),       # back to the start of t's chunk
    ("chunked:4", lambda t: (t - 1) % 4 + 1),
    ("window:3", lambda t: min(t, 3)),              # exactly the last 3 steps
])
def test_path_counts_match_the_closed_form(truncation, closed_form):
    loss, model = recorded(steps=T, truncation=truncation)
    G = viz.to_networkx(loss, model, level="step")
    counts = viz.path_counts(G)
    for t in range(1, T + 1):
        assert counts.full["R[%d]" % t, "W1"] == t
        assert counts.truncated["R[%d]" % t, "W1"] == closed_form(t)
        assert viz.gradient_paths(G, f"R[{t}]", "W1", truncated=True) == closed_form(t)
        assert counts.full[f"R[{t}]", "W2"] == 1              # W2 acts on y[t] only
    assert "R[6]" in str(counts) and "W1 full/trunc" in str(counts)


@pytest.mark.parametrize("truncation, expected", [("full", T), ("elman", 1)])
def test_op_level_counts_agree(truncation, expected):
    loss, model = recorded(steps=T, truncation=truncation)
    G = viz.to_networkx(loss, model, level="op")
    assert viz.gradient_paths(G, "R[6]", "W1", truncated=True) == expected
    assert viz.gradient_paths(G, "R[6]", "W1") == T


def test_dynamic_programming_agrees_with_networkx_path_search():
    loss, model = recorded("jordan", steps=4, truncation="chunked:2")
    G = viz.to_networkx(loss, model, level="step")
    for term in G.graph["loss_terms"]:
        for weight in G.graph["parameters"]:
            assert viz.gradient_paths(G, term, weight) == \
                sum(1 for _ in nx.all_simple_paths(G, weight, term))
            view = viz.analysis.truncated_view(G, term)
            assert viz.gradient_paths(G, term, weight, truncated=True) == \
                sum(1 for _ in nx.all_simple_paths(view, weight, term))


def test_unreached_edges_are_those_the_truncated_gradient_no_longer_follows():
    loss, model = recorded(steps=4, truncation="elman")
    G = viz.to_networkx(loss, model, level="step")
    lost = viz.analysis.unreached_edges(G, "R[3]")
    assert ("h[2]", "h[3]") in lost and ("x[2]", "h[2]") in lost and ("W1", "h[1]") in lost
    assert ("x[3]", "h[3]") not in lost and ("W1", "h[3]") not in lost


def test_unknown_nodes_are_named_in_the_error():
    loss, model = recorded(steps=2)
    G = viz.to_networkx(loss, model, level="step")
    with pytest.raises(viz.VizError, match="W1"):
        viz.gradient_paths(G, "R[9]", "W1")


@pytest.fixture(scope="module")
def lags():
    model = make_model("elman")
    loss, _ = recorded(steps=T, truncation="elman", model=model)
    return viz.gradient_by_lag(loss, model), model


def test_lags_sum_to_the_full_gradient_and_the_truncated_one(lags):
    decomposition, model = lags
    full = parameter_grads(model, "full", T)
    elman = parameter_grads(model, "elman", T)
    for name in full:
        assert np.allclose(decomposition.gradient(name), full[name], atol=1e-12)
        assert np.allclose(decomposition.gradient(name, truncated=True), elman[name], atol=1e-12)
        assert np.allclose(decomposition.difference(name), full[name] - elman[name], atol=1e-12)
        assert np.allclose(decomposition.truncated[name][1:], 0)       # elman keeps lag 0 only
    assert np.linalg.norm(decomposition.difference("W1")) > 1e-3       # and that is not all


def test_each_lag_is_what_one_more_step_of_window_adds(lags):
    """window(k + 1) reaches exactly one step further back than window(k): lag k."""
    decomposition, model = lags
    previous = {name: 0 for name in decomposition.parameters}
    for k in range(T):
        reach = parameter_grads(model, f"window:{k + 1}", T)
        for name in decomposition.parameters:
            assert np.allclose(decomposition.full[name][k], reach[name] - previous[name],
                               atol=1e-12)
        previous = reach


def test_a_parameter_no_term_reads_gets_zero_lags_of_its_own_shape():
    import tinygrad_rnn as tg
    used = tg.Tensor(np.full((2,), 0.5), requires_grad=True, name="used")
    unused = tg.Tensor(np.ones((3, 2)), requires_grad=True, name="unused")
    terms = []
    for t in (1, 2):
        with tg.step(t), tg.tagged(role="loss"):
            terms.append((used * float(t)).sum())
    loss = terms[0] + terms[1] + (unused * 0.0).sum().cut()
    decomposition = viz.gradient_by_lag(loss, {"used": used, "unused": unused})
    assert decomposition.full["unused"].shape == (2, 3, 2)
    assert not decomposition.full["unused"].any()
    assert decomposition.full["used"].shape == (2, 2)


def test_full_lag_sum_matches_finite_differences(lags):
    decomposition, model = lags
    xs, vs = data(T)
    W1 = model.W1.data

    def loss(weight):
        import tinygrad_rnn as tg
        model.W1.data = weight
        with tg.no_grad():
            ys, _ = model(xs, truncation="full")
            return float(tg.nn.sequence_loss(ys, vs).item())

    try:
        numeric = finite_difference(loss, [W1], eps=1e-6)[0]
    finally:
        model.W1.data = W1
    assert np.allclose(decomposition.gradient("W1"), numeric, atol=1e-7)
    assert "lag 0" in str(decomposition) and "|full - trunc|" in str(decomposition)


def _hand_state_gradients(model, xs, vs):
    """Under elman, dR/dh[t] = dR[t]/dh[t] = 2 (y[t] - v[t]) W2 (R[t] = (y - v)^2, B = O = 1)."""
    h, norms = np.zeros((1, 3)), []
    for x, v in zip(xs, vs):
        h = np.tanh(x @ model.W1.data.T + h @ model.Wm.data.T + model.b1.data)
        y = h @ model.W2.data.T + model.b2.data
        norms.append(float(np.linalg.norm(2 * (y - v) @ model.W2.data)))
    return norms


def test_state_gradient_norms_match_a_hand_derivation():
    loss, model = recorded(steps=T, truncation="elman", retain=True)
    norms = viz.state_gradient_norms(viz.to_networkx(loss, model, level="step"))
    expected = _hand_state_gradients(model, *data(T))
    assert list(norms) == ["h[0]"] + [f"h[{t}]" for t in range(1, T + 1)]
    assert norms["h[0]"] is None                            # a constant: no gradient
    assert [norms[f"h[{t}]"] for t in range(1, T + 1)] == pytest.approx(expected, rel=1e-10)


def test_window_copies_add_up_to_the_full_state_gradient():
    """window(T) == full: the T chains' partial gradients of h[t] sum to full BPTT's."""
    model = make_model()
    full, _ = recorded(steps=4, truncation="full", retain=True, model=model)
    window, _ = recorded(steps=4, truncation="window:4", retain=True, model=model)
    full_norms = viz.state_gradient_norms(viz.to_networkx(full, model, level="step"))
    window_norms = viz.state_gradient_norms(viz.to_networkx(window, model, level="step"))
    assert [window_norms[f"h[{t}]"] for t in range(1, 5)] == \
        pytest.approx([full_norms[f"h[{t}]"] for t in range(1, 5)], rel=1e-10)


def test_state_gradient_norms_need_retained_gradients():
    loss, model = recorded(steps=3)
    with pytest.raises(viz.VizError, match="retain_grads"):
        viz.state_gradient_norms(viz.to_networkx(loss, model, level="step"))


def test_where_a_terms_gradient_stops_is_only_on_its_own_paths():
    """Jordan's cut s[3] feeds h[3] and s[4]; under chunked(2) R[3]'s gradient stops on
    s[3] -> h[3] only: s[4] lies after R[3], which never reaches it. The function answers as
    the pictures mark (reach.blocked_edges)."""
    loss, model = recorded("jordan", steps=T, truncation="chunked(2)")
    G = viz.to_networkx(loss, model, level="step")
    assert viz.analysis.dropped_edges(G, "R[3]") == [("s[3]", "h[3]")]
    for term in G.graph["loss_terms"][:-1]:
        stops = viz.analysis.dropped_edges(G, term)
        reached = set(viz.reach.term_reach(G, term)[0])
        assert all(head in reached for _, head in stops)


def test_a_weight_transformed_before_the_loop_is_still_split_by_lag():
    """W * 2.0 computed once, outside any step, and read at every step: its gradient went to
    "no step" (only views of a weight, like a hoisted W.T, were untied per step); it is split
    by lag as W's own uses are, and the total is still dR/dW."""
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True, name="W")
    U = tg.Tensor(rng.standard_normal((3, 2)) * 0.5, requires_grad=True, name="U")
    doubled = W * 2.0
    cell = tg.nn.StateSpace(lambda x, s: ((x @ U.T + s @ doubled.T).tanh(),) * 2,
                            initial_state=tg.Tensor(np.zeros(3)), parameters={"W": W, "U": U})
    ys, _ = cell(rng.standard_normal((4, 1, 2)))
    loss = tg.nn.sequence_loss(ys, np.zeros((4, 1, 3)))
    lags = viz.gradient_by_lag(loss, {"W": W, "U": U})
    loss.backward()
    assert not np.any(lags.other_full["W"]) and "other" not in str(lags)
    assert all(norm > 0 for norm in lags.norms("W")[:3])
    np.testing.assert_allclose(lags.gradient("W"), W.grad, rtol=1e-12, atol=1e-15)


def test_a_cut_made_before_the_loop_is_the_identity_in_the_full_replay():
    """s @ cut(W).T: W's gradient is zero under the recorded graph, but the full-BPTT replay
    replays every cut as the identity; a cut made outside the loop was replayed as a cut once
    it was untied per step, which made the full gradient zero too."""
    rng = np.random.default_rng(0)
    W = tg.Tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True, name="W")
    U = tg.Tensor(rng.standard_normal((3, 2)) * 0.5, requires_grad=True, name="U")
    frozen, free = W.cut(), W
    xs, vs = rng.standard_normal((4, 1, 2)), np.zeros((4, 1, 3))

    def run(weight):
        cell = tg.nn.StateSpace(lambda x, s: ((x @ U.T + s @ weight.T).tanh(),) * 2,
                                initial_state=tg.Tensor(np.ones(3)),
                                parameters={"W": W, "U": U})
        return tg.nn.sequence_loss(cell(xs)[0], vs)

    lags = viz.gradient_by_lag(run(frozen), {"W": W, "U": U})
    W.grad = None
    run(free).backward()
    assert not np.any(lags.gradient("W", truncated=True))
    np.testing.assert_allclose(lags.gradient("W"), W.grad, rtol=1e-12, atol=1e-15)
    assert np.any(W.grad)


def test_what_reaches_a_weight_not_through_a_loss_term_is_kept_as_other():
    """R = sum_t R[t] + 0.1 |Wm|^2: the penalty's gradient reaches Wm from R itself, through no
    R[t]; it was dropped, so the decomposition no longer summed to dR/dW."""
    model = tg.nn.Elman(2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    xs, vs = rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 1))
    ys, _ = model(xs, truncation="elman")
    loss = tg.nn.sequence_loss(ys, vs) + (model.Wm * model.Wm).sum() * 0.1
    lags = viz.gradient_by_lag(loss, dict(model.named_parameters()))
    loss.backward()
    for name, weight in model.named_parameters():
        np.testing.assert_allclose(lags.gradient(name, truncated=True), weight.grad,
                                   rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lags.other_truncated["Wm"], 0.2 * model.Wm.data, rtol=1e-12)
    np.testing.assert_allclose(lags.other_full["Wm"], 0.2 * model.Wm.data, rtol=1e-12)
    assert not np.any(lags.other_full["W1"]) and "other" in str(lags)
    ys, _ = model(xs, truncation="elman")       # the same at any scale: no absolute floor
    tiny = 1e-11 * tg.nn.sequence_loss(ys, vs) + 1e-11 * (model.Wm * model.Wm).sum()
    lags = viz.gradient_by_lag(tiny, dict(model.named_parameters()))
    model.zero_grad()
    tiny.backward()
    np.testing.assert_allclose(lags.gradient("Wm", truncated=True), model.Wm.grad, rtol=1e-12)


def test_two_loss_terms_of_one_step_both_count_and_float32_rounding_is_not_other():
    """sequence_loss + last_step_loss: both have a term at t = T, and the second overwrote
    the first's part (every parameter's total was off by up to its size). In float32 the
    parts add up to dR/dW within float32 rounding, which is not shown as "other"."""
    rng = np.random.default_rng(1)
    xs, vs = rng.standard_normal((3, 2, 2)), rng.standard_normal((3, 2, 1))
    model = tg.nn.Elman(2, 3, 1, seed=0)
    ys, _ = model(xs)
    loss = tg.nn.sequence_loss(ys, vs) + tg.nn.last_step_loss(ys, vs[-1], loss="mse")
    lags = viz.gradient_by_lag(loss, dict(model.named_parameters()))
    loss.backward()
    for name, weight in model.named_parameters():
        np.testing.assert_allclose(lags.gradient(name), weight.grad, rtol=1e-12, atol=1e-14)
    assert not any(np.any(part) for part in lags.other_full.values())
    small = tg.nn.Elman(2, 3, 1, seed=0).to(np.float32)
    ys, _ = small(rng.standard_normal((8, 2, 2)).astype(np.float32), truncation="chunked(2)")
    loss = tg.nn.sequence_loss(ys, np.zeros((8, 2, 1), np.float32), time_reduction="mean")
    assert "other" not in str(viz.gradient_by_lag(loss, dict(small.named_parameters())))
