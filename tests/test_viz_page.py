"""viz.explore / to_html / render_html: the page's numbers against the engine (a backward from
each R[t] alone on a fresh recording, gradient_by_lag, the reach sets of the recorded graph),
its SVG against the test contract (titles, numbers), and what a hostile name or a wrong
argument does. The page in a browser: test_viz_browser.py."""
import html
import math

import numpy as np
import pytest
from page_helpers import PageData, engine_term, floats, scripts, svg_root, titled
from viz_problems import data, make_model

import tinygrad_rnn as tg
import viz
from tinygrad_rnn import Tensor, nn
from viz.reach import blocked_edges, term_reach
from viz.replay import step_gradients

T = 6
POLICIES = ["full", "elman", "chunked:2", "window:3"]
LABELS = ["full", "elman", "chunked(2)", "window(3)"]


@pytest.fixture(scope="module")
def explored():
    model = make_model()
    xs, vs = data(T)
    page = viz.explore(model, xs, vs, policies=POLICIES, max_lags=T + 2)
    return page, PageData(page.html), model, xs, vs


def test_the_page_holds_each_policy_and_term(explored):
    page, numbers, _, _, _ = explored
    assert list(numbers.policies) == LABELS == list(page.graphs)
    assert numbers.terms == [f"R[{t}]" for t in range(1, T + 1)]
    assert numbers.data["parameters"] == ["W1", "Wm", "b1", "W2", "b2"]


@pytest.mark.parametrize("truncation, label", list(zip(POLICIES, LABELS)))
def test_reach_sets_are_the_recorded_graphs(explored, truncation, label):
    page, numbers, _, _, _ = explored
    graph = page.graphs[label]
    for term in numbers.terms:
        nodes, edges, dropped = numbers.reach(label, term)
        want_nodes, want_edges = term_reach(graph, term)
        assert nodes == set(want_nodes) and edges == set(want_edges)
        assert dropped == set(blocked_edges(graph, term))
    stops = {t: numbers.reach(label, t)[2] for t in numbers.terms}
    if label == "window(3)":                         # one stop per term, each its own
        assert stops["R[6]"] == {("h[3]", "h[4]")} and stops["R[5]"] == {("h[2]", "h[3]")}
    if label == "elman":
        assert all(stops[f"R[{t}]"] == {(f"h[{t - 1}]", f"h[{t}]")} for t in range(2, T + 1))


@pytest.mark.parametrize("truncation, label", list(zip(POLICIES, LABELS)))
def test_per_term_gradient_norms_are_the_engines(explored, truncation, label):
    _, numbers, model, xs, vs = explored
    for t, shown in enumerate(numbers.term_norms(label), start=1):
        engine, _ = engine_term(model, xs, vs, truncation, t)
        assert set(shown) <= set(engine)
        for node, norm in shown.items():
            assert norm == pytest.approx(engine[node], rel=1e-6, abs=1e-12), (t, node)
        missing = {n for n, g in engine.items() if g > 0} - set(shown)
        assert not missing, (t, missing)          # every node with a gradient is reached


def test_whole_loss_gradient_norms_are_the_engines(explored):
    page, numbers, model, xs, vs = explored
    for truncation, label in zip(POLICIES, LABELS):
        model.zero_grad()
        ys, _ = model(xs, truncation=truncation)
        loss = nn.sequence_loss(ys, vs)
        viz.retain_grads(loss)
        loss.backward()
        graph = viz.to_networkx(loss, model, level="step")
        shown = floats(numbers.policies[label]["gradNorms"])
        for number, node in enumerate(numbers.nodes):
            expected = graph.nodes[node]["grad_norm"]
            if node in ("x[1]", "h[0]") or expected is None:
                assert math.isnan(shown[number]) or shown[number] == 0.0
            else:
                assert shown[number] == pytest.approx(expected, rel=1e-6), (label, node)
        model.zero_grad()


