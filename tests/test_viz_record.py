"""viz.to_networkx: node and edge attributes, deterministic ids, both levels, what each
truncation drops. (The import rules are in test_viz_structure.py; the weights each model's
edges carry and where its states are drawn, in test_viz_step_picture.py.)"""
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from viz_problems import data, recorded

import tinygrad_rnn as tg
import viz

ROOT = Path(__file__).resolve().parents[1]


def test_step_level_has_the_lectures_nodes_and_roles():
    loss, model = recorded(steps=4, truncation="elman")
    G = viz.to_networkx(loss, model, level="step")
    assert isinstance(G, nx.DiGraph) and G.graph["level"] == "step"
    for t in range(1, 5):
        roles = [G.nodes[f"{n}[{t}]"]["role"] for n in "xhyR"]
        assert roles == ["input", "state", "output", "loss"]
        assert G.nodes[f"h[{t}]"]["step"] == t and G.nodes[f"h[{t}]"]["shape"] == (1, 3)
    assert G.nodes["h[0]"]["step"] == 0
    assert G.graph["parameters"] == ["W1", "Wm", "b1", "W2", "b2"]      # named_parameters order
    assert G.graph["loss_terms"] == ["R[1]", "R[2]", "R[3]", "R[4]"]
    assert all(G.nodes[p]["role"] == "parameter" and G.nodes[p]["step"] is None
               for p in G.graph["parameters"])
    assert G.nodes["W1"]["grad_norm"] == pytest.approx(np.linalg.norm(model.W1.grad))


def test_step_edges_carry_the_lectures_weights_and_the_recurrence():
    loss, model = recorded(steps=3)
    G = viz.to_networkx(loss, model, level="step")
    assert G.edges["x[2]", "h[2]"]["parameters"] == ("W1",)      # W1 x[t] + b1: no bias
    assert G.edges["h[1]", "h[2]"]["parameters"] == ("Wm",)
    assert G.edges["h[2]", "y[2]"]["parameter"] == "W2"
    assert G.edges["h[1]", "h[2]"]["recurrent"] and not G.edges["x[2]", "h[2]"]["recurrent"]
    assert G.edges["W1", "h[3]"]["kind"] == "parameter"
    assert not any(a["dropped"] for _, _, a in G.edges(data=True))    # full BPTT drops nothing


@pytest.mark.parametrize("truncation, steps, dropped", [
    ("full", 7, []),
    ("elman", 7, [(t - 1, t) for t in range(2, 8)]),                    # T - 1 edges
    ("chunked:3", 7, [(3, 4), (6, 7)]),                                 # (T - 1) // k edges
    ("window:1", 7, [(t - 1, t) for t in range(2, 8)]),                 # window(1) == elman
    ("window:3", 7, []),          # every edge is followed by some term: only per term, below
])
def test_dropped_edges_of_each_policy(truncation, steps, dropped):
    loss, model = recorded(steps=steps, truncation=truncation)
    G = viz.to_networkx(loss, model, level="step")
    assert viz.analysis.dropped_edges(G) == [(f"h[{a}]", f"h[{b}]") for a, b in dropped]


def test_window_drops_a_different_edge_for_each_loss_term():
    loss, model = recorded(steps=7, truncation="window:3")
    G = viz.to_networkx(loss, model, level="step")
    for t in range(1, 8):
        # R[t] reaches back exactly 3 steps: its gradient stops on h[t-3] -> h[t-2]
        expected = [(f"h[{t - 3}]", f"h[{t - 2}]")] if t > 3 else []
        assert viz.analysis.dropped_edges(G, f"R[{t}]") == expected
    assert G.nodes["h[4]"]["copies"] == 3                                # one per chain, merged


def test_op_level_marks_each_edge_into_a_cut():
    loss, model = recorded(steps=5, truncation="elman")
    G = viz.to_networkx(loss, model, level="op")
    cuts = [n for n, op in G.nodes(data="op") if op == "cut"]
    assert len(cuts) == 4 and all(G.nodes[c]["role"] == "cut" for c in cuts)
    dropped = [(u, v) for u, v, d in G.edges(data="dropped") if d]
    assert sorted(v for _, v in dropped) == sorted(cuts)
    assert [u for u, _ in sorted(dropped, key=lambda e: G.nodes[e[1]]["step"])] == \
        ["h[1]", "h[2]", "h[3]", "h[4]"]
    assert all(G.edges[e]["dropped_for"] == (f"R[{G.nodes[e[1]]['step']}]",) for e in dropped)
    assert all(not G.edges[e]["carries_gradient"] for e in dropped)


