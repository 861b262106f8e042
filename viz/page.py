"""The explorer: one self-contained HTML page that shows where each loss term's gradient flows.

    page = viz.explore(model, xs, vs)        # full, elman, chunked(k), window(h) on one input
    viz.render_html(page, "explorer.html")   # open it from disk: no network, no server
    page                                     # in Jupyter: the page itself, inline

    page = viz.to_html(R, model, label="elman")                   # a loss you recorded
    page = viz.to_html({"full": R_full, "window(3)": R_w}, model)  # several, one model

The page holds the step-level graph (the Graphviz layout of viz.to_dot, inline SVG), a little
JavaScript and CSS (page_assets/) and the numbers page_data.py computes from the recordings:
for every policy and every loss term R[t], the nodes and edges its gradient flows through,
the edges where it stops, |dR[t]/dnode| and dR[t]/dW by lag next to full BPTT. Click R[t]
(or use the slider, or the left and right arrow keys), switch the policy (R[t] stays
selected), play the backward pass one step at a time, hover a node for its numbers. The URL
fragment selects: page.html#R[6]&policy=window(3).

Contract for other tools: every node and edge keeps Graphviz's <title>, the name to_networkx
gives it ("h[4]", "R[6]"; an edge "h[3]->h[4]"; characters XML cannot hold written as escapes,
\x01, as in the labels); with a term selected each has the class `reached` or `unreached`,
and the edges where its gradient stops also `dropped`.

Long sequences are drawn whole and scroll sideways (selecting R[t] scrolls it into view): the
layout of T = 1000 steps takes dot about a second, and eliding would hide the very steps a
window reaches. The page weighs about 1.5 MB at T = 200 and 10 MB at T = 1000 (its SVG is
most of it; benchmarks/bench_page.py measures size and speed).
"""
import html
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from tinygrad_rnn.files import as_path, write_atomically

from .display import to_networkx
from .dot import to_dot
from .errors import VizError, distinct_labels, optional_text, utf8_bytes, whole_number
from .page_data import explorer_payload, numbering, terms_of
from .policies import record_policies
from .render import to_svg
from .style import SVG_FONT_FAMILY, visible
from .term_gradients import TermReplay

ASSETS = Path(__file__).resolve().parent / "page_assets"
SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
MAX_LAGS = 30          # lags shown one by one; older ones are summed into one bar
NOTEBOOK_HEIGHT = 680  # pixels of the frame a notebook shows the page in


@dataclass
class Page:
    """An explorer page: its HTML text, and the step-level graph of each recording by label."""
    html: str
    graphs: dict = field(repr=False)
    title: str = ""

    def __str__(self):
        return self.html

    @property
    def size(self):
        """Bytes of the page as written (UTF-8)."""
        return len(self.html.encode("utf-8"))

    def _repr_html_(self):
        """The page in its own frame, so that its script and styles stay out of the notebook."""
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'title="{html.escape(visible(self.title), quote=True)}" sandbox="allow-scripts" '
                f'style="width: 100%; height: {NOTEBOOK_HEIGHT}px; border: 1px solid #ddd">'
                f'</iframe>')


def explore(model, xs, vs, policies=None, loss="mse", *, title=None, highlight=None,
            max_lags=MAX_LAGS):
    """The Page of one model on one input under several truncations.

    xs: (T, B, N) inputs, vs: (T, B, O) targets, loss as tg.nn.sequence_loss. policies:
    default full, elman, chunked(k) and window(k) with k = round(sqrt(T)), at least 2 (T = 8:
    3, T = 200: 14): the same k for both, so that the staircase of chunked(k) (R[t] reaches
    back 1..k steps) is seen next to the band of window(k) (always k steps); as many chunks
    as steps per chunk; and window(k) runs k copies of the recurrence, so k grows slowly.
    Full BPTT, next to which every policy's numbers are shown, is computed once.
    Cost: one backward per loss term and policy, O(T^2) for full BPTT (seconds at T = 200,
    a minute or more at T = 1000; benchmarks/bench_page.py).

    >>> page = viz.explore(tg.nn.Elman(2, 3, 1, seed=0), xs, vs)      # xs (T, B, 2)
    >>> viz.render_html(page, "explorer.html")
    """
    optional_text("explore", "title", title)
    roots = record_policies(model, xs, vs, policies, loss)
    for label, root in roots.items():   # the page shows numbers: NaN targets would fill it
        if not math.isfinite(float(root)):
            raise VizError(f"explore: the loss under {label} is {float(root)}, and every "
                           f"number the page shows would be NaN or Inf too (NaN or Inf in the "
                           f"targets, or a loss that overflows)")
    if not title:                       # None or "" (as to_html): the default
        title = f"{type(model).__name__}, T = {len(xs)}: where each R[t]'s gradient flows"
    return _page(roots, model, title, highlight, max_lags, one_input=True)


