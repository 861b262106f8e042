"""The explorer page and the static SVG in a real browser (Chromium, see browser.py).

Pages made by viz.explore are opened from file://; terms are picked by the URL fragment, by
clicking R[t], by the arrow keys and the slider; policies are switched; the backward pass is
played. After each, the classes of every node and edge are compared with the recorded graph
(networkx ancestors of R[t] in analysis.truncated_view, dropped_for): never with the page's
own numbers. No console error and no network request are allowed anywhere. The legend of the
static SVG must fit inside the picture in Chromium and in rsvg-convert, drawn in DejaVu Sans.
"""
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest
from browser import REQUIRED, Watched, chromium, require_browser
from page_helpers import engine_term
from viz_problems import SVG, data, make_model, recorded, two_steps_by_hand

import viz
from tinygrad_rnn_cli.command_line import main
from tinygrad_rnn_cli.problem import build
from viz import style
from viz.analysis import truncated_view

CLASSES = """kind => Object.fromEntries(Array.from(
    document.querySelectorAll(kind === 'node' ? 'g.node[data-n]' : 'g.edge[data-e]'),
    g => [g.querySelector('title').textContent, Array.from(g.classList)]))"""


@pytest.fixture(scope="module")
def browser():
    require_browser()
    with chromium() as browser:
        yield browser


@pytest.fixture
def watched(browser):
    tab = Watched(browser)
    yield tab
    tab.check()
    tab.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{T or "jordan": (path, page, model, xs, vs)} explored under the default policies."""
    folder, made = tmp_path_factory.mktemp("pages"), {}
    for kind, steps in (("elman", 5), ("elman", 9), ("jordan", 6)):
        model = make_model(kind)
        xs, vs = data(steps)
        page = viz.explore(model, xs, vs)
        key = steps if kind == "elman" else kind
        made[key] = (viz.render_html(page, folder / f"{kind}{steps}.html"), page, model, xs, vs)
    return made


def oracle(graph, term):
    """(reached nodes, reached edges, dropped edges) from networkx over the recorded graph."""
    view = truncated_view(graph, term)
    region = nx.ancestors(view, term) | {term}
    edges = {f"{u}->{v}" for u, v in view.edges if u in region and v in region}
    dropped = {f"{u}->{v}" for u, v, terms in graph.edges(data="dropped_for")
               if term in terms and v in region}
    return region, edges, dropped


def assert_shows(tab, graph, term):
    nodes, edges = tab.evaluate(CLASSES, "node"), tab.evaluate(CLASSES, "edge")
    region, reached_edges, dropped = oracle(graph, term)
    assert set(nodes) == set(graph.nodes)
    for name, classes in nodes.items():
        assert ("reached" in classes) == (name in region) != ("unreached" in classes), name
    for name, classes in edges.items():
        assert ("reached" in classes) == (name in reached_edges) != ("unreached" in classes), \
            name
        assert ("dropped" in classes) == (name in dropped), name
    assert "selected" in nodes[term]
    assert tab.get_attribute("#graph", "data-term") == term


def click_node(tab, name):
    number = tab.evaluate("""name => Array.from(document.querySelectorAll('g.node[data-n]'))
        .find(g => g.querySelector('title').textContent === name).getAttribute('data-n')""", name)
    tab.click(f'g.node[data-n="{number}"]')


@pytest.mark.parametrize("steps", [5, 9, "jordan"])
def test_the_fragment_selects_every_term_under_every_policy(watched, pages, steps):
    path, page, _, _, _ = pages[steps]
    steps = len(page.graphs["full"].graph["loss_terms"])
    tab = watched.open(path, "#R[2]&policy=elman")
    assert_shows(tab, page.graphs["elman"], "R[2]")
    for label, graph in page.graphs.items():
        for t in range(1, steps + 1):
            tab.evaluate("hash => { location.hash = hash; }", f"#R[{t}]&policy={label}")
            tab.wait_for_function("want => document.getElementById('graph').dataset.term + '|' "
                                  "+ document.getElementById('graph').dataset.policy === want",
                                  arg=f"R[{t}]|{label}")
            assert_shows(tab, graph, f"R[{t}]")


def test_a_page_the_command_line_wrote(watched, tmp_path):
    """render -o x.html: the default policies and the --truncation given, on the CLI's model."""
    path = tmp_path / "cli.html"
    assert main(["render", "--steps", "7", "--truncation", "window:4", "-o", str(path)]) == 0
    net, params, xs, vs = build("elman", 7)
    graphs = {label: viz.to_networkx(root, params)
              for label, root in viz.record_policies(net, xs, vs, ["window:4", "elman"]).items()}
    tab = watched.open(path, "#R[6]&policy=window(4)")
    assert_shows(tab, graphs["window(4)"], "R[6]")
    tab.evaluate("hash => { location.hash = hash; }", "#R[6]&policy=elman")
    tab.wait_for_function("() => document.getElementById('graph').dataset.policy === 'elman'")
    assert_shows(tab, graphs["elman"], "R[6]")


