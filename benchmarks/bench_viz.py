"""How long the visualizer takes: a 50-step step-level picture, and an elided 5,000-step one.

    python benchmarks/bench_viz.py [--steps 50] [--long 5000] [--repeats 3] [--quick]

Each timing is what a user waits for after backward(): to_networkx at step level, to_dot
(with W1 highlighted and, past 20 steps, elision) and render_svg (the dot executable and the
atomic write). Forward and backward are not included; they are the engine's benchmarks.
Targets from issue 4: under 1 s (50 steps) and under 3 s (5,000 steps, elided). Times are
medians; the machine's load at the moment of measuring is printed with them, since a shared
machine can easily double them. --quick is a smoke run: 4 and 30 steps, one timed run.

Why viz/record.py and steps.py look as they do (measured with this script when they were
written): both levels are built from the Recording's plain lists, with list lookups rather
than networkx calls, and only the result becomes a networkx graph; that keeps a 5,000-step
recording (65,000 op-level nodes) to about a second. Node norms use np.vdot, about twice as
fast as np.linalg.norm on the small arrays of one step; str(dtype) is slow enough to be named
once per dtype rather than once per node.
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import format_ms, markdown_table, time_runs

import viz
from tinygrad_rnn import nn

TARGETS = {"short": 1.0, "long": 3.0}


def recorded_loss(steps, truncation="elman", seed=0):
    """R of an Elman network (2 -> 3 -> 1, batch 1) over `steps` steps, after backward."""
    rng = np.random.default_rng(seed)
    model = nn.Elman(2, 3, 1, seed=seed)
    ys, _ = model(rng.standard_normal((steps, 1, 2)), truncation=truncation)
    loss = nn.sequence_loss(ys, rng.standard_normal((steps, 1, 1)))
    loss.backward()
    return loss, model


def stages(loss, model, path, max_steps):
    """Seconds spent in each stage of one picture (and the CPU seconds of this process, which
    a busy machine inflates less than wall time), and the DOT's counts."""
    cpu, start = time.process_time(), time.perf_counter()
    graph = viz.to_networkx(loss, model, level="step")
    exported = time.perf_counter()
    dot = viz.to_dot(graph, highlight="W1", max_steps=max_steps)
    drawn = time.perf_counter()
    viz.render_svg(dot, path)
    rendered = time.perf_counter()
    return dict(export=exported - start, dot=drawn - exported, render=rendered - drawn,
                total=rendered - start, cpu=time.process_time() - cpu), dot.counts


def measure(steps=50, long=5000, repeats=3):
    """Rows of [case, steps, drawn steps, export, to_dot, render, total, cpu, target, verdict]."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        # the short picture draws every step; the long one elides all but the first and last 3
        for case, length, max_steps in (("short", steps, steps), ("long", long, 20)):
            loss, model = recorded_loss(length)
            path = Path(folder) / f"{case}.svg"
            results = []

            def timed(results=results, loss=loss, model=model, path=path, max_steps=max_steps):
                results.append(stages(loss, model, path, max_steps))

            time_runs(timed, warmup=1, repeats=repeats)
            runs = [timing for timing, _ in results[1:]]          # the warm-up run is dropped
            median = {key: float(np.median([run[key] for run in runs])) for key in runs[0]}
            counts = results[-1][1]
            target = TARGETS[case]
            rows.append([case, length, counts["drawn_steps"], format_ms(median["export"]),
                         format_ms(median["dot"]), format_ms(median["render"]),
                         format_ms(median["total"]), format_ms(median["cpu"]), f"{target:.0f} s",
                         "ok" if median["total"] < target else "SLOW"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--long", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 and 30 steps, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.long, args.repeats = 4, 30, 1
    rows = measure(args.steps, args.long, args.repeats)
    print(f"dot executable: {viz.find_dot()}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs; median of {args.repeats} runs (ms)")
    print(markdown_table(["case", "steps", "drawn", "to_networkx", "to_dot", "render_svg",
                          "total", "cpu (this process)", "target", ""], rows))
    return rows


if __name__ == "__main__":
    main()
