"""viz.to_dot + render: the SVG parsed as XML. Clusters per step, edges marked truncated
(T-1 for elman, (T-1)//k for chunked(k), 0 for full), highlighted edges (T for W1), elision,
identical bytes, and labels that cannot inject markup."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from viz_problems import SVG, groups, parse, recorded, texts

import tinygrad_rnn as tg
import viz

T = 7


def picture(truncation="full", steps=T, kind="elman", level="step", **options):
    loss, model = recorded(kind, steps=steps, truncation=truncation, retain=True)
    dot = viz.to_dot(viz.to_networkx(loss, model, level=level), level=level, **options)
    return parse(viz.to_svg(dot)), dot


@pytest.mark.parametrize("truncation, marked", [
    ("full", 0), ("elman", T - 1), ("chunked:2", (T - 1) // 2), ("chunked:3", (T - 1) // 3),
    ("window:1", T - 1), ("window:3", 0), ("chunked:7", 0)])
def test_marked_edges(truncation, marked):
    root, dot = picture(truncation, highlight="W1")
    truncated = groups(root, "edge", "truncated")
    assert len(truncated) == marked == dot.counts["truncated"]
    assert len(groups(root, "cluster", "step")) == T                    # one column per step
    assert len(groups(root, "edge", "highlighted")) == T                # x[t] -> h[t]: W1
    for edge in truncated:                                              # drawn dashed red
        path = next(edge.iter(SVG + "path"))
        assert path.get("stroke") == "#d62728" and path.get("stroke-dasharray")


def test_columns_are_in_time_order_and_rows_by_role():
    root, _ = picture("elman", steps=5)
    position = {}
    for node in groups(root, "node"):
        text = node.find(SVG + "text")
        if text is not None:
            position["".join(text.itertext())] = (float(text.get("x")), float(text.get("y")))
    xs = [position[f"h[{t}]"][0] for t in range(0, 6)]
    assert xs == sorted(xs)                                             # left to right
    for t in range(1, 6):                                               # SVG y grows downwards
        x, h, y, r = (position[f"{n}[{t}]"][1] for n in ("x", "h", "y", "R"))
        assert x > h > y > r                                            # x below ... R on top


def test_op_level_marks_the_edges_into_cuts():
    root, dot = picture("elman", steps=4, level="op", highlight="W1")
    assert len(groups(root, "edge", "truncated")) == 3
    assert len(groups(root, "node", "cut")) == 3
    assert len(groups(root, "cluster", "step")) == 4
    assert dot.counts["highlighted"] == 4                               # W1 used once per step


def test_long_sequences_are_elided():
    root, dot = picture("elman", steps=60, highlight="W1")
    assert len(groups(root, "cluster", "step")) == 6                    # first and last 3
    assert any("... 54 steps ..." in text for text in texts(root))
    # 4 between drawn steps; the 2 edges into and out of the elided box stand for h[3] -> h[4]
    # and h[57] -> h[58], each dropped, and are drawn red dashed but counted among the hidden
    assert dot.counts["truncated"] == 4
    assert dot.counts["hidden_truncated"] == 55
    assert dot.counts["truncated"] + dot.counts["hidden_truncated"] == 60 - 1   # each once
    stubs = groups(root, "edge", "elided")
    assert len([g for g in stubs if "truncated" in g.get("class").split()]) == 2
    assert len(groups(root, "edge", "truncated")) == 4 + 2
    assert len(groups(root, "edge", "highlighted")) == 6


def test_an_edge_to_the_elided_steps_shows_whether_the_term_reaches_them():
    """R[9] of ten steps with 4..8 elided: under elman its gradient stops at h[8] -> h[9],
    under window(3) it enters the hidden steps. Both pictures drew the same grey dotted edges
    out of the "... 5 steps ..." box (into h[9], and into R from the hidden R[t])."""
    out_of_box = {}
    for policy in ("elman", "window:3"):
        root, _ = picture(policy, steps=10, max_steps=5, loss_term=9)
        out_of_box[policy] = sorted(
            g.get("class") for g in groups(root, "edge", "elided")
            if g.find(SVG + "title").text.startswith("elided->"))
    assert out_of_box["elman"] == ["edge elided truncated", "edge elided unreached"]
    assert out_of_box["window:3"] == ["edge elided", "edge elided unreached"]


def _left_edge(group):
    """The smallest x of a <g>'s shape (a cluster's or a node's path or polygon)."""
    for shape in group:
        points = shape.get("points") or shape.get("d")
        if points:
            return min(float(x) for x in re.findall(r"(-?[\d.]+),-?[\d.]+", points))
    raise AssertionError("no shape in the group")


@pytest.mark.parametrize("steps", [30, 60])
def test_the_elided_steps_sit_between_the_first_and_the_last_columns(steps):
    """The "... N steps ..." box stands where the steps are missing, not after t = T."""
    root, _ = picture("elman", steps=steps)
    by_title = {g.find(SVG + "title").text: g for g in groups(root, "cluster", "step")}
    xs = sorted((_left_edge(g), title) for title, g in by_title.items())
    elided = _left_edge(groups(root, "node", "elided")[0])
    assert [title for _, title in xs] == [f"cluster_t{t}" for t in (1, 2, 3, steps - 2,
                                                                     steps - 1, steps)]
    assert xs[2][0] < elided < xs[3][0], (xs, elided)


