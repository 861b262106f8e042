"""How the pictures look: colours by role (the lecture's green input, yellow hidden layer, red
output), edge styles, labels and the legend. dot.py decides *what* is drawn; this file, how.

Legend of the step-level picture (also drawn in it):
    green box      x[t], an input            yellow box   h[t] or s[t], the state / hidden layer
    red box        y[t], an output           grey box     R[t], a loss term; R their sum
    orange box     c[t], an LSTM's cell state (op level: light orange, the gates i, f, g, o)
    white box      a weight, shared by every step (outside the step columns)
    blue edge      carries the highlighted weight ("all blue edges represent W1")
    red dashed     dropped by the truncation: the gradient does not flow back along it
    light grey     (with loss_term) not reached by the gradient of R[t]: the steps before its
                   cut and the steps after t, nodes and edges alike
    dotted grey    to or from the "... N steps ..." node standing for the elided steps (red
                   dashed when every edge it stands for is dropped, light grey when the
                   loss term drawn reaches none of them)

The font is Verdana: Graphviz sizes every label with the metrics of the font it names, and of
the families it has metrics for, Verdana is the widest sans-serif. Where Verdana is missing
(most Linux systems) fontconfig draws it with DejaVu Sans, whose letters are a little narrower,
so labels and the legend fit in both; a font Graphviz has no metrics for (a list, a bold
variant) would be sized as Times and overflow.
"""
import re

import graphviz

from .steps import KEY_ROLES

FONT = "Verdana"
# what an SVG names in FONT's place: the font Graphviz measured, then those that draw it where
# it is missing (none wider), then the generic family; Chromium falls back to a serif font
# for a lone family it does not have, fontconfig's substitution notwithstanding
SVG_FONT_FAMILY = "Verdana,DejaVu Sans,Bitstream Vera Sans,sans-serif"
FILL = {
    "input": "#c8e6c9", "state": "#fff59d", "hidden": "#fff9c4", "output": "#ffcdd2",
    "loss": "#e0e0e0", "parameter": "#ffffff", "op": "#f5f5f5", "cut": "#ffffff",
    "constant": "#fafafa", "cell": "#ffcc80", "gate": "#ffe0b2",
}
HIGHLIGHT_COLOURS = ["#1f5fd6", "#e07b00", "#2e9e44", "#8e44ad", "#00838f"]
TRUNCATED = "#d62728"
UNREACHED = "#c8c8c8"
UNREACHED_FILL = "#f4f4f4"
UNREACHED_TEXT = "#9e9e9e"
PLAIN_EDGE = "#555555"
ELIDED = "#9e9e9e"

GRAPH_ATTRS = dict(rankdir="BT", newrank="true", nodesep="0.3", ranksep="0.4",
                   fontname=FONT, fontsize="12", labelloc="t")
NODE_ATTRS = dict(fontname=FONT, fontsize="12", style="filled", fillcolor="#ffffff",
                  color="#444444", penwidth="1")
EDGE_ATTRS = dict(fontname=FONT, fontsize="10", color=PLAIN_EDGE, arrowsize="0.7")


# characters XML 1.0 cannot hold (control characters but tab, newline and carriage return;
# lone surrogates; U+FFFE and U+FFFF): a label shows them as Python writes them, \x1b
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def svg_font_families(svg):
    """The SVG bytes with the font list in place of the one font Graphviz writes."""
    named, listed = f'font-family="{FONT}"', f'font-family="{SVG_FONT_FAMILY}"'
    return svg.replace(named.encode(), listed.encode())


def text(*lines):
    """A DOT label from plain text lines, shown literally whatever they hold: backslashes,
    <...> and entities (&lt;) lose their meaning, quotes are quoted by graphviz, and characters
    XML cannot hold are written as escapes (\\x01), so the SVG stays well-formed."""
    return graphviz.nohtml("\\n".join(graphviz.escape(_literal(str(line))) for line in lines))


def visible(line):
    """`line` with the characters XML cannot hold written as Python writes them (\\x01,
    \\ud800): what an SVG or HTML page can carry, and UTF-8 can encode."""
    return NOT_XML.sub(lambda found: found[0].encode("unicode_escape").decode("ascii"), line)


def _literal(line):
    """Graphviz reads &name; in a label as an entity: &amp; keeps the ampersand itself."""
    return visible(line).replace("&", "&amp;")


def number(value):
    return "-" if value is None else f"{value:.3g}"