def lag_norms(gradients, name, t):
    by_lag = {}
    for (term, s), grad in gradients["gradients"][name].items():
        if term == t:
            by_lag[t - s] = by_lag.get(t - s, 0) + grad
    norms = [float(np.linalg.norm(by_lag.get(k, 0))) for k in range(t)]
    while norms and norms[-1] == 0:
        norms.pop()
    return norms


@pytest.mark.parametrize("truncation, label", list(zip(POLICIES, LABELS)))
def test_per_term_lags_and_fraction_kept_are_the_engines(explored, truncation, label):
    _, numbers, model, xs, vs = explored
    policy = numbers.policies[label]
    rows, summary, overall = numbers.lags(policy["lags"]["terms"])
    full_rows, full_summary, _ = numbers.lags(numbers.data["references"][policy["reference"]]
                                              ["terms"])
    ys, _ = model(xs, truncation=truncation)
    recorded = step_gradients(nn.sequence_loss(ys, vs), model)
    ys, _ = model(xs, truncation="full")
    full = step_gradients(nn.sequence_loss(ys, vs), model)
    for t in range(1, T + 1):
        _, grads = engine_term(model, xs, vs, truncation, t)
        _, full_grads = engine_term(model, xs, vs, "full", t)
        for j, name in enumerate(numbers.data["parameters"]):
            assert rows[t - 1][j] == pytest.approx(lag_norms(recorded, name, t), rel=1e-6)
            assert full_rows[t - 1][j] == pytest.approx(lag_norms(full, name, t), rel=1e-6)
            g, f = grads[name], full_grads[name]
            assert summary[t - 1, j, 0] == pytest.approx(np.linalg.norm(g), rel=1e-6)
            assert full_summary[t - 1, j, 0] == pytest.approx(np.linalg.norm(f), rel=1e-6)
            if np.vdot(f, f) > 0:
                kept = np.vdot(g, f) / np.vdot(f, f)
                assert summary[t - 1, j, 1] == pytest.approx(kept, rel=1e-5, abs=1e-7)
        g = np.concatenate([grads[n].ravel() for n in numbers.data["parameters"]])
        f = np.concatenate([full_grads[n].ravel() for n in numbers.data["parameters"]])
        assert overall[t - 1, 1] == pytest.approx(np.vdot(g, f) / np.vdot(f, f), rel=1e-5)
    if label == "full":                   # nan: nothing to keep (dR[1]/dWm = 0, h[0] = 0)
        assert np.array_equal(np.isnan(summary[:, :, 1]), full_summary[:, :, 0] == 0)
        assert np.allclose(summary[:, :, 1][~np.isnan(summary[:, :, 1])], 1.0)
        assert np.allclose(overall[:, 1], 1.0)


@pytest.mark.parametrize("truncation, label", list(zip(POLICIES, LABELS)))
def test_whole_loss_lags_are_gradient_by_lag(explored, truncation, label):
    _, numbers, model, xs, vs = explored
    policy = numbers.policies[label]
    [rows], [summary], _ = numbers.lags(policy["lags"]["whole"])
    [full_rows], _, _ = numbers.lags(numbers.data["references"][policy["reference"]]["whole"])
    ys, _ = model(xs, truncation=truncation)
    decomposition = viz.gradient_by_lag(nn.sequence_loss(ys, vs), model)
    for j, name in enumerate(numbers.data["parameters"]):
        expected = decomposition.norms(name, truncated=True)
        assert np.allclose(rows[j], expected[:len(rows[j])], rtol=1e-6)
        assert not np.any(expected[len(rows[j]):])
        full = decomposition.norms(name)
        assert np.allclose(full_rows[j], full[:len(full_rows[j])], rtol=1e-6)
        assert summary[j, 0] == pytest.approx(
            np.linalg.norm(decomposition.gradient(name, truncated=True)), rel=1e-6)
        assert summary[j, 2] == 0.0                 # nothing is read outside the steps


