"""The reach matrix as a figure for slides: one T x T panel per policy, side by side.

Row R[t], column step s, filled where the gradient of R[t] reaches step s (reach.reach_matrix,
from the recorded graphs): full BPTT is the lower triangle, elman the diagonal, chunked(k)
staircase blocks, window(h) a band h steps wide. It is the one picture that explains
window(h), whose cut is in another place for every term.

    >>> recordings = viz.record_policies(model, xs, vs)          # full, elman, chunked, window
    >>> figure = viz.plot_reach_matrix(recordings, model, path="reach.png")

matplotlib (the optional `plot` extra) is imported when a figure is drawn, not with viz.
"""
import io
import math

from tinygrad_rnn.files import as_path, write_atomically

from .display import to_networkx
from .errors import VizError, distinct_labels, optional_text, whole_number
from .reach import reach_matrix
from .style import visible

FILLED, EMPTY, GRID = "#1f5fd6", "#f2f2f2", "#ffffff"
# the formats a figure is written in, by the path's suffix, with the metadata that would make
# two writes of one figure differ (a date, the software's version) left out
FORMATS = {".png": {"Software": None}, ".svg": {"Date": None, "Creator": None},
           ".pdf": {"CreationDate": None, "Creator": None, "Producer": None}}


def step_graphs(recordings, params=None):
    """{label: step-level graph} from {label: loss Tensor or step-level graph} or a Page."""
    graphs = getattr(recordings, "graphs", recordings)
    if not hasattr(graphs, "items") or not graphs:
        raise VizError(f"expected a non-empty {{label: loss Tensor or step-level graph}} "
                       f"mapping or a viz.Page, got {type(recordings).__name__}")
    labels = distinct_labels("plot_reach_matrix", graphs)
    return {label: g if hasattr(g, "graph") else to_networkx(g, params, level="step")
            for label, g in zip(labels, graphs.values())}


def plot_reach_matrix(recordings, params=None, *, path=None, title=None, columns=None):
    """A matplotlib Figure of the reach matrices, one panel per recording; written to `path`
    (atomically) when given. Labels and title are shown as written ($ is no math; characters
    XML cannot hold as escapes, \\x01, as in to_dot).

    recordings: {label: loss Tensor or step-level graph} (viz.record_policies gives one), or a
    viz.Page. params names the weights of Tensors, as in to_networkx. columns: panels per row
    (default: all in one row up to 4, else rows of 4). path: its suffix says the format,
    .png, .svg or .pdf (as matplotlib's savefig; any other is an error, never PNG bytes under
    another name)."""
    optional_text("plot_reach_matrix", "title", title)
    if columns is not None:
        columns = whole_number("plot_reach_matrix", "columns", columns)
    if path is not None:
        path = as_path(path, "plot_reach_matrix")
        if path.suffix.lower() not in FORMATS:
            raise VizError(f"plot_reach_matrix: cannot tell the format of {str(path)!r} from "
                           f"its suffix; name it .png, .svg or .pdf")
    try:
        from matplotlib import rc_context
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError:
        raise VizError("plot_reach_matrix needs matplotlib: pip install matplotlib (or "
                       "tinygrad-rnn[plot])") from None
    matrices = reach_matrix(step_graphs(recordings, params))
    count = len(matrices)
    columns = columns or min(count, 4)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(3.1 * columns, 3.3 * rows + (0.4 if title else 0)),
                    layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    colours = ListedColormap([EMPTY, FILLED])
    for ax, (label, matrix) in zip(axes.flat, matrices.items()):
        terms, steps = matrix.shape
        ax.imshow(matrix, cmap=colours, vmin=0, vmax=1, interpolation="nearest",
                  extent=(0.5, steps + 0.5, terms + 0.5, 0.5))
        if steps <= 40:                   # cell borders while there is room for them
            ax.set_xticks([s + 0.5 for s in range(steps)], minor=True)
            ax.set_yticks([t + 0.5 for t in range(terms)], minor=True)
            ax.grid(which="minor", color=GRID, linewidth=0.6)
            ax.tick_params(which="minor", length=0)
        ax.set_title(visible(label), fontsize=11, parse_math=False)
        ax.set_xlabel("step s its gradient reaches")
        ax.set_ylabel("loss term R[t]")
        ax.set_aspect("equal")
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    if title:
        figure.suptitle(visible(title), parse_math=False)
    if path is not None:
        buffer = io.BytesIO()
        suffix = path.suffix.lower()
        with rc_context({"svg.hashsalt": "reach"}):      # the SVG's ids: the same each time
            figure.savefig(buffer, format=suffix[1:], dpi=150, metadata=FORMATS[suffix])
        write_atomically(buffer.getvalue(), path)
    return figure
