"""The visualizer tried as an adversary would: hostile names give well-formed SVG that shows
them literally, wrong arguments are typed errors naming what was given, elision never draws
more than max_steps, and a `dot` that exits 0 without a picture never replaces a good file."""
import numpy as np
import pytest
from viz_problems import groups, parse, recorded, texts

import tinygrad_rnn as tg
import viz
from viz.errors import VizTypeError


def graph_with_a_weight_named(name):
    w = tg.Tensor(np.ones((2, 2)), requires_grad=True, name=name)
    with tg.step(1):
        y = (tg.Tensor(np.ones((1, 2))).annotate(role="input", name="x[1]") @ w).tanh()
        return y.sum().annotate(role="loss", name="R[1]")


@pytest.mark.parametrize("name, shown", [
    ("ctl\x01", "ctl\\x01"),                  # XML 1.0 has no control characters ...
    ("\x1b[31mred", "\\x1b[31mred"),          # ... so they are written as Python escapes
    ("half\ud800pair", "half\\ud800pair"),    # a lone surrogate: not even UTF-8
    ("not\uffffa char", "not\\uffffa char"),
    ("&lt;b&gt;", "&lt;b&gt;"),               # an entity, shown as written, not as <b>
    ("&amp; &#65;", "&amp; &#65;"),
    ("tab\there", "tab\there"),               # what XML can hold stays as it is
])
@pytest.mark.parametrize("level", ["step", "op"])
def test_any_name_gives_well_formed_svg_that_shows_it_literally(name, shown, level):
    loss = graph_with_a_weight_named(name)
    dot = viz.to_dot(viz.to_networkx(loss, level=level), level=level, highlight=name,
                     title=f"title {name}")
    root = parse(viz.to_svg(dot))                                    # well-formed XML
    assert shown in texts(root) and f"title {shown}" in texts(root)
    assert len(groups(root, "edge", "highlighted")) >= 1


@pytest.mark.parametrize("root, given", [
    (None, "NoneType"), (np.ones(3), "ndarray"), ("R", "str"), ([], "an empty list"),
    ([tg.Tensor([1.0]), 3], "a list of int"), ((np.ones(2),), "a tuple of ndarray")])
@pytest.mark.parametrize("call", [
    lambda root: viz.to_networkx(root), lambda root: viz.retain_grads(root),
    lambda root: viz.to_dot(root), lambda root: viz.gradient_by_lag(root)])
def test_a_root_that_is_no_tensor_is_a_viz_type_error(call, root, given):
    with pytest.raises(VizTypeError, match=f"expected a recorded Tensor.*got {given}") as caught:
        call(root)
    assert isinstance(caught.value, viz.VizError) and isinstance(caught.value, TypeError)


ANALYSES = [lambda g: viz.path_counts(g), lambda g: viz.gradient_paths(g, "R[1]", "W1"),
            lambda g: viz.analysis.dropped_edges(g), lambda g: viz.state_gradient_norms(g),
            lambda g: viz.analysis.unreached_edges(g, "R[1]")]


