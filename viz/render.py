"""DOT -> SVG or PNG with a `dot`-compatible executable, checked, then written atomically.

The executable, in order of preference:
  1. $TINYGRAD_RNN_DOT, when set (a path or a command name);
  2. `graphviz-pure` next to the running Python (the venv's bin/ or Scripts/, where
     `pip install graphviz-pure` puts it), then on PATH: a self-contained port of Graphviz
     with the same output on Linux, macOS and Windows, so pictures are identical everywhere;
  3. a system Graphviz `dot` on PATH.
None found: GraphvizNotFoundError, which says `pip install graphviz-pure`.

Labels are escaped where the DOT is built (style.text); the executable then writes them as
XML text, so a parameter named <b>"x"</b> shows literally and cannot inject markup. What the
executable writes is checked before anyone sees it: SVG must parse as XML with an <svg> root,
PNG must start with PNG's signature, so a `dot` that exits 0 with nothing (or something else)
on its output is a RenderError and never replaces a good file.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

from tinygrad_rnn.files import as_path, write_atomically

from .dot import to_dot
from .errors import GraphvizNotFoundError, RenderError, VizError, VizTypeError, utf8_bytes
from .style import svg_font_families

PREFERRED = "graphviz-pure"
FALLBACK = "dot"
TIMEOUT_SECONDS = 600
SVG_ROOT = "{http://www.w3.org/2000/svg}svg"
SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff"}   # a file's first bytes


def _script_dirs():
    """Where pip puts console scripts for this interpreter (venv first, then user installs)."""
    dirs = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        dirs.append(Path(sysconfig.get_path("scripts", user_scheme)))
    return list(dict.fromkeys(dirs))


def find_dot():
    """The path of the executable render_svg runs (see the module docstring)."""
    override = os.environ.get("TINYGRAD_RNN_DOT")
    if override:
        found = shutil.which(override)
        if found:
            return found
        raise GraphvizNotFoundError(f"TINYGRAD_RNN_DOT={override!r} is not an executable")
    for folder in _script_dirs():
        found = shutil.which(PREFERRED, path=str(folder))
        if found:
            return found
    found = shutil.which(PREFERRED) or shutil.which(FALLBACK)
    if found:
        return found
    raise GraphvizNotFoundError(
        "no Graphviz executable to draw the graph: `pip install graphviz-pure` (a "
        "self-contained dot for Linux, macOS and Windows; or `pip install tinygrad-rnn[viz]`), "
        "or install Graphviz so that `dot` is on PATH, or set TINYGRAD_RNN_DOT to one")


def dot_source(dot_or_graph):
    """DOT text from a graphviz.Digraph/Source, a DOT string, or a networkx graph (drawn with
    to_dot's defaults)."""
    if isinstance(dot_or_graph, str):
        return dot_or_graph
    if hasattr(dot_or_graph, "source"):
        return dot_or_graph.source
    if hasattr(dot_or_graph, "graph") and hasattr(dot_or_graph, "edges"):
        return to_dot(dot_or_graph, level=dot_or_graph.graph.get("level", "step")).source
    raise VizTypeError(f"render: expected a graphviz.Digraph, DOT text or a networkx graph "
                       f"from viz.to_networkx, got {type(dot_or_graph).__name__}")


def run_dot(source, fmt="svg"):
    """The bytes `dot -T<fmt>` writes for the DOT text `source`, checked to be a picture of
    that format (see the module docstring)."""
    data = utf8_bytes("render", "the DOT text", source)
    executable = find_dot()
    try:
        done = subprocess.run([executable, f"-T{fmt}"], input=data,
                              capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except OSError as exc:
        raise GraphvizNotFoundError(f"could not run {executable}: {exc}; "
                                    f"`pip install graphviz-pure` provides one") from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"{executable} -T{fmt} did not finish in {TIMEOUT_SECONDS} s on a "
                          f"DOT text of {len(source)} characters; draw fewer steps (to_dot "
                          f"elides the middle of long graphs)") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{executable} -T{fmt} failed with exit code {done.returncode}: "
                          f"{message}")
    out = checked(done.stdout, fmt, f"{executable} -T{fmt}")
    return svg_font_families(out) if fmt == "svg" else out


def checked(picture, fmt, command="dot"):
    """`picture` (bytes) when it is a well-formed picture of format fmt; else a RenderError
    saying what `command` wrote instead."""
    if not picture:
        raise RenderError(f"{command} exited with 0 but wrote nothing")
    if fmt == "svg":
        try:
            root = ET.fromstring(picture)
        except ET.ParseError as exc:
            raise RenderError(f"{command} wrote {len(picture)} bytes that are not well-formed "
                              f"XML ({exc}), so not SVG") from None
        if root.tag != SVG_ROOT:
            raise RenderError(f"{command} wrote XML whose root is <{root.tag}>, not SVG's <svg>")
    elif fmt in SIGNATURES and not picture.startswith(SIGNATURES[fmt]):
        raise RenderError(f"{command} wrote {len(picture)} bytes that do not start with "
                          f"{fmt.upper()}'s signature {SIGNATURES[fmt]!r}: not a {fmt.upper()} "
                          f"picture")
    return picture


def to_svg(dot_or_graph):
    """The SVG text of a graph (same graph, same text, every time)."""
    return run_dot(dot_source(dot_or_graph), "svg").decode("utf-8")


# extensions that name a format: a file of another format must not carry one of them
KNOWN_FORMATS = {".svg": "an SVG picture", ".png": "a PNG picture", ".html": "a web page",
                 ".htm": "a web page", ".pdf": "a PDF document", ".jpg": "a JPEG picture",
                 ".jpeg": "a JPEG picture", ".gif": "a GIF picture", ".dot": "Graphviz source",
                 ".gv": "Graphviz source"}


def _picture_path(path, extension, who):
    """`path` checked as files.as_path does, and refused when its extension names another
    format than the `extension` written (SVG text in x.png would not open as a picture);
    no extension, or one naming no format, is the caller's choice."""
    path = as_path(path, who)
    suffix = path.suffix.lower()
    if suffix in KNOWN_FORMATS and suffix != extension:
        other = {".svg": " (or call render_svg)", ".png": " (or call render_png)"}
        raise VizError(f"{who}: {path} ends in {suffix}, the extension of "
                       f"{KNOWN_FORMATS[suffix]}, but {who} writes "
                       f"{KNOWN_FORMATS[extension]}; name the file "
                       f"{path.with_suffix(extension).name}{other.get(suffix, '')}")
    return path


def render_svg(dot_or_graph, path):
    """Write the SVG of a graph to `path` atomically; returns the path.

    The bytes go to a temporary file in the same folder, flushed to disk, then renamed over
    `path`: a reader never sees half a picture, and a failed render leaves an old file intact.

    >>> render_svg(to_dot(G, highlight="W1"), "elman.svg")
    """
    path = _picture_path(path, ".svg", "render_svg")     # checked before dot runs
    svg = run_dot(dot_source(dot_or_graph), "svg")
    return write_atomically(svg, path)


def render_png(dot_or_graph, path):
    """Write the PNG of a graph to `path` atomically (as render_svg); returns the path.

    >>> render_png(to_dot(G, highlight="W1"), "elman.png")
    """
    path = _picture_path(path, ".png", "render_png")     # checked before dot runs
    png = run_dot(dot_source(dot_or_graph), "png")
    return write_atomically(png, path)


