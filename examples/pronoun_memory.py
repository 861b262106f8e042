"""The lecture's moral, measured: which networks can remember "Julia" until "for her"?

Each sentence starts with a name, then d - 1 distracting words, then the query word "for"; the
label is the pronoun the name fixes ("her", "his" or "their", so chance is 1/3) and is read
from the model's output at the last step. Every model gets the same budget: Adam, the same
learning rate and number of steps, gradient-norm clipping, the same hidden width and the same
fresh training batches; accuracy is measured on fresh test sentences from another seed and
averaged over several seeds. Rows of the same network (the two Elman rows, the three Jordan
rows) start from the same weights and see the same batches: only the truncation of the
gradient, or Jordan's fixed moving-average factor mu, differs. The gated cells (LSTM, GRU: the
lecture's "advanced memory components") get the same budget and hidden width.

    python examples/pronoun_memory.py                 # the README tables (distances 1 to 128)
    python examples/pronoun_memory.py --quick         # a first look (about 15 seconds)
    python examples/pronoun_memory.py --distances 1 2 4 8 16 --models elman-full lstm-full
    python examples/pronoun_memory.py --embedding 8  # learned 8-dim word vectors, not one-hot

The lecture predicts: the MLP (window 1) is at chance for every d; the windowed MLP and the
convolution are right only while the name is inside their window (d < window, d < receptive
field); Elman's truncation, whose gradient never reaches the name, fades as d grows; full
BPTT keeps working at long d; Jordan, whose memory is a moving average of its own outputs
with a fixed mu, somewhere in between. The script also measures why long d is hard even with full
BPTT: at initialization the gradient of the loss with respect to the name's input, relative to
the query's, shrinks with d (vanishing gradients), for Elman and for the LSTM, whose cell state
c[t] = f c[t-1] + i g is a path the gradient can cross without a squashing nonlinearity at
every step. That ratio is always taken under full BPTT,
also after training with Elman's truncation, where it says how much the name moves the loss in
the weights that training learned. The gradient that training itself used is exactly zero at
the name for every d >= 1 (the cut before the query's step stops it); the script does not
print it, tests/test_examples.py checks it.
"""
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from common import (
    accuracy,
    argument_parser,
    markdown_table,
    non_negative_int,
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

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DEFAULT_VOCAB, pronoun_task
from tinygrad_rnn.train import progress_bar

CHANCE = 1 / len(DEFAULT_VOCAB.classes)
TRUNCATION_NAMES = {"elman": "Elman's truncation", "full": "full BPTT"}
MODEL_KEYS = ("mlp", "windowed", "conv", "jordan-elman", "jordan-full", "jordan-slow-full",
              "elman-elman", "elman-full", "lstm-full", "gru-full")
DISTANCES = [1, 2, 4, 8, 16, 32, 64, 128]
# the networks whose gradient at the name is measured, and the label of their rows
RATIO_NETWORKS = {"elman": "Elman", "lstm": "LSTM"}


def model_label(key, config):
    return {
        "mlp": "MLP (window 1)",
        "windowed": f"windowed MLP (window {config.window})",
        "conv": f"temporal conv (receptive field {config.kernel})",
        "jordan-elman": f"Jordan (mu={config.mu}), Elman's truncation",
        "jordan-full": f"Jordan (mu={config.mu}), full BPTT",
        "jordan-slow-full": f"Jordan (mu={config.slow_mu}), full BPTT",
        "elman-elman": "Elman, Elman's truncation",
        "elman-full": "Elman, full BPTT",
        "lstm-full": "LSTM, full BPTT",
        "gru-full": "GRU, full BPTT",
    }[key]


def build_model(key, config, seed):
    """(model, truncation) for a model key; with --embedding E the model reads token ids
    through nn.Embedding(V, E) instead of one-hot vectors. The feed-forward models ignore the
    truncation."""
    model, truncation = build_network(key, config, seed)
    if config.embedding:
        embed = nn.Embedding(DEFAULT_VOCAB.size, config.embedding, seed=seed_for(seed, 2))
        model = nn.Sequential(embed, model)
    return model, truncation


def inputs_of(batch, config):
    """What the models read: token ids (T, B) with --embedding, else one-hot xs (T, B, V)."""
    return batch.tokens if config.embedding else batch.xs


def build_network(key, config, seed):
    V = config.embedding or DEFAULT_VOCAB.size
    H, C = config.hidden, len(DEFAULT_VOCAB.classes)
    if key == "mlp":
        return nn.WindowedMLP(V, [H], C, window=1, seed=seed), "full"
    if key == "windowed":
        return nn.WindowedMLP(V, [H], C, window=config.window, seed=seed), "full"
    if key == "conv":
        return nn.TemporalConv(V, H, C, kernel_size=config.kernel, seed=seed), "full"
    truncation = key.split("-")[-1]
    if key.startswith("jordan"):
        mu = config.slow_mu if "slow" in key else config.mu
        return nn.Jordan(V, H, C, mu=mu, seed=seed), truncation
    if key.startswith("lstm"):
        return nn.LSTM(V, H, C, forget_bias=config.forget_bias, seed=seed), truncation
    if key.startswith("gru"):
        return nn.GRU(V, H, C, seed=seed), truncation
    return nn.Elman(V, H, C, seed=seed), truncation


def name_gradient_ratio(model, batch):
    """||dR/dx[1]|| / ||dR/dx[T]||: how much of the loss's gradient reaches the name's input,
    relative to the query word's, under full BPTT whatever truncation the model is trained
    with (R is the last-step loss). With an embedding, x[t] is the word's vector."""
    network = model
    if isinstance(model, nn.Sequential):
        xs = model[0](batch.tokens).retain_grad()
        network = model[1]
    else:
        xs = tg.Tensor(batch.xs, requires_grad=True, name="xs")
    ys, _ = network(xs, truncation="full")
    nn.last_step_loss(ys, batch.labels).backward()
    model.zero_grad()
    return float(np.linalg.norm(xs.grad[0]) / np.linalg.norm(xs.grad[-1]))


def run_one(key, distance, run, config, progress):
    """Train one model at one distance for one seed; returns its measurements."""
    started = time.process_time()
    model, truncation = build_model(key, config, seed_for(config.seed, run, distance, 0))
    test = pronoun_task(config.test_size, distance, seed=seed_for(config.seed, distance, 7))
    probe = pronoun_task(256, distance, seed=seed_for(config.seed, distance, 8))
    recurrent = key.split("-")[0] in RATIO_NETWORKS
    ratio_before = name_gradient_ratio(model, probe) if recurrent else None

    def loss_of_step(step):
        seed = seed_for(config.seed, run, distance, 1, step)
        batch = pronoun_task(config.batch, distance, seed=seed)
        ys, _ = model(inputs_of(batch, config), truncation=truncation)
        return nn.last_step_loss(ys, batch.labels)

    train(model, loss_of_step, config.steps, config.lr, clip=config.clip,
          description=f"d={distance} {key} seed {run}", progress=progress)
    return {
        "key": key, "distance": distance, "run": run,
        "accuracy": accuracy(predict(model, inputs_of(test, config), truncation)[-1],
                             test.labels),
        "ratio_before": ratio_before,
        "ratio_after": name_gradient_ratio(model, probe) if recurrent else None,
        "cpu_seconds": time.process_time() - started,
    }


def run_all(config):
    """Every (model, distance, seed) run, in parallel over config.jobs processes; the results
    do not depend on the number of jobs."""
    tasks = [(key, d, run) for d in sorted(config.distances, reverse=True)    # longest first
             for key in config.models for run in range(config.seeds)]
    results = []
    bar = progress_bar(len(tasks), not config.no_progress, "runs (model x distance x seed)",
                       leave=True)
    inner_progress = config.jobs == 1 and not config.no_progress
    if config.jobs == 1:
        for task in tasks:
            results.append(run_one(*task, config, inner_progress))
            if bar is not None:
                bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=config.jobs) as pool:
            futures = [pool.submit(run_one, *task, config, False) for task in tasks]
            for future in as_completed(futures):
                results.append(future.result())
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    order = {task: i for i, task in enumerate(tasks)}     # completion order must not matter
    return sorted(results, key=lambda r: order[r["key"], r["distance"], r["run"]])