def test_repeated_argument_keeps_both_positions():
    w = tg.Tensor([1.0, 2.0], requires_grad=True, name="w")
    y = (w * w).sum()
    G = viz.to_networkx(y, level="op")
    product = next(v for _, v in G.out_edges("w"))
    assert G.edges["w", product]["positions"] == (0, 1)
    assert G.edges["w", product]["multiplicity"] == 2
    assert viz.gradient_paths(G, y_id(G), "w") == 2                    # d(w*w) = 2 paths


def y_id(G):
    return G.graph["roots"][0]


def test_ids_are_deterministic_and_do_not_depend_on_memory_addresses():
    first = viz.to_networkx(recorded(steps=4, truncation="window:2")[0], level="op")
    second = viz.to_networkx(recorded(steps=4, truncation="window:2")[0], level="op")
    assert list(first.nodes) == list(second.nodes)
    assert list(first.edges) == list(second.edges)
    # another process lays its objects out elsewhere in memory: id()-based ids would differ
    code = ("import sys; sys.path.insert(0, 'tests'); import viz\n"
            "from viz_problems import recorded\n"
            "print(repr(list(viz.to_networkx(recorded(steps=4, truncation='window:2')[0],\n"
            "                                 level='op').nodes)))")
    done = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                          capture_output=True, text=True)
    assert done.stdout.strip() == repr(list(first.nodes))
    assert "h[3]#1" in first                                  # window(2)'s second chain
    assert any(re.fullmatch(r"[a-z_]+:\d+", n) for n in first)  # unnamed ops: op and position


def test_the_same_recording_before_and_after_backward():
    loss, model = recorded(steps=3, backward=False)
    before = viz.to_networkx(loss, model, level="step")
    assert before.nodes["W1"]["grad"] is None
    loss.backward()
    after = viz.to_networkx(loss, model, level="step")
    assert list(before.edges(data="dropped")) == list(after.edges(data="dropped"))
    assert after.nodes["W1"]["grad_norm"] > 0


def test_parameter_names_come_from_the_mapping():
    loss, model = recorded(steps=2)
    renamed = {f"cell.{name}": tensor for name, tensor in model.named_parameters()}
    G = viz.to_networkx(loss, renamed, level="step")
    assert G.graph["parameters"][0] == "cell.W1"
    assert G.edges["x[1]", "h[1]"]["parameter"] == "cell.W1"


def test_jordan_state_is_cut_where_it_leaves_for_the_hidden_layer_and_the_next_state():
    """Elman's rule for Jordan treats s[t] as a constant: both edges out of the cut state are
    dropped, into h[t] and into s[t+1] = mu s[t] + y[t] (the engine keeps the second one in the
    graph although nothing downstream of the cut requires grad)."""
    loss, model = recorded("jordan", steps=4, truncation="elman")
    G = viz.to_networkx(loss, model, level="step")
    assert G.nodes["s[2]"]["role"] == "state" and G.nodes["h[2]"]["role"] == "hidden"
    assert sorted(viz.analysis.dropped_edges(G)) == [
        ("s[2]", "h[2]"), ("s[2]", "s[3]"), ("s[3]", "h[3]"), ("s[3]", "s[4]"), ("s[4]", "h[4]")]
    assert G.edges["y[1]", "s[2]"]["recurrent"]


def test_bad_arguments():
    loss, _ = recorded(steps=2)
    with pytest.raises(ValueError, match="level"):
        viz.to_networkx(loss, level="steps")
    with pytest.raises(TypeError, match="Tensor"):
        viz.to_networkx("R")


# --- graphs that are not one model called once: drawn right, or refused ---

def test_a_checkpointed_run_is_refused_rather_than_drawn_empty():
    """Its segments are single nodes whose steps are recomputed and not kept: the step picture
    had no x, h or weights, and the reach looked like elman's whatever the policy."""
    xs, vs = data(7, batch=2)
    model = tg.nn.Elman(2, 3, 1, seed=0)
    ys, _ = model(xs, truncation="chunked:3", checkpoint_every=2)
    loss = tg.nn.sequence_loss(ys, vs)
    for draw in (lambda: viz.to_networkx(loss, model), lambda: viz.to_html(loss, model)):
        with pytest.raises(viz.VizError, match="checkpoint_every"):
            draw()
    plain, _ = model(xs, truncation="chunked:3")
    assert "W1" in viz.to_networkx(tg.nn.sequence_loss(plain, vs), model)