def test_older_lags_are_summed_into_the_last_bar():
    model = make_model()
    xs, vs = data(T)
    numbers = PageData(viz.explore(model, xs, vs, policies=["full"], max_lags=2).html)
    rows, _, _ = numbers.lags(numbers.policies["full"]["lags"]["terms"])
    ys, _ = model(xs, truncation="full")
    recorded = step_gradients(nn.sequence_loss(ys, vs), model)
    older = sum(grad for (t, s), grad in recorded["gradients"]["W1"].items()
                if t == T and t - s >= 2)
    assert len(rows[T - 1][0]) == 3                             # lags 0, 1 and ">= 2"
    assert rows[T - 1][0][2] == pytest.approx(np.linalg.norm(older), rel=1e-6)


def test_the_svg_keeps_graphvizs_titles_and_carries_the_numbers(explored):
    page, numbers, _, _, _ = explored
    root = svg_root(page.html)
    nodes, edges = titled(root, "node"), titled(root, "edge")
    assert set(nodes) == set(numbers.nodes)
    for name, group in nodes.items():
        assert numbers.nodes[int(group.get("data-n"))] == name
    drawn = {f"{u}->{v}" for u, v in (numbers.edge_name(i) for i in range(len(numbers.edges)))
             if not u.startswith(("W", "b"))}                   # weights are colours, not edges
    assert set(edges) == drawn
    assert "h[3]->h[4]" in edges and "x[2]->h[2]" in edges
    for name, group in edges.items():
        assert "->".join(numbers.edge_name(int(group.get("data-e")))) == name
    assert not any(a.startswith("truncated") for g in root.iter() for a in
                   (g.get("class") or "").split())              # classes are the script's


def test_reach_sets_stay_a_few_runs_per_term_whatever_t():
    model = make_model()
    longest = []
    for steps in (12, 48):
        xs, vs = data(steps)
        numbers = PageData(viz.explore(model, xs, vs, max_lags=4).html)
        longest.append(max(len(part) for p in numbers.policies.values()
                           for term in p["reach"] for part in term))
    assert longest[0] == longest[1] <= 24


@pytest.mark.parametrize("name", ["</script><!--", '<b>"x"</b>&amp;', "a\\nb \\N ]]>"])
def test_names_cannot_break_the_page(name):
    w = Tensor(np.ones((2, 2)) * 0.3, requires_grad=True, name=name)
    terms = []
    h = tg.Tensor(np.zeros((1, 2)))
    for t in (1, 2, 3):
        with tg.step(t):
            x = tg.Tensor(np.ones((1, 2)) * t).annotate(role="input", name=f"x[{t}]")
            h = (x @ w + h).tanh().annotate(role="state", name=f"h[{t}]")
            terms.append((h * h).sum().annotate(role="loss", name=f"R[{t}]"))
    loss = terms[0] + terms[1] + terms[2]
    page = viz.to_html(loss, {name: w}, label=name, title=name)
    found = scripts(page.html)
    assert len(found) == 2                                # the data and the script, unbroken
    numbers = PageData(page.html)
    assert numbers.data["parameters"] == [name] and list(numbers.policies) == [name]
    assert numbers.data["title"] == name
    root = svg_root(page.html)                            # well-formed XML
    assert name in titled(root, "node")
    assert f"<title>{html.escape(name)}</title>" in page.html


def test_render_html_writes_atomically_and_checks_its_argument(tmp_path, explored):
    page = explored[0]
    target = tmp_path / "out" / "explorer.html"
    assert viz.render_html(page, target) == target
    assert target.read_text(encoding="utf-8") == page.html
    assert [p.name for p in target.parent.iterdir()] == ["explorer.html"]
    with pytest.raises(viz.VizError, match="viz.Page or HTML text"):
        viz.render_html(42, tmp_path / "x.html")
    assert viz.render_html(page.html, tmp_path / "y.html").read_text() == page.html