def collect(results, field, key, distance):
    return [r[field] for r in results if r["key"] == key and r["distance"] == distance]


def geometric_mean(values):
    """The mean of ratios that span orders of magnitude: exp(mean(log(values)))."""
    return float(np.exp(np.mean(np.log(values))))


def accuracy_tables(results, config):
    """The mean-accuracy table and the per-seed range table, as markdown strings."""
    header = ["model"] + [f"d={d}" for d in config.distances]
    means, ranges = [], []
    for key in config.models:
        label = model_label(key, config)
        accs = [collect(results, "accuracy", key, d) for d in config.distances]
        means.append([label] + [f"{np.mean(a):.2f}" for a in accs])
        ranges.append([label] + [f"{min(a):.2f}-{max(a):.2f}" for a in accs])
    return markdown_table(header, means), markdown_table(header, ranges)


def gradient_series(results, config):
    """[(label, values per distance)]: the geometric mean over seeds of the full-BPTT ratio
    ||dR/dx[1]|| / ||dR/dx[T]|| for the Elman and LSTM models, at initialization (the rows of
    one network start from the same weights) and after training with each truncation; [] when
    no such model runs."""
    series = []
    for network, name in RATIO_NETWORKS.items():
        keys = [key for key in config.models if key.split("-")[0] == network]
        if keys:
            series += [(f"{name}, at initialization", "ratio_before", keys[-1])] + [
                (f"{name}, after training with {TRUNCATION_NAMES[key.split('-')[1]]}",
                 "ratio_after", key) for key in keys]
    return [(label, [geometric_mean(collect(results, field, key, d)) for d in config.distances])
            for label, field, key in series]