@pytest.mark.parametrize("how", ["a model called twice", "two models", "two losses"])
def test_values_of_one_name_from_separate_calls_are_refused_not_merged(how):
    """Merged, a 7-step stream was drawn as 4 steps with a cycle, and two models' R[t] as one."""
    xs, vs = data(7, batch=2)
    model, other = tg.nn.Elman(2, 3, 1, seed=0), tg.nn.Elman(2, 3, 1, seed=1)
    params = {"W1": model.W1}
    if how == "a model called twice":
        first, h = model(xs[:4])
        second, _ = model(xs[4:], state=h)
        loss = tg.nn.sequence_loss(first, vs[:4]) + tg.nn.sequence_loss(second, vs[4:])
    elif how == "two models":
        loss = (tg.nn.sequence_loss(model(xs, truncation="elman")[0], vs)
                + tg.nn.sequence_loss(other(xs)[0], vs))
    else:
        ys, _ = model(xs)
        loss = tg.nn.sequence_loss(ys, vs) + tg.nn.sequence_loss(ys, 2 * vs)
    with pytest.raises(viz.VizError, match="recorded 2 times, by separate calls"):
        viz.to_networkx(loss, params)


def test_two_models_in_scopes_of_their_own_are_drawn_apart():
    xs, vs = data(4, batch=2)
    terms = []
    for scope, seed, policy in (("a", 0, "elman"), ("b", 1, "full")):
        with tg.name_scope(scope):
            model = tg.nn.Elman(2, 3, 1, seed=seed)
            terms.append(tg.nn.sequence_loss(model(xs, truncation=policy)[0], vs))
    graph = viz.to_networkx(terms[0] + terms[1])
    assert {"a/h[3]", "b/h[3]", "a/R[3]", "b/R[3]"} <= set(graph.nodes)
    assert all(graph.nodes[n]["copies"] == 1 for n in graph.nodes)
    state_edges = {(u, v): d["dropped_for"] for u, v, d in graph.edges(data=True)
                   if graph.nodes[u]["role"] == graph.nodes[v]["role"] == "state"}
    assert state_edges[("a/h[2]", "a/h[3]")] and not state_edges[("b/h[2]", "b/h[3]")]


def test_window_copies_of_one_call_still_merge():
    xs, vs = data(6, batch=2)
    model = tg.nn.Elman(2, 3, 1, seed=0)
    loss = tg.nn.sequence_loss(model(xs, truncation="window:3")[0], vs)
    graph = viz.to_networkx(loss, model)
    assert max(graph.nodes[n]["copies"] for n in graph.nodes) > 1


@pytest.mark.parametrize("make", [lambda: tg.nn.Jordan(2, 3, 1, seed=0),
                                  lambda: tg.nn.Elman(2, 3, 1, seed=0)])
@pytest.mark.parametrize("truncation", ["full", "elman", "chunked:2"])
def test_an_edge_carries_gradient_exactly_when_its_head_gets_some(make, truncation):
    """Jordan's y[t-1] -> s[t] under a truncation was marked carries_gradient, and drawn as a
    live edge, though s[t] is consumed only through its cut and gets no gradient at all."""
    rng = np.random.default_rng(0)
    model = make()
    ys, _ = model(rng.standard_normal((4, 2, 2)), truncation=truncation)
    loss = tg.nn.sequence_loss(ys, rng.standard_normal((4, 2, 1)))
    for node in tg.graph.topological_order([loss]):       # every node's gradient, if any
        if not node.is_leaf and node.requires_grad:
            node.retain_grad()
    loss.backward()
    for level in ("op", "step"):
        G = viz.to_networkx(loss, model, level=level)
        for u, v, carries in G.edges(data="carries_gradient"):
            gets = G.nodes[v]["grad"] is not None and G.nodes[u]["requires_grad"]
            assert carries == (gets and not G.edges[u, v]["dropped"]), (level, u, v)
    if "Jordan" in type(model).__name__:
        G = viz.to_networkx(loss, model)
        assert G.edges["y[1]", "s[2]"]["carries_gradient"] == (truncation != "elman")
