"""The visualizer on the gated cells: the LSTM's cell state c[t] is its own row at step level
(the highway beside h[t]), every gate weight highlights, the op level shows the gates, and
state_gradient_norms / gradient_by_lag report the c path (against the written-out chain rule
and against the engine under window(k))."""
import networkx as nx
import numpy as np
import pytest
from gated_oracles import two_step_lstm_by_hand
from nn_oracles import randomize
from viz_problems import data, groups, parameter_grads, parse, texts
from viz_problems import recorded as recorded_problem

import viz
from tinygrad_rnn import nn

T = 4


def lstm(learn=False):
    return randomize(nn.LSTM(2, 3, 1, learn_initial_state=learn, seed=0), seed=1, scale=0.8)


def recorded(model, truncation="full", steps=T, retain=False):
    """R of `model` over `steps` steps, recorded and differentiated."""
    return recorded_problem(model=model, truncation=truncation, steps=steps, retain=retain)[0]


def test_the_cell_state_is_a_row_of_its_own_with_a_weightless_highway():
    G = viz.to_networkx(recorded(lstm(), "elman"), level="step")
    cells = sorted(n for n, role in G.nodes(data="role") if role == "cell")
    assert cells == [f"c[{t}]" for t in range(T + 1)]
    for t in range(1, T + 1):
        highway = G.edges[f"c[{t - 1}]", f"c[{t}]"]
        assert highway["recurrent"] and highway["parameters"] == ()
        assert highway["dropped"] == (t > 1)          # elman cuts c as well as h
        assert G.edges[f"h[{t - 1}]", f"c[{t}]"]["parameters"] == ("Wm",)
        assert G.edges[f"x[{t}]", f"c[{t}]"]["parameters"] == ("W1",)
        assert G.edges[f"c[{t}]", f"h[{t}]"]["parameters"] == ()
    assert not any(role == "gate" for _, role in G.nodes(data="role"))     # gates: op level


@pytest.mark.parametrize("truncation", ["full", "elman", "chunked:2"])
def test_path_counts_include_the_highway(truncation):
    G = viz.to_networkx(recorded(lstm(), truncation), level="step")
    for term in G.graph["loss_terms"]:
        view = viz.analysis.truncated_view(G, term)
        for weight in ("W1", "Wm"):
            assert viz.gradient_paths(G, term, weight, truncated=True) == \
                sum(1 for _ in nx.all_simple_paths(view, weight, term))
    # under full BPTT R[2] reaches W1 through x[1] -> c[1] -> c[2] too, which a cut of h
    # alone would keep; under elman only step 2's two edges x[2] -> c[2], x[2] -> h[2] remain
    assert viz.gradient_paths(G, "R[2]", "W1") > 2
    if truncation == "elman":
        assert viz.gradient_paths(G, "R[2]", "W1", truncated=True) == 2
    if truncation == "full":                  # nothing is dropped
        for term in G.graph["loss_terms"]:
            assert viz.gradient_paths(G, term, "W1", truncated=True) == \
                viz.gradient_paths(G, term, "W1")
    if truncation == "chunked:2":             # R[4] sees steps 3 and 4 as a fresh sequence
        fresh = viz.to_networkx(recorded(lstm(), steps=2), level="step")
        assert viz.gradient_paths(G, "R[4]", "W1", truncated=True) == \
            viz.gradient_paths(fresh, "R[2]", "W1") < viz.gradient_paths(G, "R[4]", "W1")


@pytest.mark.parametrize("kind, weight, per_step", [
    ("lstm", "W1", 2), ("lstm", "Wm", 2), ("gru", "W1", 1), ("gru", "Wm", 1),
])
def test_every_gate_weight_highlights(kind, weight, per_step):
    model = lstm() if kind == "lstm" else nn.GRU(2, 3, 1, seed=0)
    dot = viz.to_dot(viz.to_networkx(recorded(model), model, level="step"), highlight=weight)
    assert dot.counts["highlighted"] == per_step * T
    svg = parse(viz.to_svg(dot))
    assert len(groups(svg, "edge", "highlighted")) == per_step * T


def test_the_op_level_shows_the_gates_and_the_step_level_the_cell_row():
    model = lstm()
    loss = recorded(model, steps=2)
    op = parse(viz.to_svg(viz.to_dot(viz.to_networkx(loss, model, level="op"), level="op")))
    gate_texts = {tuple(texts(g)) for g in groups(op, "node", "gate")}    # name, op, shape
    assert gate_texts == {(f"gates[{t}]", "lstm_gates", "(1, 12)") for t in (1, 2)}
    cells = {tuple(texts(g)[:2]) for g in groups(op, "node", "cell")}
    assert cells == {("c[1]", "lstm_cell"), ("c[2]", "lstm_cell"), ("c[0]", "leaf")}
    step = parse(viz.to_svg(viz.to_dot(viz.to_networkx(loss, model, level="step"))))
    assert len(groups(step, "node", "cell")) == 3             # c[0], c[1], c[2]
    gru = nn.GRU(2, 3, 1, seed=0)
    G = viz.to_networkx(recorded(gru, steps=2), gru, level="op")
    assert {(n, op) for n, op in G.nodes(data="op") if G.nodes[n]["role"] == "gate"} == \
        {("gates[1]", "gru_gates"), ("gates[2]", "gru_gates")}


@pytest.mark.parametrize("truncation", ["full", "elman"])
def test_state_gradient_norms_report_dR_dc_by_the_written_out_chain_rule(truncation):
    model = lstm(learn=True)
    loss = recorded(model, truncation, steps=2, retain=True)
    norms = viz.state_gradient_norms(viz.to_networkx(loss, model, level="step"))
    assert list(norms) == ["h0", "c0", "c[1]", "h[1]", "c[2]", "h[2]"]
    P = model.state_dict()
    xs, vs = data(2)
    cut = truncation == "elman"
    _, _, states = two_step_lstm_by_hand(P, xs[:, 0], vs[:, 0], P["h0"], P["c0"], cut, cut)
    for name in ("c[1]", "h[1]", "c[2]", "h[2]"):
        assert norms[name] == pytest.approx(np.linalg.norm(states[name]), rel=1e-11)


@pytest.fixture(scope="module")
def lags():
    model = lstm()
    return viz.gradient_by_lag(recorded(model, "chunked:2"), model), model


def test_lags_sum_to_the_full_and_the_truncated_gradient(lags):
    decomposition, model = lags
    full, chunked = parameter_grads(model, "full", T), parameter_grads(model, "chunked:2", T)
    for name in full:
        np.testing.assert_allclose(decomposition.gradient(name), full[name], atol=1e-12)
        np.testing.assert_allclose(decomposition.gradient(name, truncated=True), chunked[name],
                                   atol=1e-12)
    assert np.linalg.norm(decomposition.difference("Wm")) > 1e-4


def test_each_lag_is_what_one_more_step_of_window_adds_through_h_and_c(lags):
    """window(k) cuts the whole state, c included: lag k is window(k + 1) - window(k)."""
    decomposition, model = lags
    previous = {name: 0 for name in decomposition.parameters}
    for k in range(T):
        reach = parameter_grads(model, f"window:{k + 1}", T)
        for name in decomposition.parameters:
            np.testing.assert_allclose(decomposition.full[name][k], reach[name] - previous[name],
                                       atol=1e-12, err_msg=f"{name} lag {k}")
        previous = reach
    assert np.linalg.norm(decomposition.full["W1"][T - 1]) > 1e-6