@pytest.mark.parametrize("call", ANALYSES + [lambda g: viz.render_svg(g, "never.svg")])
@pytest.mark.parametrize("graph", [None, np.ones((2, 2)), tg.Tensor([1.0])])
def test_a_graph_that_is_no_graph_is_a_viz_type_error(call, graph, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(VizTypeError, match="expected"):
        call(graph)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("call", ANALYSES)
def test_analysis_needs_a_graph_from_to_networkx(call):
    with pytest.raises(VizTypeError, match="a graph from viz.to_networkx, got DiGraph"):
        call(__import__("networkx").DiGraph([("a", "b")]))


@pytest.mark.parametrize("params", [42, "W1", [1, 2], [("W1", np.ones(2))], {"W1": None},
                                    [("a", "b", "c")]])
def test_params_that_name_no_tensors_are_a_viz_type_error(params):
    loss, _ = recorded(steps=2)
    with pytest.raises(VizTypeError, match="params must be a Module, {name: Tensor} or"):
        viz.to_networkx(loss, params)


def test_gradient_by_lag_needs_one_scalar_loss():
    loss, _ = recorded(steps=2)
    with pytest.raises(viz.VizError, match="one scalar loss, got 2 roots"):
        viz.gradient_by_lag([loss, loss])
    with pytest.raises(viz.VizError, match=r"one scalar loss, got shape \(2,\)"):
        viz.gradient_by_lag(tg.Tensor([1.0, 2.0], requires_grad=True) * 2)


@pytest.mark.parametrize("options, phrase", [
    (dict(keep_steps=-1), "keep_steps must be a whole number >= 0, got -1"),
    (dict(max_steps=0), "max_steps must be a whole number >= 1, got 0"),
    (dict(max_steps=-5), "max_steps must be a whole number >= 1, got -5"),
    (dict(max_steps=2.5), "max_steps must be a whole number >= 1, got 2.5"),
    (dict(max_steps=True), "max_steps must be a whole number >= 1, got True"),
    (dict(keep_steps="3"), "keep_steps must be a whole number >= 0, got '3'"),
])
def test_elision_options_are_checked(options, phrase):
    loss, model = recorded(steps=3)
    with pytest.raises(viz.VizError, match=phrase):
        viz.to_dot(viz.to_networkx(loss, model), **options)


@pytest.mark.parametrize("max_steps", [1, 2, 3, 4, 5, 6, 7, 8])
def test_never_more_than_max_steps_are_drawn(max_steps):
    """First ceil(m/2) and last floor(m/2) steps (at most keep_steps=3 each) when elided."""
    steps = 8
    loss, model = recorded(steps=steps, truncation="elman")
    dot = viz.to_dot(viz.to_networkx(loss, model), max_steps=max_steps)
    drawn = min(steps, max_steps) if max_steps >= steps else \
        min(3, (max_steps + 1) // 2) + min(3, max_steps // 2)
    root = parse(viz.to_svg(dot))
    assert dot.counts["drawn_steps"] == len(groups(root, "cluster", "step")) == drawn
    assert dot.counts["elided_steps"] == steps - drawn
    assert len(groups(root, "node", "elided")) == (drawn < steps)
    first = [f"t = {t}" for t in range(1, min(3, (max_steps + 1) // 2) + 1)]
    assert all(label in texts(root) for label in first)


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """Make TINYGRAD_RNN_DOT a script that prints `output` and exits with `code`."""
    def make(output=b"", code=0):
        (tmp_path / "out.bin").write_bytes(output)
        script = tmp_path / "dot"
        script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'out.bin'}'\nexit {code}\n")
        script.chmod(0o755)
        monkeypatch.setenv("TINYGRAD_RNN_DOT", str(script))
    return make


@pytest.mark.parametrize("output, render, phrase", [
    (b"", viz.render_svg, "exited with 0 but wrote nothing"),
    (b"digraph {}", viz.render_svg, "not well-formed XML"),
    (b"<svg><g>", viz.render_svg, "not well-formed XML"),
    (b"<html/>", viz.render_svg, "root is <html>, not SVG's <svg>"),
    (b"", viz.render_png, "exited with 0 but wrote nothing"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", viz.render_png, "PNG's signature"),
])
def test_a_dot_that_succeeds_without_a_picture_replaces_nothing(tmp_path, fake_dot, output,
                                                                 render, phrase):
    target = tmp_path / "pictures" / "graph.out"
    target.parent.mkdir()
    target.write_bytes(b"the good picture")
    fake_dot(output)
    with pytest.raises(viz.RenderError, match=phrase):
        render("digraph { a -> b }", target)
    assert target.read_bytes() == b"the good picture"
    assert [p.name for p in target.parent.iterdir()] == ["graph.out"]    # no temporary left


def test_render_png_writes_a_png(tmp_path):
    loss, model = recorded(steps=3, truncation="elman")
    path = viz.render_png(viz.to_dot(viz.to_networkx(loss, model)), tmp_path / "elman.png")
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 300 and height > 100                   # three step columns and a legend
    assert viz.to_dot(viz.to_networkx(loss, model))._repr_image_png() == png