def test_notebooks_show_the_page_in_its_own_frame(explored):
    page = explored[0]
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and 'sandbox="allow-scripts"' in frame
    srcdoc = frame[len('<iframe srcdoc="'):frame.index('" title=')]
    assert '"' not in srcdoc and html.unescape(srcdoc) == page.html
    assert str(page) == page.html and page.size == len(page.html.encode())


def test_same_recordings_same_bytes():
    model = make_model()
    xs, vs = data(4)
    assert viz.explore(model, xs, vs).html == viz.explore(model, xs, vs).html


def test_one_recording_is_compared_with_its_own_full_bptt():
    model = make_model()
    xs, vs = data(5)
    ys, _ = model(xs, truncation="window:2")
    numbers = PageData(viz.to_html(nn.sequence_loss(ys, vs), model, label="window(2)").html)
    _, summary, _ = numbers.lags(numbers.policies["window(2)"]["lags"]["terms"])
    _, full_summary, _ = numbers.lags(numbers.data["references"][0]["terms"])
    for t in range(1, 6):
        _, full_grads = engine_term(model, xs, vs, "full", t)
        assert full_summary[t - 1, 0, 0] == pytest.approx(np.linalg.norm(full_grads["W1"]),
                                                          rel=1e-6)
    assert summary[4, 0, 1] < 1.0


def test_page_size_at_200_steps_is_a_few_megabytes():
    model = nn.Elman(2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    page = viz.explore(model, rng.standard_normal((200, 1, 2)), rng.standard_normal((200, 1, 1)))
    assert page.size < 3_000_000


def test_wrong_arguments_are_named():
    model = make_model()
    xs, vs = data(3)
    ys, _ = model(xs)
    loss = nn.sequence_loss(ys, vs)
    with pytest.raises(viz.VizError, match="non-empty"):
        viz.to_html({})
    with pytest.raises(viz.VizError, match="scalar loss Tensor, got \\(3, 1, 1\\)"):
        viz.to_html(ys, model)
    with pytest.raises(viz.VizError, match="scalar loss Tensor, got str"):
        viz.to_html({"a": "R"})
    with pytest.raises(viz.VizError, match="max_lags"):
        viz.to_html(loss, model, max_lags=0)
    longer, _ = model(data(4)[0])
    with pytest.raises(viz.VizError, match="one model on one sequence"):
        viz.to_html({"three": loss, "four": nn.sequence_loss(longer, data(4)[1])}, model)
    with pytest.raises(viz.VizError, match="no loss term"):
        viz.to_html((ys * ys).sum(), model)
    with pytest.raises(viz.VizError, match="listed twice"):
        viz.explore(model, xs, vs, policies=["elman", "chunked:1"])
    with pytest.raises(viz.VizError, match="empty"):
        viz.explore(model, xs, vs, policies=[])
    with pytest.raises(ValueError, match="truncation"):
        viz.explore(model, xs, vs, policies=["sometimes"])


def test_an_empty_title_is_the_default_in_explore_as_in_to_html():
    """explore(title="") gave the page an empty heading; to_html(title="") its default."""
    model = make_model()
    xs, vs = data(3)
    page = viz.explore(model, xs, vs, policies=["full"], title="")
    assert page.title.startswith(f"{type(model).__name__}, T = 3")


def test_targets_holding_nan_are_refused_not_drawn_as_nan_numbers():
    """NaN in xs was refused (by the model), NaN in vs built a page of NaN numbers."""
    xs, vs = np.ones((3, 1, 2)), np.zeros((3, 1, 1))
    vs[1, 0, 0] = np.nan
    with pytest.raises(viz.VizError, match="explore: the loss under full is nan"):
        viz.explore(nn.Elman(2, 3, 1, seed=0), xs, vs)
    roots = viz.record_policies(nn.Elman(2, 3, 1, seed=0), xs, vs, ["full"])   # no numbers
    assert set(roots) == {"full"}                                   # shown: recorded as it is
