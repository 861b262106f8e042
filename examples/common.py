"""Helpers shared by the examples: arguments, seeds, evaluation, tables and plots.

The examples are scripts (python examples/pronoun_memory.py); they find this module because
Python puts a script's own folder first on sys.path.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.files import atomic_writer
from tinygrad_rnn.optim import Adam

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def argument_parser(description):
    """An ArgumentParser with the options every example takes: --quick, --seed, --out."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a smaller run (fewer steps, seeds and sizes) for a first look")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="base seed: same seed, same numbers")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNG plots")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def parse(parser, argv):
    """parser.parse_args(argv), with --out checked before any work: a run's plots go there
    when it ends, and a path that is a file would lose the whole run."""
    config = parser.parse_args(argv)
    for place in (config.out, *config.out.parents):   # it, or what it would be made in
        if os.path.lexists(place):
            if not place.is_dir():
                parser.error(f"--out {config.out} is not a folder for the plots ({place} is a "
                             f"file, a FIFO or a link to nothing)")
            break
    return config


def reporting_errors(main, argv):
    """main(argv), with the project's errors (a setting a model refuses, say) and running out
    of memory reported in one line and exit code 1, as the command line does."""
    try:
        return main(argv)
    except (tg.TinygradRNNError, MemoryError) as exc:
        kind = "out of memory" if isinstance(exc, MemoryError) else type(exc).__name__
        print(f"error ({kind}): {exc}", file=sys.stderr)
        return 1


def argument_type(name, convert, accepts, wanted):
    """An argparse type: `convert` (int or float) of the text, which `accepts` must hold for;
    else argparse's one-line error saying the value must be `wanted`."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accepts(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value
    parse.__name__ = name
    return parse


# (0 steps or seeds would leave nothing to plot; a seed may be 0)
positive_int = argument_type("positive_int", int, lambda v: v >= 1, "a whole number >= 1")
non_negative_int = argument_type("non_negative_int", int, lambda v: v >= 0,
                                 "a whole number >= 0")
positive_float = argument_type("positive_float", float, lambda v: 0 < v < float("inf"),
                               "a finite number > 0")
fraction = argument_type("fraction", float, lambda v: 0 < v < 1, "a number between 0 and 1")


def training_options(parser, *, steps, seeds, hidden, lr, clip=1.0):
    """Add the options every example trains with, each checked as argparse reads it: --steps
    (Adam steps per model), --seeds (seeds averaged per result), --hidden, --lr and --clip."""
    parser.add_argument("--steps", type=positive_int, default=steps, help="Adam steps per model")
    parser.add_argument("--seeds", type=positive_int, default=seeds,
                        help="seeds averaged per result")
    parser.add_argument("--hidden", type=positive_int, default=hidden, help="hidden units")
    parser.add_argument("--lr", type=positive_float, default=lr, help="Adam learning rate")
    parser.add_argument("--clip", type=positive_float, default=clip,
                        help="gradient-norm clipping")


def seed_for(*parts):
    """One integer seed from several (base seed, run, distance, purpose, ...): runs that differ
    in any part get independent streams, and the same parts always give the same seed."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def predict(model, xs, truncation="full"):
    """The model's outputs (T, B, O) as a numpy array, without recording a graph."""
    with tg.no_grad():
        ys, _ = model(xs, truncation=truncation)
    return ys.data


def accuracy(logits, labels):
    """Fraction of rows of logits (B, C) whose argmax is the label (B,)."""
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))


def train(model, loss_of_step, steps, lr, clip=1.0, description="training", progress=True,
          callback=None):
    """Adam on loss_of_step(step) for `steps` steps with gradient-norm clipping, through
    tinygrad_rnn.fit (which shows a tqdm bar). Returns the loss history."""
    optimizer = Adam(model.parameters(), lr=lr)
    return tg.fit(model.parameters(), loss_of_step, optimizer, steps, clip=clip,
                  progress=progress, description=description, callback=callback)


def markdown_table(header, rows):
    """A GitHub markdown table from a header list and rows of already formatted cells."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule] + [line(row) for row in rows])


def pyplot():
    """matplotlib.pyplot with a file-only backend, or None (and a message) when matplotlib
    is not installed: plots are an optional extra (pip install tinygrad-rnn[plot])."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(plt, fig, folder, filename):
    """Save fig as folder/filename (creating the folder), close it and say where it went."""
    folder = Path(folder)
    os.makedirs(folder, exist_ok=True)
    path = folder / filename
    with atomic_writer(path) as file:         # an old plot is replaced whole or not at all
        fig.savefig(file, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    print(f"saved {path}")
    return path