def test_click_keys_slider_and_policies(watched, pages):
    path, page, _, _, _ = pages[9]
    tab = watched.open(path)
    classes = tab.evaluate(CLASSES, "node")["h[3]"]            # nothing selected: no classes
    assert "reached" not in classes and "unreached" not in classes
    click_node(tab, "R[7]")
    assert_shows(tab, page.graphs["full"], "R[7]")
    assert tab.evaluate("location.hash") == "#R[7]&policy=full"
    for label in ("window(3)", "chunked(3)", "elman"):          # the term stays selected
        tab.check(f'input[name=policy][data-policy="{label}"]')
        assert_shows(tab, page.graphs[label], "R[7]")
    tab.keyboard.press("ArrowRight")
    assert_shows(tab, page.graphs["elman"], "R[8]")
    tab.keyboard.press("ArrowLeft")
    tab.keyboard.press("ArrowLeft")
    assert_shows(tab, page.graphs["elman"], "R[6]")
    tab.focus("#term")
    tab.keyboard.press("Home")
    assert tab.get_attribute("#graph", "data-term") == ""     # the slider's 0: the whole R
    tab.keyboard.press("ArrowRight")
    assert_shows(tab, page.graphs["elman"], "R[1]")
    tab.keyboard.press("Escape")
    nodes = tab.evaluate(CLASSES, "node")
    assert not any("reached" in c or "unreached" in c for c in nodes.values())
    dropped = {n for n, c in tab.evaluate(CLASSES, "edge").items() if "dropped" in c}
    assert dropped == {f"h[{t - 1}]->h[{t}]" for t in range(2, 10)}   # elman, whole loss


@pytest.mark.parametrize("label, term, frames", [("window(3)", 7, [7, 6, 5]),
                                                 ("chunked(3)", 6, [6, 5, 4]),
                                                 ("full", 3, [3, 2, 1, 0]),
                                                 ("elman", 5, [5])])
def test_stepping_walks_the_gradient_back_and_stops_at_the_cut(watched, pages, label, term,
                                                               frames):
    path, page, _, _, _ = pages[9]
    graph = page.graphs[label]
    tab = watched.open(path, f"#R[{term}]&policy={label}")
    region, _, dropped = oracle(graph, f"R[{term}]")
    for frontier in frames[:-1]:
        tab.click("#step")
        assert tab.get_attribute("#graph", "data-frontier") == str(frontier)
        nodes = tab.evaluate(CLASSES, "node")
        lit = {n for n, c in nodes.items() if "reached" in c}
        assert lit == {n for n in region if graph.nodes[n]["step"] is None
                       or graph.nodes[n]["step"] >= frontier}
        assert not any("dropped" in c for c in tab.evaluate(CLASSES, "edge").values())
    tab.click("#step")                                   # the last frame: where it stops
    assert tab.get_attribute("#graph", "data-frontier") == ""
    assert_shows(tab, graph, f"R[{term}]")
    if dropped:
        assert "stops at" in tab.text_content("#status")


def test_play_walks_the_same_steps_on_a_timer(watched, pages):
    path, page, _, _, _ = pages[9]
    tab = watched.open(path, "#R[8]&policy=chunked(3)")
    tab.evaluate("() => document.getElementById('graph').setAttribute('data-play-ms', '40')")
    seen = tab.evaluate("""() => new Promise(done => {
        const graph = document.getElementById('graph'), frames = [];
        new MutationObserver(() => {
          frames.push(graph.dataset.frontier);
          if (graph.dataset.frontier === '') done(frames);
        }).observe(graph, {attributes: true, attributeFilter: ['data-frontier']});
        document.getElementById('play').click(); })""")
    assert seen == ["8", ""]                    # chunk 7..9: step 8, then step 7 and the cut
    assert_shows(tab, page.graphs["chunked(3)"], "R[8]")


def test_hover_and_the_lag_panel_show_the_engines_numbers(watched, pages):
    path, page, model, xs, vs = pages[9]
    tab = watched.open(path, "#R[6]&policy=window(3)")
    norms, grads = engine_term(model, xs, vs, "window:3", 6)
    _, full_grads = engine_term(model, xs, vs, "full", 6)
    tab.hover('g.node[data-n] >> nth=0')                     # move the pointer somewhere first
    click_free = tab.evaluate("""() => Array.from(document.querySelectorAll('g.node[data-n]'))
        .find(g => g.querySelector('title').textContent === 'h[5]').getAttribute('data-n')""")
    tab.hover(f'g.node[data-n="{click_free}"]')
    text = tab.text_content("#hover")
    assert "h[5]" in text and "(1, 3)" in text and "|value|" in text
    shown = float(re.search(r"\|dR\[6\]/dh\[5\]\| (\S+)", text)[1])
    assert shown == pytest.approx(norms["h[5]"], rel=5e-3)
    rows = tab.eval_on_selector_all("#lag-table tr", "rows => rows.map(r => Array.from("
                                    "r.cells, c => c.textContent))")
    assert [r[0] for r in rows[1:]] == ["W1", "Wm", "b1", "W2", "b2", "all weights"]
    w1 = rows[1]
    assert float(w1[1]) == pytest.approx(np.linalg.norm(full_grads["W1"]), rel=5e-3)
    assert float(w1[2]) == pytest.approx(np.linalg.norm(grads["W1"]), rel=5e-3)
    kept = np.vdot(grads["W1"], full_grads["W1"]) / np.vdot(full_grads["W1"], full_grads["W1"])
    assert float(w1[3].rstrip("%")) == pytest.approx(100 * kept, abs=0.051)
    bars = tab.eval_on_selector_all("#lag-table tr:nth-child(2) rect.policy title",
                                    "ts => ts.map(t => t.textContent)")
    assert len(bars) >= 3 and bars[0].startswith("lag 0: window(3) ")


