"""Reading an explorer page back in tests: its JSON numbers decoded, its SVG parsed, and the
reach sets the page holds for each policy and term, by node and edge name."""
import base64
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
from viz_problems import SVG, classes

import viz
from tinygrad_rnn import nn


class _Scripts(HTMLParser):
    """The <script> elements of a page: (attributes, text)."""

    def __init__(self):
        super().__init__()
        self.scripts, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = (dict(attrs), [])

    def handle_data(self, text):
        if self._open is not None:
            self._open[1].append(text)

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append((self._open[0], "".join(self._open[1])))
            self._open = None


def scripts(html_text):
    parser = _Scripts()
    parser.feed(html_text)
    return parser.scripts


def payload(html_text):
    """The page's data, as the browser's JSON.parse would read it."""
    [data] = [text for attrs, text in scripts(html_text) if attrs.get("id") == "explorer-data"]
    return json.loads(data)


def floats(b64):
    return np.frombuffer(base64.b64decode(b64), dtype="<f4").astype(float)


def members(runs):
    return [start + k for start, length in zip(runs[::2], runs[1::2]) for k in range(length)]


def svg_root(html_text):
    """The inline SVG as XML."""
    start, end = html_text.index("<svg"), html_text.index("</svg>") + len("</svg>")
    return ET.fromstring(html_text[start:end])


def titled(root, kind):
    """{title: <g>} of the SVG's nodes or edges that carry page numbers."""
    attribute = "data-n" if kind == "node" else "data-e"
    return {g.find(SVG + "title").text: g for g in root.iter(SVG + "g")
            if kind in classes(g) and g.get(attribute) is not None}


class PageData:
    """The numbers of one page, by name."""

    def __init__(self, html_text):
        self.data = data = payload(html_text)
        self.nodes, self.edges = data["nodes"], [tuple(e) for e in data["edges"]]
        self.terms = [data["nodes"][n] for n in data["terms"]]
        self.policies = {p["name"]: p for p in data["policies"]}
        self.with_grad = set(members(data["requiresGrad"]))

    def edge_name(self, number):
        u, v = self.edges[number]
        return self.nodes[u], self.nodes[v]

    def reach(self, policy, term):
        """(reached nodes, reached edges, dropped edges) of a term, by name."""
        nodes, edges, dropped = self.policies[policy]["reach"][self.terms.index(term)]
        return ({self.nodes[n] for n in members(nodes)},
                {self.edge_name(e) for e in members(edges)},
                {self.edge_name(e) for e in members(dropped)})

    def term_norms(self, policy):
        """[{node: |dR[t]/dnode|}] by term, for the reached nodes that require grad."""
        p = self.policies[policy]
        values, at, out = floats(p["termNorms"]), 0, []
        for nodes, _, _ in p["reach"]:
            numbers = [n for n in members(nodes) if n in self.with_grad]
            out.append({self.nodes[n]: values[at + i] for i, n in enumerate(numbers)})
            at += len(numbers)
        assert at == len(values)
        return out

    def lags(self, table):
        """[[lag norms] by parameter] by row (term), summary (rows, parameters, 3), overall."""
        values, lengths = floats(table["values"]), table["lengths"]
        count = len(self.data["parameters"])
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
        rows = [values[offsets[i]:offsets[i + 1]] for i in range(len(lengths))]
        grouped = [rows[i:i + count] for i in range(0, len(rows), count)]
        summary = floats(table["summary"]).reshape(len(grouped), count, 3)
        return grouped, summary, floats(table["overall"]).reshape(len(grouped), 2)


def page_text(html_text):
    return re.sub(r"\s+", " ", html_text)


def engine_term(model, xs, vs, truncation, t):
    """|dR[t]/dnode| by step node and dR[t]/dW by parameter: a backward from R[t] alone."""
    model.zero_grad()
    ys, _ = model(xs, truncation=truncation)
    terms = nn.loss_terms(ys, vs)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    viz.retain_grads(total)
    terms[t - 1].backward()
    graph = viz.to_networkx(total, model, level="step")
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    model.zero_grad()
    return {n: a for n, a in graph.nodes(data="grad_norm") if a is not None}, grads
