"""What `render -o FILE` writes, chosen by FILE's extension: one row per format.

    .svg   the picture as SVG          (viz.render_svg)
    .png   the picture as PNG          (viz.render_png, through the same dot executable)
    .dot   the Graphviz DOT source     (the text the pictures are drawn from)
    .html  the explorer page           (viz.explore: the model under full, elman, chunked(k),
                                        window(k) and the --truncation given, viz.render_html)

Every row writes atomically (a finished file replaces the old one, or nothing changes), and
the pictures are checked before they are written (viz.render). Any other extension is refused
before any work is done, with the list of the ones above.
"""
import stat
from dataclasses import dataclass
from pathlib import Path

import viz
from tinygrad_rnn import SettingError, TinygradRNNError
from tinygrad_rnn.files import as_path, write_atomically
from tinygrad_rnn.truncation import resolve


@dataclass
class Drawing:
    """Everything a format may draw from: the loss and the named parameters it was recorded
    with, the networkx graph and the DOT drawing of it, and the model, inputs, targets and
    truncation it was recorded from (the page records the model again under each policy)."""
    loss: object
    params: dict
    graph: object
    dot: object
    model: object = None
    xs: object = None
    vs: object = None
    truncation: object = None
    highlight: object = None
    title: object = None


def _dot_source(drawing, path):
    return write_atomically(drawing.dot.source.encode("utf-8"), path)


def page_policies(steps, truncation):
    """The policies the explorer page holds: the default ones for T, and the one given."""
    policies = viz.default_policies(steps)
    chosen = resolve(truncation)
    return policies if chosen in policies else [*policies, chosen]


def _page(drawing, path):
    """The explorer page of the drawing's model under page_policies."""
    policies = page_policies(len(drawing.xs), drawing.truncation)
    page = viz.explore(drawing.model, drawing.xs, drawing.vs, policies,
                       highlight=drawing.highlight, title=drawing.title)
    return viz.render_html(page, path)


def is_page(path):
    """Whether `path` names the explorer page (which draws every step, at step level)."""
    return Path(path).suffix.lower() == ".html"


# extension -> (what it is, how to write it)
FORMATS = {
    ".svg": ("SVG picture", lambda drawing, path: viz.render_svg(drawing.dot, path)),
    ".png": ("PNG picture", lambda drawing, path: viz.render_png(drawing.dot, path)),
    ".dot": ("Graphviz DOT source", _dot_source),
    ".html": ("explorer page", _page),
}


def check_target(path):
    """Refuse, before any work, an output whose extension names no format, that ends in a
    separator (x.svg/ names a folder), is a folder or a special file (a FIFO, a device), or
    whose folder is a file."""
    if path == "":
        as_path(path, "-o")             # refused as empty (a Path("") would be ".")
    text, path = path, Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(f"{extension} ({what})" for extension, (what, _) in FORMATS.items())
        raise SettingError(f"-o {path}: the extension {suffix or '(none)'} names no format; "
                           f"render writes {known}")
    as_path(text, "-o")
    if path.is_dir():
        raise SettingError(f"-o {path}: is a folder; name a file in it, e.g. {path / 'graph.svg'}")
    if path.exists() and not path.is_file():
        raise SettingError(f"-o {path}: is a {_kind(path)}, not a regular file; a picture "
                           f"replaces a file")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SettingError(f"-o {path}: {parent} is not a folder")
            break


def _kind(path):
    mode = path.stat().st_mode
    kinds = ((stat.S_ISFIFO, "named pipe (FIFO)"), (stat.S_ISSOCK, "socket"),
             (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))
    return next((name for test, name in kinds if test(mode)), "special file")


def write(drawing, path):
    """Write the drawing to `path` in the format of its extension; returns the path. A write
    that fails names the file asked for (not the temporary one next to it)."""
    _, write_format = FORMATS[Path(path).suffix.lower()]
    try:
        return write_format(drawing, path)
    except TinygradRNNError:
        raise
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write it: {exc.strerror or exc}", str(path)) from exc