def to_html(recordings, params=None, *, label="recorded", title=None, highlight=None,
            max_lags=MAX_LAGS):
    """The Page of one recorded loss, or of several recordings of one model.

    recordings: a scalar loss Tensor R (before or after backward; shown under `label`), or
                {label: R} ("elman": R_elman, ...), each recorded from the same model.
    params:     {name: Tensor}, (name, Tensor) pairs or a Module: names the weights.
    highlight:  a weight whose edges are coloured, as in to_dot ("W1").
    max_lags:   lags shown one by one in the dR/dW panel; older ones are summed in one bar.
    Full BPTT, next to which each recording's numbers are shown, is computed from that
    recording itself (its cuts replayed as the identity).
    """
    optional_text("to_html", "title", title)
    if not hasattr(recordings, "items"):            # one recorded loss
        if not isinstance(label, str):
            raise VizError(f"to_html: label must be a str, got {label!r} "
                           f"({type(label).__name__})")
        recordings = {label: recordings}
    return _page(recordings, params, title or "where each R[t]'s gradient flows", highlight,
                 max_lags, one_input=False)


def render_html(page, path):
    """Write a Page (or HTML text) to `path` atomically, as UTF-8; returns the path.

    >>> render_html(viz.explore(model, xs, vs), "explorer.html")
    """
    path = as_path(path, "render_html")
    text = page.html if isinstance(page, Page) else page
    if not isinstance(text, str):
        raise VizError(f"render_html: expected a viz.Page or HTML text, got "
                       f"{type(page).__name__}")
    return write_atomically(utf8_bytes("render_html", "the HTML text", text), path)


def _page(roots, params, title, highlight, max_lags, one_input):
    if not hasattr(roots, "items") or not roots:
        raise VizError(f"to_html: expected a loss Tensor or a non-empty {{label: Tensor}} "
                       f"mapping, got {type(roots).__name__}")
    max_lags = whole_number("to_html", "max_lags", max_lags)
    for name, root in roots.items():
        size = getattr(getattr(root, "data", None), "size", None)
        if size != 1 or not hasattr(root, "parents"):
            what = getattr(root, "shape", None) if size is not None else type(root).__name__
            raise VizError(f"to_html: the recording {str(name)!r} must be a scalar loss "
                           f"Tensor, got {what}")
    labels, roots = distinct_labels("to_html", roots), list(roots.values())
    graphs = [to_networkx(root, params, level="step") for root in roots]
    _check_one_model(labels, graphs)
    terms = terms_of(graphs)
    if not terms:
        raise VizError("to_html: no loss term R[t] that belongs to a time step (the losses "
                       "of tg.nn.sequence_loss and tg.nn.loss_terms have them)")
    for label, graph in zip(labels, graphs):
        if [t for t in graph.graph["loss_terms"] if graph.nodes[t]["step"] is not None] != terms:
            raise VizError(f"to_html: the recordings must be of one model on one sequence; "
                           f"{label!r} has the loss terms {graph.graph['loss_terms']}, the page "
                           f"{terms}")
    replays = [TermReplay(root, params, graph) for root, graph in zip(roots, graphs)]

    def full_bptt(i):           # a recording without cuts is its own full BPTT
        if not _has_cuts(graphs[i]):
            return replays[i]
        return TermReplay(roots[i], params, graphs[i], keep_cuts=False)

    if one_input:               # one model on one input: full BPTT computed once for all
        uncut = [i for i, graph in enumerate(graphs) if not _has_cuts(graph)]
        references = [full_bptt(uncut[0] if uncut else 0)] * len(roots)
    else:
        references = [full_bptt(i) for i in range(len(roots))]
    entries = list(zip(labels, graphs, replays, references))
    layout = _layout(graphs)
    # R[t] reaches back t - 1 steps at most: lags past T are empty, so never more buckets
    max_lags = min(max_lags, max(1, layout.graph["steps"]))
    numbers = numbering(layout)
    payload = explorer_payload(entries, layout, numbers, terms, max_lags)
    payload["title"] = title
    svg = _page_svg(layout, numbers, highlight)
    return Page(_assemble(title, svg, payload), dict(zip(labels, graphs)), title)