def test_a_fragment_naming_nothing_on_the_page_is_said_not_thrown(watched, pages):
    path, _, _, _, _ = pages[5]
    tab = watched.open(path, "#R[99]&policy=window(7)")
    status = tab.text_content("#status")
    assert "No loss term R[99]" in status and "no recording under window(7)" in status
    assert tab.get_attribute("#graph", "data-term") == ""


def test_hostile_names_show_literally(watched, tmp_path):
    import tinygrad_rnn as tg
    name = "</script><!--<b>W</b>"
    w = tg.Tensor(np.full((2, 2), 0.3), requires_grad=True, name=name)
    terms = two_steps_by_hand(w)
    page = viz.to_html(terms[0] + terms[1], {name: w}, label=name, title=name)
    tab = watched.open(viz.render_html(page, tmp_path / "names.html"), "#R[2]")
    assert tab.title() == name and tab.text_content("h1") == name
    assert name in tab.evaluate(CLASSES, "node")
    assert tab.text_content("#lag-table td.name") == name


def test_a_screenshot(watched, pages, tmp_path):
    path, _, _, _, _ = pages[9]
    tab = watched.open(path, "#R[7]&policy=window(3)")
    shot = tab.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


# ---- the static picture's legend: it must fit ---------------------------------------------
def legend_svgs(folder):
    """SVGs whose legend is wider than their graph (few steps), with the shipped font list and
    with DejaVu Sans forced (the font the legend used to overflow in)."""
    made = []
    for truncation, steps, options in (("elman", 2, {"highlight": "W1"}),
                                       ("window:3", 5, {"loss_term": 4}),
                                       ("window:3", 3, {})):
        loss, model = recorded(steps=steps, truncation=truncation)
        dot = viz.to_dot(viz.to_networkx(loss, model, level="step"), **options)
        svg = viz.to_svg(dot)
        for font in (None, "DejaVu Sans"):
            text = svg if font is None else svg.replace(style.SVG_FONT_FAMILY, font)
            path = folder / f"{truncation.replace(':', '')}{steps}_{font or 'list'}.svg"
            path.write_text(text)
            made.append(path)
    return made


def test_the_legend_fits_in_chromium(watched, tmp_path):
    for path in legend_svgs(tmp_path):
        tab = watched.open(path)
        overflow = tab.evaluate("""() => {
            const box = document.querySelector('svg').getBoundingClientRect();
            return Array.from(document.querySelectorAll('g.legend text, g.node text'))
              .map(t => [t.textContent, t.getBoundingClientRect()])
              .filter(([, r]) => r.right > box.right + 0.5 || r.left < box.left - 0.5)
              .map(([text]) => text); }""")
        assert overflow == [], path.name
        fonts = tab.evaluate("getComputedStyle(document.querySelector('g.legend text'))"
                             ".fontFamily")
        assert "DejaVu Sans" in fonts or "Verdana" in fonts


def ink_right_edge(png_path):
    """The rightmost column with a non-white pixel."""
    from PIL import Image
    pixels = np.asarray(Image.open(png_path).convert("L"))
    columns = np.nonzero((pixels < 250).any(axis=0))[0]
    return int(columns.max()) if len(columns) else -1


def test_the_legend_fits_in_rsvg_convert(tmp_path):
    converter = shutil.which("rsvg-convert")
    if converter is None:
        reason = "no rsvg-convert (Debian: apt-get install librsvg2-bin; .ci/run installs it)"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    pytest.importorskip("PIL")
    ET.register_namespace("", SVG[1:-1])
    for path in legend_svgs(tmp_path):
        root = ET.parse(path).getroot()
        width = float(root.get("width").rstrip("pt"))
        graph = next(g for g in root.iter(SVG + "g") if g.get("class") == "graph")
        for child in list(graph):       # only the legend's text, on a canvas 300 pt wider
            if child.tag != SVG + "g" or "legend" not in (child.get("class") or ""):
                graph.remove(child)
        root.set("width", f"{width + 300}pt")
        view = [float(v) for v in root.get("viewBox").split()]
        root.set("viewBox", " ".join(map(str, view[:2] + [view[2] + 300, view[3]])))
        legend_only = tmp_path / f"legend_{path.stem}.svg"
        ET.ElementTree(root).write(legend_only)
        png = tmp_path / f"{path.stem}.png"
        subprocess.run([converter, "--dpi-x", "72", "--dpi-y", "72", "-b", "white",
                        "-o", str(png), str(legend_only)], check=True)
        right = ink_right_edge(png)
        assert 0 < right <= width, (path.name, right, width)
