"""The visualizer tried as an adversary would: hostile names give well-formed SVG that shows
them literally, wrong arguments are typed errors naming what was given, elision never draws
more than max_steps, a `dot` that exits 0 without a picture never replaces a good file, and
the explorer page opened with a fragment that names nothing says so in one short line."""
import numpy as np
import pytest
from browser import Watched, chromium, require_browser
from page_helpers import payload, svg_root, titled
from viz_problems import data, groups, make_model, parse, recorded, texts, two_steps_by_hand

import tinygrad_rnn as tg
import viz
from tinygrad_rnn import nn
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


# --- the options of to_dot and the analyses: typed errors naming the argument and the value,
# numpy integers wherever Python ints go, switches that are True or False, never a truthy "no"

def test_to_dot_options_of_the_wrong_type_are_named():
    graph = viz.to_networkx(*recorded(steps=3))
    for options, phrase in [
        (dict(highlight=5), r"highlight must be a name or a list of names \(str\), got 5"),
        (dict(highlight=3.5), r"highlight must be a name or a list of names \(str\), got 3.5"),
        (dict(highlight=b"W1"), "highlight must be a name or a list of names"),
        (dict(highlight=[["W1"]]), r"highlight must be a name .*got \[\['W1'\]\]"),
        (dict(edge_width="no"), "edge_width must be True or False, got 'no'"),
        (dict(show_values="False"), "show_values must be True or False, got 'False'"),
        (dict(legend="no"), "legend must be True or False, got 'no'"),
        (dict(parameter_edges=None), "parameter_edges must be True or False, got None"),
        (dict(title=5), "title must be a str, got 5"),
        (dict(title=["a"]), r"title must be a str, got \['a'\]"),
        (dict(create_using=5), "create_using must be a graph type"),
    ]:
        with pytest.raises(viz.VizError, match=phrase):
            viz.to_dot(graph, **options)


def test_numpy_integers_and_bools_go_where_python_ones_do():
    graph = viz.to_networkx(*recorded(steps=6))
    assert viz.to_dot(graph, loss_term=np.int64(3)).source == \
        viz.to_dot(graph, loss_term="R[3]").source
    assert viz.to_dot(graph, max_steps=np.int64(2), keep_steps=np.int32(1)).counts[
        "drawn_steps"] == 2
    assert "legend" not in viz.to_dot(graph, legend=np.bool_(False)).source
    assert [repr(p) for p in viz.default_policies(np.int64(8))] == [
        "full", "elman", "chunked(3)", "window(3)"]
    assert viz.to_dot(graph, highlight=["W1", "W1"]).counts["highlighted"] == \
        viz.to_dot(graph, highlight="W1").counts["highlighted"] > 0


def test_edge_widths_of_nan_and_inf_gradients_are_drawable():
    """Widths by |gradient| on a log scale: the thinnest (0.6) for a NaN gradient, the
    thickest (5) for an infinite one, never penwidth="nan", which Graphviz cannot draw."""
    graph = viz.to_networkx(*recorded(steps=4, retain=True))
    graph.nodes["h[2]"]["grad_norm"], graph.nodes["h[3]"]["grad_norm"] = np.nan, np.inf
    dot = viz.to_dot(graph, edge_width=True)
    assert "nan" not in dot.source
    lines = {line.split("[")[0].strip(): line for line in dot.source.splitlines()}
    for t, width in ((2, "0.60"), (3, "5.00")):          # x[t] -> h[t]: h[t]'s gradient
        edge = f"{dot.names[f'x[{t}]']} -> {dot.names[f'h[{t}]']}"
        assert f"penwidth={width}" in lines[edge]
    assert parse(viz.to_svg(dot)) is not None


def test_retain_grads_takes_one_role_or_several():
    loss, _ = recorded(steps=4, backward=False)
    assert viz.retain_grads(loss, roles="state") == 4          # h[1..4], not 'in "state"'
    for roles in (None, 5, [1, 2]):
        with pytest.raises(viz.VizError, match="retain_grads: roles must be a name or a list"):
            viz.retain_grads(loss, roles=roles)


def test_one_tensor_named_twice_is_refused():
    loss, model = recorded(steps=2)
    with pytest.raises(viz.VizError, match="names one tensor twice: 'A' and 'B'"):
        viz.to_networkx(loss, [("A", model.W1), ("B", model.W1)])