def node_style(attrs, level, highlighted_colour=None, show_values=False):
    """Graphviz attributes of one node (label, shape, colours, class)."""
    role, name = attrs["role"], attrs["name"]
    if attrs["parameter"]:
        lines = [name, str(tuple(attrs["shape"]))]
    elif level == "op":
        lines = [name, attrs["op"]] if name else [attrs["op"]]
        lines.append(str(tuple(attrs["shape"])))
    else:
        lines = [name if name is not None else role]
    if show_values:
        lines.append(f"|v| {number(attrs['value_norm'])}  |g| {number(attrs['grad_norm'])}")
    style = dict(label=text(*lines), shape="box", fillcolor=FILL.get(role, "#ffffff"),
                 **{"class": role})
    if role in KEY_ROLES:
        style["style"] = "rounded,filled"
    if level == "op" and role in ("op", "constant"):
        style.update(shape="ellipse", fontsize="10")
    if role == "cut":
        style.update(shape="octagon", color=TRUNCATED, fontcolor=TRUNCATED)
    if highlighted_colour:
        style.update(color=highlighted_colour, penwidth="2.2")
        style["class"] += " highlighted"
    return style


def unreached_node():
    """A node the gradient of the loss term in focus does not reach: greyed out."""
    return dict(fillcolor=UNREACHED_FILL, color=UNREACHED, fontcolor=UNREACHED_TEXT,
                penwidth="1")


def reference_style(attrs, highlighted_colour=None):
    """A weight's stand-in inside a step's cluster (op level): the same weight, used here."""
    style = dict(label=text(attrs["name"]), shape="box", style="dashed", fontsize="10",
                 color=highlighted_colour or "#757575", **{"class": "parameter-use"})
    if highlighted_colour:
        style.update(penwidth="2", fontcolor=highlighted_colour)
    return style


def edge_style(classes, colour=None, width=None):
    """Graphviz attributes of one edge; `classes` end up in the SVG's class attribute."""
    style = {"class": " ".join(classes)}
    if "truncated" in classes:
        style.update(color=TRUNCATED, style="dashed", penwidth="1.6",
                     tooltip="dropped by the truncation: no gradient flows back along this edge")
    elif "unreached" in classes:
        style.update(color=colour + "60" if colour else UNREACHED)   # faded: alpha 0x60
    elif colour:
        style.update(color=colour, penwidth="2.2")
    if "elided" in classes and "truncated" not in classes:
        style.update(style="dotted")
        style.setdefault("color", ELIDED)
    if width is not None:
        style["penwidth"] = f"{width:.2f}"
    if "recurrent" in classes or "elided" in classes:
        style["constraint"] = "false"     # rows come from roles, columns from steps
    return style


def legend_label(highlight_colours, truncated, focus=None, elided=0, hidden_truncated=0,
                 cut_per_term=0):
    """An HTML-like table for the legend node. It holds no user text (names go in plain,
    escaped labels: in HTML labels Graphviz would still expand \\N and friends), so the
    highlighted weight is named by the box of its colour in "shared weights", and the loss
    term in focus by its thick border (focus: None without one, else (its step,))."""
    rows = [_legend_row(f'<font color="{colour}"><b>&#8212;&#8212;&gt;</b></font>',
                        "carries the weight boxed in this colour (the same at every step)")
            for colour in dict.fromkeys(highlight_colours.values())]
    rows.append(_legend_row(f'<font color="{TRUNCATED}">- - -&gt;</font>',
                            f"dropped by the truncation: the gradient does not flow back "
                            f"({truncated} drawn)"))
    if focus is not None:
        after = "its step" if focus[0] is None else f"step {int(focus[0])}"
        rows.append(_legend_row(f'<font color="{UNREACHED}"><b>&#8212;&#8212;&gt;</b></font>',
                                "grey: not reached by the gradient of the loss term drawn with "
                                "the thick border:"))
        rows.append(_legend_row("", f"the steps before its cut and the steps after {after} "
                                    f"alike"))
    elif cut_per_term:
        rows.append(_legend_row(f'<font color="{TRUNCATED}">?</font>',
                                f"this truncation cuts in another place for each loss term "
                                f"({cut_per_term} edges are cut for some terms only)"))
        rows.append(_legend_row("", "draw one term: loss_term=t (--loss-term t); all of them: "
                                    "viz.to_html, viz.plot_reach_matrix"))
    if elided:
        rows.append(_legend_row(f'<font color="{ELIDED}">. . .&gt;</font>',
                                f"{elided} steps not drawn ({hidden_truncated} dropped edges "
                                f"among them)"))
    return "<" + '<table border="0" cellborder="0" cellspacing="2">' + "".join(rows) + "</table>>"


def _legend_row(symbol, explanation):
    return f'<tr><td align="left">{symbol}</td><td align="left">{explanation}</td></tr>'
