"""The static picture's loss-term focus, legend and fonts: with loss_term=t every node and
edge R[t]'s gradient does not flow through is grey (the steps before its cut and after t),
the legend says so, a window(h) picture without a term says its cut differs per term, the
legend and the weights sit below the graph, and the font is one Graphviz has metrics for."""
import subprocess

import pytest
from viz_problems import SVG, classes, groups, parse, recorded

import viz
from viz import style
from viz.reach import blocked_edges, term_reach


def drawn(truncation, steps, **options):
    loss, model = recorded(steps=steps, truncation=truncation)
    graph = viz.to_networkx(loss, model, level="step")
    dot = viz.to_dot(graph, **options)
    return graph, dot, parse(viz.to_svg(dot))


def label(group):
    text = group.find(SVG + "text")
    return None if text is None else "".join(text.itertext())


def legend_text(root):
    return " ".join("".join(t.itertext()) for g in groups(root, "node", "legend")
                    for t in g.iter(SVG + "text"))


@pytest.mark.parametrize("truncation, term", [("window:3", 6), ("chunked:3", 5), ("full", 3),
                                              ("elman", 4)])
def test_a_loss_term_greys_out_everything_its_gradient_does_not_reach(truncation, term):
    graph, dot, root = drawn(truncation, 8, loss_term=term)
    reached, _ = term_reach(graph, f"R[{term}]")
    node_of = {dot.names[n]: n for n in dot.names}
    for group in groups(root, "node"):
        name = node_of.get(group.find(SVG + "title").text)
        if name is None:
            continue                                        # the legend
        assert ("unreached" in classes(group)) == (name not in reached), name
        if name in reached:
            continue
        shape = group.find(SVG + "path")
        assert shape.get("fill") == style.UNREACHED_FILL
    later = [label(g) for g in groups(root, "node", "unreached")]
    assert f"h[{term + 1}]" in later and f"R[{term + 1}]" in later        # after t: grey too
    stops = blocked_edges(graph, f"R[{term}]")
    assert len(groups(root, "edge", "truncated")) == len(stops) == dot.counts["truncated"]
    assert "grey: not reached" in legend_text(root) and f"after step {term}" in legend_text(root)


def test_a_window_picture_without_a_term_says_its_cut_differs_per_term():
    _, dot, root = drawn("window:3", 7)
    assert dot.counts["truncated"] == 0 and dot.counts["cut_per_term"] == 4
    assert "cuts in another place for each loss term" in legend_text(root)
    assert "--loss-term" in legend_text(root) and "plot_reach_matrix" in legend_text(root)
    for truncation in ("elman", "chunked:2", "full"):
        assert "another place" not in legend_text(drawn(truncation, 7)[2])


def positions(root):
    found = {}
    for group in groups(root, "node"):
        for text in group.iter(SVG + "text"):
            found.setdefault(label(group), []).append(float(text.get("y")))
    return found


@pytest.mark.parametrize("steps", [2, 7])
def test_the_weights_and_the_legend_sit_below_the_graph(steps):
    _, _, root = drawn("elman", steps, highlight="W1")
    y = positions(root)
    lowest_step = max(y[f"x[{t}]"][0] for t in range(1, steps + 1))      # SVG y grows down
    weights = [y[w][0] for w in ("W1", "Wm", "b1", "W2", "b2")]
    legend = [t for g in groups(root, "node", "legend") for t in
              (float(e.get("y")) for e in g.iter(SVG + "text"))]
    assert min(weights) > lowest_step
    assert min(legend) > max(weights)


def test_width_grows_with_t_only():
    for steps in (12, 20):
        _, _, with_legend = drawn("window:3", steps, highlight="W1")
        _, _, without = drawn("window:3", steps, highlight="W1", legend=False)
        assert with_legend.get("width") == without.get("width")


def test_the_font_is_one_graphviz_has_metrics_for():
    _, dot, root = drawn("window:3", 4, loss_term=3, title="T = 4")
    families = {t.get("font-family") for t in root.iter(SVG + "text")}
    assert families == {style.SVG_FONT_FAMILY}
    assert "Bold" not in dot.source
    done = subprocess.run([viz.find_dot(), "-Tsvg"], input=dot.source.encode(),
                          capture_output=True, check=True)
    assert b"no hard-coded metrics" not in done.stderr, done.stderr
