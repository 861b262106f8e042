"""Sport or science? One label per long sequence, read at its last frame.

The lecture's talk example on SYNTHETIC data (tinygrad_rnn.data.talks): each talk is a sequence
of noisy frames with a few short keyword patterns of its class somewhere before a quiet tail of
pure noise (the last quarter of the talk). The label is predicted from the model's output at
the last frame, so a model must carry what it heard across the quiet tail: a last-frame MLP
cannot, and a recurrent network can only if its training lets the gradient reach the
keywords. Elman is trained with full BPTT, with Elman's truncation, and with chunks of half the
talk (chunked(T/2): the gradient of the last-frame loss reaches back only to the middle of the
talk, so it sees the keywords of the third quarter but not those of the first half). Each
model is trained at several talk lengths T on the same fresh batches, for several seeds.

    python examples/talk_classification.py                # default size (a minute or two)
    python examples/talk_classification.py --quick
    python examples/talk_classification.py --lengths 24 --steps 800
"""
import sys
import time

import numpy as np
from common import (
    accuracy,
    argument_parser,
    markdown_table,
    parse,
    positive_int,
    predict,
    pyplot,
    reporting_errors,
    save_figure,
    seed_for,
    train,
    training_options,
)

from tinygrad_rnn import nn, truncation
from tinygrad_rnn.data import talks_task
from tinygrad_rnn.data.talks import CLASS_NAMES

MODEL_LABELS = ("last-frame MLP", "Elman, Elman's truncation", "Elman, chunked(T/2)",
                "Elman, full BPTT")


def build_model(label, length, config, seed):
    """(model, truncation policy) for a label; every model has `hidden` units and 2 outputs."""
    N, H = config.features, config.hidden
    if label == "last-frame MLP":
        return nn.WindowedMLP(N, [H], 2, window=1, seed=seed), "full"
    policy = {"Elman, Elman's truncation": "elman",
              "Elman, chunked(T/2)": truncation.chunked(max(1, length // 2)),
              "Elman, full BPTT": "full"}[label]
    return nn.Elman(N, H, 2, seed=seed), policy


def talks(config, n, length, *seed_parts):
    return talks_task(n, length, n_features=config.features, n_occurrences=config.keywords,
                      seed=seed_for(config.seed, length, *seed_parts))


def fit_one(label, length, run, config):
    """Adam on fresh batches of talks (the same batches for every model); test accuracy every
    eval_every steps. Fresh talks rather than a fixed set: with a few hundred fixed talks a
    network of this size learns their noise instead of the keywords."""
    model, policy = build_model(label, length, config, seed_for(config.seed, length, 3, run))
    test_set = talks(config, config.test_size, length, 1)

    def loss_of_step(step):
        batch = talks(config, config.batch, length, 2, run, step)
        ys, _ = model(batch.xs, truncation=policy)
        return nn.last_step_loss(ys, batch.labels)

    curve = []

    def evaluate(step, loss_value):
        if (step + 1) % config.eval_every == 0 or step + 1 == config.steps:
            logits = predict(model, test_set.xs, policy)[-1]
            curve.append((step + 1, accuracy(logits, test_set.labels)))

    started = time.process_time()
    train(model, loss_of_step, config.steps, config.lr, clip=config.clip,
          description=f"T={length} {label} seed {run}", progress=not config.no_progress,
          callback=evaluate)
    return {"curve": curve, "test_accuracy": curve[-1][1],
            "cpu_seconds": time.process_time() - started}


def plot(results, config):
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, len(config.lengths), figsize=(4.5 * len(config.lengths), 4),
                             squeeze=False, sharey=True)
    for ax, length in zip(axes[0], config.lengths):
        for label in MODEL_LABELS:
            curves = [results[label, length, run]["curve"] for run in range(config.seeds)]
            steps = [step for step, _ in curves[0]]
            mean = np.mean([[acc for _, acc in curve] for curve in curves], axis=0)
            ax.plot(steps, mean, marker=".", label=label)
        ax.axhline(0.5, color="gray", linestyle=":", label="chance")
        ax.set_title(f"talks of T={length} frames (last {length // 4} pure noise)", fontsize=10)
        ax.set_xlabel("Adam step")
        ax.set_ylim(0.3, 1.02)
    axes[0, 0].set_ylabel(f"test accuracy, mean of {config.seeds} seed(s)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8,
               bbox_to_anchor=(0.5, -0.06))
    fig.suptitle("Synthetic sport-or-science talks: training curves", fontsize=11)
    save_figure(plt, fig, config.out, "talk_classification.png")


def parse_arguments(argv):
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=positive_int, nargs="+", default=[12, 24, 48],
                        help="talk lengths T (frames)")
    parser.add_argument("--features", type=positive_int, default=8, help="features per frame")
    parser.add_argument("--keywords", type=positive_int, default=2,
                        help="keywords of its class per talk")
    parser.add_argument("--test-size", type=positive_int, default=500, help="test talks per length")
    training_options(parser, steps=1000, seeds=2, hidden=32, lr=3e-3)
    parser.add_argument("--batch", type=positive_int, default=32, help="fresh talks per step")
    parser.add_argument("--eval-every", type=positive_int, default=50,
                        help="steps between test evaluations")
    config = parse(parser, argv)
    if config.quick:
        config.lengths, config.test_size, config.steps = [12, 24], 300, 600
        config.seeds = 1
    return config


def main(argv=None):
    config = parse_arguments(argv)
    started, cpu_started = time.perf_counter(), time.process_time()
    example = talks(config, 1, max(config.lengths), 0)
    print(f"SYNTHETIC talks ({' or '.join(CLASS_NAMES)}), tinygrad_rnn.data.talks: lengths "
          f"{config.lengths} frames of {config.features} features, {config.keywords} keywords of "
          f"{example.keywords.shape[2]} frames per talk, the last quarter pure noise; "
          f"{config.steps} Adam steps (lr {config.lr}, clip {config.clip}) on batches of "
          f"{config.batch} fresh talks, {config.test_size} test talks per length, "
          f"{config.seeds} seed(s)")
    print(f"e.g. {example.describe(0)}")
    results = {}
    for length in config.lengths:
        for label in MODEL_LABELS:
            for run in range(config.seeds):
                result = results[label, length, run] = fit_one(label, length, run, config)
                print(f"T={length:<3d} {label:26s} seed {run}  test accuracy "
                      f"{result['test_accuracy']:.3f} ({result['cpu_seconds']:.1f} CPU s)",
                      flush=True)

    def cell(label, length):
        accs = [results[label, length, run]["test_accuracy"] for run in range(config.seeds)]
        spread = f" ({min(accs):.2f}-{max(accs):.2f})" if config.seeds > 1 else ""
        return f"{np.mean(accs):.2f}{spread}"

    header = ["model"] + [f"T={length}" for length in config.lengths]
    rows = [[label] + [cell(label, length) for length in config.lengths] for label in MODEL_LABELS]
    spread = f"mean over {config.seeds} seeds, range in brackets" if config.seeds > 1 else "1 seed"
    print(f"\nTest accuracy after {config.steps} Adam steps (chance 0.5; {spread}), rows: "
          f"models, columns: talk length\n")
    print(markdown_table(header, rows))
    plot(results, config)
    print(f"\nwall time {time.perf_counter() - started:.0f} s; "
          f"{time.process_time() - cpu_started:.0f} CPU seconds")
    return 0


if __name__ == "__main__":
    sys.exit(reporting_errors(main, sys.argv[1:]))