def gradient_table(results, config):
    """The rows of gradient_series as a markdown string ("" without Elman or LSTM models)."""
    header = ["full-BPTT gradient at the name / at the query"] + \
             [f"d={d}" for d in config.distances]
    rows = [[label] + [f"{value:.1e}" for value in values]
            for label, values in gradient_series(results, config)]
    return markdown_table(header, rows) if rows else ""


def plot(results, config):
    plt = pyplot()
    if plt is None:
        return
    gradients = gradient_series(results, config)
    fig, axes = plt.subplots(1, 2 if gradients else 1, figsize=(12 if gradients else 7, 4.5),
                             squeeze=False)
    ax = axes[0, 0]
    d = np.array(config.distances, dtype=float)
    for i, key in enumerate(config.models):
        accs = [collect(results, "accuracy", key, x) for x in config.distances]
        mean = np.array([np.mean(a) for a in accs])
        low = mean - np.array([min(a) for a in accs])
        high = np.array([max(a) for a in accs]) - mean
        jitter = 1 + 0.025 * (i - (len(config.models) - 1) / 2)    # keep equal lines apart
        ax.errorbar(d * jitter, mean, yerr=[low, high], marker="o", markersize=4, capsize=3,
                    label=model_label(key, config))
    ax.axhline(CHANCE, color="gray", linestyle=":", label="chance (1/3)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(d, [str(x) for x in config.distances])
    ax.set_xlabel("distance d from the name to \"for\" (words)")
    ax.set_ylabel(f"test accuracy (mean of {config.seeds} seed(s); bars: min-max)")
    ax.set_ylim(0, 1.05)
    ax.set_title("\"Julia ... for her\": accuracy against distance")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    if gradients:
        ax = axes[0, 1]
        for label, values in gradients:
            ax.semilogy(d, values, marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set_xticks(d, [str(x) for x in config.distances])
        ax.set_xlabel("distance d")
        ax.set_ylabel("||dR/dx[1]|| / ||dR/dx[T]|| under full BPTT")
        ax.set_title("How much gradient reaches the name")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    save_figure(plt, fig, config.out, "pronoun_memory.png")


def parse_arguments(argv):
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--distances", type=positive_int, nargs="+", default=DISTANCES,
                        help="distances d from the name to the query word")
    training_options(parser, steps=1000, seeds=3, hidden=32, lr=1e-2)
    parser.add_argument("--batch", type=positive_int, default=32, help="fresh sentences per step")
    parser.add_argument("--window", type=positive_int, default=4, help="window of the windowed MLP")
    parser.add_argument("--kernel", type=positive_int, default=5,
                        help="receptive field of the convolution")
    parser.add_argument("--mu", type=float, default=0.5, help="Jordan's moving-average factor")
    parser.add_argument("--slow-mu", type=float, default=0.9,
                        help="mu of the second Jordan row: a slower-decaying moving average")
    parser.add_argument("--forget-bias", type=float, default=1.0,
                        help="the LSTM's forget-gate bias at initialization (f = sigmoid of it)")
    parser.add_argument("--test-size", type=positive_int, default=1000,
                        help="test sentences per distance")
    parser.add_argument("--embedding", type=non_negative_int, default=0,
                        help="read words through a learned nn.Embedding of this width instead of "
                             "one-hot vectors (0: one-hot)")
    parser.add_argument("--models", nargs="+", choices=MODEL_KEYS, default=list(MODEL_KEYS))
    parser.add_argument("--jobs", type=positive_int, default=min(2, os.cpu_count() or 1),
                        help="worker processes (the numbers do not depend on it)")
    config = parse(parser, argv)
    if config.quick:
        config.distances, config.seeds, config.steps, config.test_size = [1, 4, 8], 1, 400, 500
    return config


def main(argv=None):
    config = parse_arguments(argv)
    started = time.perf_counter()
    inputs = f"an embedding of {config.embedding}" if config.embedding else "one-hot"
    print(f"pronoun task: {len(DEFAULT_VOCAB.classes)} classes (chance {CHANCE:.2f}), vocabulary "
          f"{DEFAULT_VOCAB.size} words ({inputs}); distances {config.distances}; {config.seeds} "
          f"seed(s); {config.steps} Adam steps (lr {config.lr}, clip {config.clip}) on batches of "
          f"{config.batch} fresh sentences; {config.hidden} hidden units; test on "
          f"{config.test_size} fresh sentences per distance; {config.jobs} job(s)")
    results = run_all(config)
    means, ranges = accuracy_tables(results, config)
    print("\nTest accuracy (mean over seeds), rows: models, columns: distance d\n")
    print(means)
    if config.seeds > 1:
        print("\nPer-seed range (min-max)\n")
        print(ranges)
    table = gradient_table(results, config)
    if table:
        print("\nVanishing gradients: the gradient reaching the name's input, relative to the "
              "query's\n")
        print(table)
    plot(results, config)
    cpu = sum(r["cpu_seconds"] for r in results)
    print(f"\nwall time {time.perf_counter() - started:.0f} s; {cpu:.0f} CPU seconds in "
          f"{len(results)} runs on {config.jobs} worker(s)")
    return 0


if __name__ == "__main__":
    sys.exit(reporting_errors(main, sys.argv[1:]))