def _check_one_model(labels, graphs):
    """A VizError unless every recording has the first one's weights, of the same shapes."""
    def weights(graph):
        return {p: tuple(graph.nodes[p]["shape"]) for p in graph.graph["parameters"]}
    first = weights(graphs[0])
    for label, graph in zip(labels[1:], graphs[1:]):
        if weights(graph) != first:
            raise VizError(f"to_html: the recordings must be of one model; {labels[0]!r} has "
                           f"the weights {first}, {label!r} {weights(graph)}")


def _has_cuts(graph):
    return any(a["dropped"] or a["dropped_for"] for _, _, a in graph.edges(data=True))


def _layout(graphs):
    """One graph with every recording's nodes and edges, nothing dropped: the picture all
    policies share (their differences are classes the page's script sets)."""
    layout = nx.compose_all([g.copy() for g in reversed(graphs)])
    layout.graph.update(graphs[0].graph)
    for _, _, attrs in layout.edges(data=True):
        attrs.update(dropped=False, dropped_for=(), carries_gradient=True)
    return layout


def _page_svg(layout, numbers, highlight):
    """The inline SVG: to_dot's picture with every step drawn, titles set to the graph's
    names, and data-n / data-e attributes holding page_data's numbers."""
    steps = max(1, layout.graph["steps"])
    dot = to_dot(layout, highlight=highlight, max_steps=steps, legend=False)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(to_svg(dot))
    node_numbers, edge_numbers = numbers
    graph_node = {dot_name: node for node, dot_name in dot.names.items()}
    roots = set(layout.graph["roots"])
    for element in root.iter():          # what the page's CSS says once (a tenth of the bytes)
        if element.get("font-family") == SVG_FONT_FAMILY:
            del element.attrib["font-family"]
        if element.tag == f"{{{SVG_NS}}}g":
            element.attrib.pop("id", None)
    for group in root.iter(f"{{{SVG_NS}}}g"):
        classes = (group.get("class") or "").split()
        title = group.find(f"{{{SVG_NS}}}title")
        if title is None:
            continue
        if "node" in classes and title.text in graph_node:
            node = graph_node[title.text]
            title.text = visible(str(node))
            group.set("data-n", str(node_numbers[node]))
        elif "edge" in classes:
            tail, _, head = (title.text or "").partition("->")
            edge = (graph_node.get(tail), graph_node.get(head))
            if edge not in edge_numbers:
                edge = edge[::-1]            # drawn head -> tail (dir=back) to keep the rows
            if edge in edge_numbers:
                title.text = visible(f"{edge[0]}->{edge[1]}")
                group.set("data-e", str(edge_numbers[edge]))
                if edge[1] in roots:     # R[t] -> R: T edges into one node, drawn faint
                    group.set("class", group.get("class") + " into-root")
    return ET.tostring(root, encoding="unicode")


def _script_json(payload):
    """JSON that cannot end the <script> element it sits in, nor open a comment there."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _assemble(title, svg, payload):
    """The template with its <!--MARKER-->s filled in, in one pass: nothing put in is read
    again, so no name can smuggle a marker in."""
    parts = {"TITLE": html.escape(visible(title)), "CSS": (ASSETS / "page.css").read_text("utf-8"),
             "SVG": svg, "DATA": _script_json(payload),
             "SCRIPT": (ASSETS / "page.js").read_text("utf-8")}
    template = (ASSETS / "page.html").read_text(encoding="utf-8")
    return re.sub(r"<!--([A-Z]+)-->", lambda marker: parts[marker[1]], template)
