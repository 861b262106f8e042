"""viz.reach: where each loss term's gradient flows, against three oracles: the closed forms
of the policies (written out here, never used by the code), networkx's ancestors in the
truncated view, and the engine itself (the nodes a backward from R[t] alone gives a gradient).
And the reach-matrix figure: a PNG, written atomically."""
import networkx as nx
import numpy as np
import pytest
from viz_problems import data, make_model

import viz
from tinygrad_rnn import nn
from viz.analysis import truncated_view
from viz.reach import blocked_edges, reached_steps, term_reach


def closed_form(policy, t, steps):
    """The steps s the gradient of R[t] reaches (DESIGN.md's table)."""
    name, _, arg = policy.partition(":")
    if name == "full":
        first = 1
    elif name == "elman":
        first = t
    elif name == "chunked":
        k = int(arg)
        first = (t - 1) // k * k + 1
    else:
        first = max(1, t - int(arg) + 1)
    return list(range(first, t + 1))


def step_graph(truncation, steps, kind="elman", model=None):
    model = model or make_model(kind)
    xs, vs = data(steps)
    ys, _ = model(xs, truncation=truncation)
    loss = nn.sequence_loss(ys, vs)
    return viz.to_networkx(loss, model, level="step"), loss, model


POLICIES = ["full", "elman", "chunked:2", "chunked:3", "window:2", "window:3"]


@pytest.mark.parametrize("steps", [1, 4, 7])
@pytest.mark.parametrize("truncation", POLICIES)
def test_reach_matrix_is_the_closed_form(truncation, steps):
    graph, _, _ = step_graph(truncation, steps)
    matrix = viz.reach_matrix({truncation: graph})[truncation]
    expected = np.zeros((steps, steps), dtype=bool)
    for t in range(1, steps + 1):
        expected[t - 1, [s - 1 for s in closed_form(truncation, t, steps)]] = True
    assert matrix.dtype == bool and matrix.shape == (steps, steps)
    assert np.array_equal(matrix, expected)


def test_the_four_shapes():
    """full a lower triangle, elman the diagonal, chunked(3) blocks, window(3) a band."""
    steps = 9
    matrices = viz.reach_matrix({p: step_graph(p, steps)[0]
                                 for p in ("full", "elman", "chunked:3", "window:3")})
    assert np.array_equal(matrices["full"], np.tril(np.ones((steps, steps), dtype=bool)))
    assert np.array_equal(matrices["elman"], np.eye(steps, dtype=bool))
    blocks = np.kron(np.eye(3, dtype=int), np.tril(np.ones((3, 3), dtype=int))).astype(bool)
    assert np.array_equal(matrices["chunked:3"], blocks)
    band = np.tril(np.ones((steps, steps), dtype=bool)) & ~np.tril(np.ones((steps, steps),
                                                                          dtype=bool), -3)
    assert np.array_equal(matrices["window:3"], band)


@pytest.mark.parametrize("truncation", POLICIES + ["jordan:chunked:2"])
def test_term_reach_is_networkx_ancestors_in_the_truncated_view(truncation):
    kind, policy = ("jordan", truncation[7:]) if truncation.startswith("jordan") \
        else ("elman", truncation)
    graph, _, _ = step_graph(policy, 6, kind)
    for term in graph.graph["loss_terms"]:
        nodes, edges = term_reach(graph, term)
        view = truncated_view(graph, term)
        region = nx.ancestors(view, term) | {term}
        assert set(nodes) == region and len(nodes) == len(region)
        assert set(edges) == {(u, v) for u, v in view.edges if u in region and v in region}
        for u, v in blocked_edges(graph, term):       # where it stops: the tail is cut off
            assert v in region and u not in region


@pytest.mark.parametrize("truncation", ["full", "elman", "chunked:3", "window:3"])
def test_term_reach_is_where_the_engine_puts_gradient(truncation):
    """A backward from R[t] alone, on the recorded graph: the step nodes that get a gradient
    are exactly the reached ones that require one (window(h)'s copies of h[t] merged)."""
    steps = 6
    model = make_model()
    xs, vs = data(steps)
    for t in range(1, steps + 1):
        ys, _ = model(xs, truncation=truncation)
        terms = nn.loss_terms(ys, vs)
        loss = terms[0]
        for term in terms[1:]:
            loss = loss + term
        viz.retain_grads(loss)
        terms[t - 1].backward()
        graph = viz.to_networkx(loss, model, level="step")
        got = {n for n, g in graph.nodes(data="grad") if g is not None}
        nodes, _ = term_reach(graph, f"R[{t}]")
        wanted = {n for n in nodes if graph.nodes[n]["requires_grad"]}
        assert got - {"h[0]"} == wanted - {"h[0]"}, (truncation, t)
        assert reached_steps(graph, f"R[{t}]") == closed_form(truncation, t, steps)
        model.zero_grad()


def test_reach_matrix_errors():
    graph, loss, model = step_graph("elman", 3)
    with pytest.raises(viz.VizError, match="mapping or a viz.Page"):
        viz.reach_matrix([graph])
    with pytest.raises(viz.VizError, match="mapping or a viz.Page"):
        viz.reach_matrix({})
    with pytest.raises(viz.VizError, match="step-level"):
        viz.reach_matrix({"op": viz.to_networkx(loss, model, level="op")})
    with pytest.raises(viz.VizError, match="R\\[9\\]"):
        term_reach(graph, "R[9]")


def test_plot_reach_matrix_writes_a_png_atomically(tmp_path):
    pytest.importorskip("matplotlib")
    model = make_model()
    xs, vs = data(8)
    roots = viz.record_policies(model, xs, vs)
    assert list(roots) == ["full", "elman", "chunked(3)", "window(3)"]
    target = tmp_path / "figures" / "reach.png"
    figure = viz.plot_reach_matrix(roots, model, path=target, title="who reaches what")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["reach.png"]     # no temporary left
    assert [ax.get_title() for ax in figure.axes] == list(roots)
    shown = figure.axes[1].images[0].get_array()                            # elman's panel
    assert np.array_equal(np.asarray(shown, dtype=bool), np.eye(8, dtype=bool))
    figure = viz.plot_reach_matrix(viz.explore(model, xs, vs, policies=["full", "window:2"]),
                                   columns=1)
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 2


def test_plot_reach_matrix_without_matplotlib_says_how_to_get_it(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    graph, _, _ = step_graph("elman", 3)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(viz.VizError, match="pip install matplotlib"):
        viz.plot_reach_matrix({"elman": graph})


def test_default_policies_follow_the_square_root_of_t():
    assert [repr(p) for p in viz.default_policies(8)] == ["full", "elman", "chunked(3)",
                                                          "window(3)"]
    assert repr(viz.default_policies(200)[2]) == "chunked(14)"
    assert repr(viz.default_policies(1)[3]) == "window(2)"
    for bad in (0, -3, 2.5, True, "8"):
        with pytest.raises(viz.VizError, match="positive integer"):
            viz.default_policies(bad)