def test_analyses_check_their_arguments():
    graph = viz.to_networkx(*recorded(steps=4, truncation="elman"))
    with pytest.raises(viz.VizError, match="truncated must be True or False, got 'no'"):
        viz.gradient_paths(graph, "R[4]", "W1", truncated="no")
    assert viz.path_counts(graph, parameters="W1").parameters == ["W1"]
    with pytest.raises(viz.VizError, match="parameters is empty"):
        viz.path_counts(graph, parameters=[])
    with pytest.raises(viz.VizError, match="parameters must be a name or a list of names"):
        viz.path_counts(graph, parameters=5)
    with pytest.raises(viz.VizError, match="roles must be a name or a list of names"):
        viz.state_gradient_norms(graph, roles=None)
    graph.add_edge("R[4]", "h[1]", dropped=False, dropped_for=())
    with pytest.raises(viz.VizError, match="has a cycle upstream of 'R\\[4\\]'"):
        viz.gradient_paths(graph, "R[4]", "W1")


def test_state_gradient_norms_of_a_model_without_state_says_so():
    loss, model = recorded("mlp", steps=3, retain=True)
    with pytest.raises(viz.VizError, match="no node of role cell or state.*without recurrence"):
        viz.state_gradient_norms(viz.to_networkx(loss, model))


@pytest.mark.parametrize("graph, given", [(None, "NoneType"), (np.ones(2), "ndarray")])
def test_term_reach_needs_a_graph(graph, given):
    with pytest.raises(VizTypeError, match=f"term_reach: expected a graph .*got {given}"):
        viz.term_reach(graph, "R[1]")
    with pytest.raises(viz.VizError, match="through_cuts must be True or False"):
        viz.term_reach(viz.to_networkx(*recorded(steps=2)), "R[1]", through_cuts="yes")


# --- recording under several policies, and the explorer page ---

@pytest.mark.parametrize("call, error, phrase", [
    (lambda m, xs, vs: viz.record_policies(m, None, vs), VizTypeError,
     "xs must be the \\(T, B, N\\) inputs, got NoneType"),
    (lambda m, xs, vs: viz.record_policies(m, xs[:0], vs[:0]), viz.VizError,
     "xs holds no time step"),
    (lambda m, xs, vs: viz.record_policies(m, xs, vs, policies=5), VizTypeError,
     "policies must be a list of policies or their spellings, got 5"),
    (lambda m, xs, vs: viz.record_policies(None, xs, vs), VizTypeError,
     "model must be a sequence model such as tg.nn.Elman, got NoneType"),
    (lambda m, xs, vs: viz.record_policies(nn.MLP([2, 3, 1], seed=0), xs, vs), VizTypeError,
     "the model \\(MLP\\) takes no truncation="),
    (lambda m, xs, vs: viz.explore(lambda x: x, xs, vs), VizTypeError, "takes no truncation="),
    (lambda m, xs, vs: viz.explore(m, xs, vs, title=5), viz.VizError, "title must be a str"),
])
def test_record_policies_and_explore_name_what_they_cannot_use(call, error, phrase):
    xs, vs = data(3)
    with pytest.raises(error, match=phrase):
        call(make_model(), xs, vs)


def test_one_policy_may_be_given_alone():
    xs, vs = data(3)
    assert list(viz.record_policies(make_model(), xs, vs, policies="elman")) == ["elman"]


def test_a_huge_max_lags_costs_no_more_than_t():
    """Lags past T are empty: max_lags is capped at T, so 10**8 neither hangs nor fills the
    memory, and the page is the one max_lags=T gives (numpy integers accepted)."""
    xs, vs = data(3)
    page = viz.explore(make_model(), xs, vs, policies=["elman"], max_lags=np.int64(10 ** 8))
    assert page.html == viz.explore(make_model(), xs, vs, policies=["elman"], max_lags=3).html


def test_recordings_must_have_their_own_labels_and_one_model():
    loss, model = recorded(steps=3)
    with pytest.raises(viz.VizError, match="two recordings are labelled '1'"):
        viz.to_html({1: loss, "1": loss}, model)
    with pytest.raises(viz.VizError, match="label must be a str, got None"):
        viz.to_html(loss, model, label=None)
    lstm_loss, _ = recorded(model=nn.LSTM(2, 3, 1, seed=0), steps=3)
    with pytest.raises(viz.VizError, match="must be of one model; 'elman' has the weights"):
        viz.to_html({"elman": loss, "lstm": lstm_loss})