def test_a_loss_term_among_the_steps_not_drawn_is_refused_not_drawn_all_grey():
    loss, model = recorded("elman", steps=30, truncation="window(3)", retain=True)
    graph = viz.to_networkx(loss, model)
    with pytest.raises(viz.VizError, match=r"R\[10\] is among the steps not drawn.*max_steps=30"):
        viz.to_dot(graph, loss_term=10)
    assert viz.to_dot(graph, loss_term=29).counts["drawn_steps"] == 6
    assert viz.to_dot(graph, loss_term=10, max_steps=30).counts["drawn_steps"] == 30


def test_nothing_is_elided_up_to_the_limit_and_the_limit_is_configurable():
    root, _ = picture("elman", steps=20)
    assert len(groups(root, "cluster", "step")) == 20
    root, dot = picture("elman", steps=12, max_steps=6, keep_steps=2)
    assert len(groups(root, "cluster", "step")) == 4 and dot.counts["elided_steps"] == 8


def test_a_loss_term_shows_where_its_own_gradient_stops():
    root, dot = picture("window:3", steps=T, loss_term=6)
    assert len(groups(root, "edge", "truncated")) == 1                  # h[3] -> h[4] for R[6]
    assert groups(root, "edge", "unreached")
    with pytest.raises(viz.VizError, match="loss term"):
        picture("window:3", steps=3, loss_term=9)


def test_same_graph_same_bytes(tmp_path):
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    loss, model = recorded(steps=5, truncation="chunked:2")
    graph = viz.to_networkx(loss, model, level="step")
    viz.render_svg(viz.to_dot(graph, highlight="W1"), first)
    again, again_model = recorded(steps=5, truncation="chunked:2")     # recorded anew, same values
    viz.render_svg(viz.to_dot(viz.to_networkx(again, again_model, level="step"), highlight="W1"),
                   second)
    assert first.read_bytes() == second.read_bytes()
    assert viz.to_dot(graph, highlight="W1").source == viz.to_dot(graph, highlight="W1").source


@pytest.mark.parametrize("name", ['<b>"x"</b>', 'a\\nb \\N & <script>', "</text><g>"])
def test_names_cannot_break_or_inject_into_the_svg(name):
    w = tg.Tensor(np.ones((2, 2)), requires_grad=True, name=name)
    with tg.step(1):
        y = (tg.Tensor(np.ones((1, 2))).annotate(role="input", name="x[1]") @ w).tanh()
        loss = y.sum().annotate(role="loss", name="R[1]")
    for level in ("step", "op"):
        dot = viz.to_dot(viz.to_networkx(loss, level=level), level=level, highlight=name)
        root = parse(viz.to_svg(dot))                                   # well-formed XML
        assert name in texts(root)                                       # shown literally
        assert not any(el.tag in (SVG + "b", SVG + "script") for el in root.iter())
        assert len(groups(root, "edge", "highlighted")) >= 1


def test_edge_width_follows_the_gradient_norm():
    root, _ = picture("full", steps=5, edge_width=True)
    widths = {float(next(edge.iter(SVG + "path")).get("stroke-width", 1))
              for edge in groups(root, "edge")}
    assert len(widths) > 3


def test_a_wider_edge_has_a_larger_gradient_at_its_head():
    loss, model = recorded(steps=5, truncation="full", retain=True)
    graph = viz.to_networkx(loss, model, level="step")
    dot = viz.to_dot(graph, edge_width=True)
    node_of = {f"n{i}": node for i, node in enumerate(graph.nodes)}  # to_dot's names: none elided
    pairs = []
    for line in dot.body:
        edge = re.match(r"\s*(n\d+) -> (n\d+) .*penwidth=([\d.]+)", line)
        norm = edge and graph.nodes[node_of[edge[2]]]["grad_norm"]
        if norm:
            pairs.append((norm, float(edge[3])))
    widths = [width for _, width in sorted(pairs)]
    assert len(set(widths)) > 3 and widths == sorted(widths)


def test_notebooks_display_the_returned_objects():
    loss, model = recorded(steps=3, truncation="elman")
    graph = viz.to_networkx(loss, model, level="step")
    assert isinstance(graph, viz.UnrolledGraph)
    parse(graph._repr_svg_())
    bundle = viz.to_dot(graph, highlight="W1")._repr_mimebundle_()
    root = parse(bundle["image/svg+xml"])
    assert len(groups(root, "edge", "truncated")) == 2


def test_unknown_highlight_and_level_errors():
    loss, model = recorded(steps=2)
    graph = viz.to_networkx(loss, model, level="step")
    with pytest.raises(viz.VizError, match="W1, Wm, b1"):
        viz.to_dot(graph, highlight="W9")
    with pytest.raises(viz.VizError, match="level"):
        viz.to_dot(graph, level="op")
    op_graph = viz.to_networkx(loss, model, level="op")
    assert "cluster_t2" in viz.to_dot(op_graph).source                       # drawn by step


def test_a_set_of_highlighted_weights_draws_the_same_dot_text_in_every_run():
    """A set's order follows string hashing, which changes from process to process; the
    weights' colours follow their order, so a set is read sorted."""
    script = ("import viz; from viz_problems import recorded; loss, model = recorded(); "
              "G = viz.to_networkx(loss, model, level='step'); "
              "print(viz.to_dot(G, highlight={'W1', 'Wm', 'W2', 'b1'}))")
    tests = str(Path(__file__).resolve().parent)
    texts = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, cwd=tests, env={**os.environ, "PYTHONHASHSEED": seed}
                            ).stdout for seed in ("0", "1", "2", "3")}
    assert len(texts) == 1
    G = viz.to_networkx(*recorded(), level="step")
    assert texts.pop().strip() == str(viz.to_dot(G, highlight=["W1", "W2", "Wm", "b1"])).strip()
