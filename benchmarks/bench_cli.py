"""What the command line's limits assume, measured: tinygrad_rnn_cli/limits.py turns sizes into
rough times with a few rates, and this prints those rates as this machine does them.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_cli.py [--repeats 3] [--quick]

- gradcheck: a per-step gradcheck of T steps costs at most T (T + 4n) step evaluations (T
  backward passes through T steps, up to 4n forward passes: a truncation's elements, which
  rounding does not explain, take two more each); measured as step evaluations per second.
- layout: the seconds `dot` takes to lay out a step-level picture of N nodes, next to the
  quadratic model limits.py uses (LAYOUT_SECONDS_AT_LIMIT at LAYOUT_NODES nodes).
- recording: the memory one recorded step keeps for a picture (the engine's graph after
  backward, and the step-level networkx graph), traced by tracemalloc, per step.
Times are medians of --repeats runs after one warm-up; the machine's load is printed with them,
since a shared machine can easily double them. --quick is a smoke run at tiny sizes. Nothing
here is a target: the limits are set to about ten seconds to a minute of work, and these
numbers say how far this machine is from the rates they assume.
"""
import argparse
import io
import os

import numpy as np
from harness import markdown_table, peak_memory_mib, time_runs

import viz
from tinygrad_rnn import nn
from tinygrad_rnn_cli import limits, run_gradcheck
from tinygrad_rnn_cli.problem import build


def recorded(steps):
    """(R after backward, named parameters) of the Elman network over `steps` steps."""
    net, params, xs, vs = build("elman", steps)
    ys, _ = net(xs, truncation="elman")
    loss = nn.sequence_loss(ys, vs)
    loss.backward()
    return loss, params


def gradcheck_rows(sizes, repeats):
    rows = []
    weights = sum(p.data.size for p in build("elman", 1)[1].values())
    for steps in sizes:
        seconds = float(np.median(time_runs(
            lambda steps=steps: run_gradcheck("elman", steps, "elman", out=io.StringIO()),
            warmup=1, repeats=repeats)))
        rate = limits.gradcheck_cost(steps, weights) / seconds
        rows.append(["gradcheck", f"T = {steps}", f"{seconds:.3f}",
                     f"{rate:,.0f} step evaluations/s",
                     f"{limits.STEP_EVALUATIONS_PER_SECOND:,} step evaluations/s"])
    return rows


def layout_rows(sizes, repeats):
    rows = []
    for steps in sizes:
        loss, params = recorded(steps)
        graph = viz.to_networkx(loss, params)
        source = viz.to_dot(graph, max_steps=steps).source
        seconds = float(np.median(time_runs(lambda source=source: viz.to_svg(source),
                                            warmup=1, repeats=repeats)))
        nodes = graph.number_of_nodes()
        assumed = limits.LAYOUT_SECONDS_AT_LIMIT * (nodes / limits.LAYOUT_NODES) ** 2
        rows.append(["layout", f"{nodes} nodes", f"{seconds:.3f}", f"{seconds:.3g} s",
                     f"{assumed:.3g} s"])
    return rows


def recording_rows(sizes):
    rows = []
    for steps in sizes:
        kept = []

        def record(steps=steps, kept=kept):
            loss, params = recorded(steps)
            kept.append((loss, viz.to_networkx(loss, params)))     # alive at the peak

        per_step = peak_memory_mib(record) * 2**20 / steps
        kept.clear()
        rows.append(["recording", f"T = {steps}", "-", f"{per_step:,.0f} bytes/step",
                     f"{limits.BYTES_PER_RECORDED_STEP:,} bytes/step"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run at tiny sizes")
    args = parser.parse_args(argv)
    gradcheck_sizes, layout_sizes, recording_sizes = ((100, 200, 400), (250, 500, 1000),
                                                      (2000,))
    if args.quick:
        gradcheck_sizes, layout_sizes, recording_sizes, args.repeats = (4,), (4,), (20,), 1
    rows = (gradcheck_rows(gradcheck_sizes, args.repeats) +
            layout_rows(layout_sizes, args.repeats) + recording_rows(recording_sizes))
    print(f"dot executable: {viz.find_dot()}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs; median of {args.repeats} runs")
    print(markdown_table(["what", "size", "median (s)", "measured", "limits.py assumes"], rows))
    return rows


if __name__ == "__main__":
    main()