@pytest.mark.parametrize("name, shown", [("W\x01\x1b", "W\\x01\\x1b"), ("W\ud800", "W\\ud800")])
def test_names_xml_cannot_hold_give_a_page_that_encodes(name, shown, tmp_path):
    """Titles in the page's SVG, its <title> and a notebook's frame show such characters as
    escapes, as the labels do, so that the SVG is well-formed XML and the page encodes as
    UTF-8."""
    w = tg.Tensor(np.full((2, 2), 0.3), requires_grad=True)
    terms = two_steps_by_hand(w)
    page = viz.to_html(terms[0] + terms[1], {name: w}, title=f"title {name}")
    path = viz.render_html(page, tmp_path / "page.html")
    assert path.read_bytes() == page.html.encode("utf-8")
    assert shown in titled(svg_root(page.html), "node")
    assert f"<title>title {shown}</title>" in page.html
    assert f'title="title {shown}"' in page._repr_html_()    # the notebook's frame
    assert payload(page.html)["parameters"] == [name]      # the data keeps the name itself


def test_render_html_refuses_text_utf8_cannot_encode(tmp_path):
    with pytest.raises(viz.VizError, match="holds '\\\\ud800' at position 3.*nothing was written"):
        viz.render_html("<p>\ud800</p>", tmp_path / "x.html")
    assert not list(tmp_path.iterdir())


# --- the reach matrix figure ---

def test_plot_reach_matrix_checks_columns_title_labels_and_the_path(tmp_path):
    pytest.importorskip("matplotlib")
    graph = viz.to_networkx(*recorded(steps=3))
    for options, phrase in [(dict(columns=0), "columns must be a positive integer, got 0"),
                            (dict(columns=2.0), "columns must be a positive integer, got 2.0"),
                            (dict(title=5), "title must be a str, got 5"),
                            (dict(path=tmp_path / "r.txt"), "name it .png, .svg or .pdf")]:
        with pytest.raises(viz.VizError, match=phrase):
            viz.plot_reach_matrix({"a": graph}, **options)
    with pytest.raises(viz.VizError, match="two recordings are labelled '1'"):
        viz.plot_reach_matrix({1: graph, "1": graph})
    assert len(viz.plot_reach_matrix({"a": graph, "b": graph}, columns=np.int64(1)).axes) == 2
    assert not list(tmp_path.iterdir())


def test_plot_reach_matrix_writes_the_format_its_path_names(tmp_path):
    """.svg gives SVG (not PNG bytes under that name), .PDF a PDF. Labels are shown as
    written: "$" is no TeX, control characters are escapes (the SVG stays XML); the same
    figure gives the same bytes."""
    pytest.importorskip("matplotlib")
    recordings = {"$\\frac$ a\x01": viz.to_networkx(*recorded(steps=3))}
    for name in ("1.svg", "2.svg", "3.PDF"):
        viz.plot_reach_matrix(recordings, path=tmp_path / name, title="$\\x$")
    svg = (tmp_path / "1.svg").read_bytes()
    assert svg.startswith(b"<?xml") and svg == (tmp_path / "2.svg").read_bytes()
    assert parse(svg) is not None and b"a\\x01" in svg
    assert (tmp_path / "3.PDF").read_bytes().startswith(b"%PDF")


# --- the explorer page opened with fragments that name nothing on it ---

@pytest.fixture(scope="module")
def browser():
    require_browser()
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    return viz.render_html(viz.explore(make_model(), *data(3)),
                           tmp_path_factory.mktemp("page") / "explorer.html")


BAD_FRAGMENTS = [
    ("#R[2]&policy=", "no recording under (an empty name) (it holds full, elman"),
    ("#" + "A" * 5000, "No loss term " + "A" * 60 + "\u2026 (5000 characters) on this page"),
    ("#%E0%A4%A&policy=%", "no recording under % (it holds"),
    ("#%3C%2Fscript%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
     "No loss term </script><img src=x onerror=alert(1)> on this page"),
]


def test_a_bad_fragment_is_said_in_a_short_line_never_thrown(browser, explorer):
    """The first fragment on opening the page (R[2] is selected, the empty policy name is
    said), the others as the fragment changes: each says what it cannot show, in a line of
    a few hundred characters at most, and R[2] stays selected."""
    tab = Watched(browser)
    try:
        page = tab.open(explorer, BAD_FRAGMENTS[0][0])
        for i, (fragment, said) in enumerate(BAD_FRAGMENTS):
            if i:
                page.evaluate("hash => { location.hash = hash; }", fragment)
                page.wait_for_function("said => document.getElementById('status')"
                                       ".textContent.includes(said)", arg=said, timeout=5000)
            status = page.text_content("#status")
            assert said in status and len(status) < 400, (fragment[:40], status[:200])
            assert page.get_attribute("#graph", "data-term") == "R[2]"
        tab.check()                            # no console error, no request of any kind
    finally:
        tab.close()
