"""The explorer page: its size, how long it takes to build, to first paint and to answer a
click, at T = 8, 200 and 1000 (an Elman network 2 -> 3 -> 1, the default four policies).

    python benchmarks/bench_page.py [--steps 8 200 1000] [--repeats 3] [--quick] [--docs docs]

Build: viz.explore (four recordings, one engine backward per loss term and policy, the layout)
next to viz.render_svg of the same graph (the static picture), measured in the same run. In
Chromium (Debian's, driven by Playwright), on performance.now()'s clock from navigation start:
first paint (the paint timing entry: the page's header, before its SVG is in), script ready
(the page's data read and its controls wired) and graph painted (two animation frames after
that: the SVG drawn); and click to highlight, from a click on R[t] until two animation frames
later (the classes set and painted), median over clicks on several terms and policies. Rounds
are interleaved (every size once per round) and medians reported with the machine's load,
since a shared machine easily doubles them. --docs DIR writes the README's figures:
explorer.png (a screenshot) and reach_matrix.png. --quick: T = 4 and 12, one round.
"""
import argparse
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import markdown_table

import viz
from tinygrad_rnn import nn

CHROMIUM = os.environ.get("TINYGRAD_RNN_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync"]
CLICK = """async number => {
    const node = document.querySelector(`g.node[data-n="${number}"]`);
    const start = performance.now();
    node.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    return performance.now() - start; }"""
PAINTS = """() => Object.fromEntries(performance.getEntriesByType('paint')
    .map(entry => [entry.name, entry.startTime]))"""


def problem(steps, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Elman(2, 3, 1, seed=seed)
    return model, rng.standard_normal((steps, 1, 2)), rng.standard_normal((steps, 1, 1))


def build(steps, folder):
    """(seconds for the page, seconds for the static SVG, page path, page)."""
    model, xs, vs = problem(steps)
    start = time.perf_counter()
    page = viz.explore(model, xs, vs)
    path = viz.render_html(page, Path(folder) / f"explorer{steps}.html")
    built = time.perf_counter() - start
    ys, _ = model(xs, truncation="full")
    start = time.perf_counter()
    graph = viz.to_networkx(nn.sequence_loss(ys, vs), model, level="step")
    viz.render_svg(viz.to_dot(graph, max_steps=steps), Path(folder) / f"static{steps}.svg")
    return built, time.perf_counter() - start, path, page


def in_browser(browser, path, terms):
    """{paint, ready, painted, click}: milliseconds on the page's performance.now() clock."""
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(Path(path).resolve().as_uri())
    tab.wait_for_selector("html[data-painted-ms]", state="attached")
    paints = tab.evaluate(PAINTS)
    ready = float(tab.get_attribute("html", "data-ready-ms"))
    painted = float(tab.get_attribute("html", "data-painted-ms"))
    numbers = tab.evaluate("() => JSON.parse(document.getElementById('explorer-data')"
                           ".textContent).terms")
    clicks = []
    for i, t in enumerate(terms):
        tab.evaluate("i => document.querySelectorAll('#policies input')[i].click()", i % 4)
        clicks.append(tab.evaluate(CLICK, numbers[t - 1]))
    tab.close()
    if errors:
        raise RuntimeError(f"{path}: {errors}")
    return {"paint": paints.get("first-paint", math.nan), "ready": ready, "painted": painted,
            "click": statistics.median(clicks)}


def measure(steps_list, repeats, docs=None):
    from playwright.sync_api import sync_playwright
    runs = {steps: [] for steps in steps_list}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            for _ in range(repeats):
                for steps in steps_list:          # interleaved: every size once per round
                    built, static, path, page = build(steps, folder)
                    terms = sorted({1, max(1, steps // 2), steps, max(1, steps - 3),
                                    max(1, steps // 3)})
                    timing = in_browser(browser, path, terms)
                    runs[steps].append(dict(timing, build=built, static=static,
                                            size=page.size))
            if docs:
                figures(browser, Path(docs), Path(folder))
        finally:
            browser.close()
    rows = []
    for steps in steps_list:
        median = {key: statistics.median(run[key] for run in runs[steps])
                  for key in runs[steps][0]}
        rows.append([steps, f"{median['size'] / 1e6:.2f}", f"{median['build']:.2f}",
                     f"{median['static']:.2f}", f"{median['build'] / median['static']:.0f}x",
                     f"{median['paint']:.0f}",
                     f"{median['ready']:.0f}", f"{median['painted']:.0f}",
                     f"{median['click']:.1f}"])
    return rows


def figures(browser, docs, folder):
    """The README's screenshot of the page and the reach-matrix figure."""
    model, xs, vs = problem(10)
    path = viz.render_html(viz.explore(model, xs, vs, highlight="W1"), folder / "shot.html")
    tab = browser.new_page(viewport={"width": 1180, "height": 800})
    tab.goto(path.resolve().as_uri() + "#R[8]&policy=window(3)")
    tab.wait_for_selector("html[data-ready=true]", state="attached")
    docs.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(docs / "explorer.png"), full_page=True)
    tab.close()
    model, xs, vs = problem(16)
    viz.plot_reach_matrix(viz.record_policies(model, xs, vs), model,
                          path=docs / "reach_matrix.png",
                          title="Where the gradient of each loss term R[t] reaches (T = 16)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 200, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: T = 4 and 12, 1 round")
    parser.add_argument("--docs", default=None, help="write explorer.png and reach_matrix.png")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeats = [4, 12], 1
    rows = measure(args.steps, args.repeats, args.docs)
    print(f"Chromium {CHROMIUM}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} "
          f"CPUs; medians of {args.repeats} interleaved rounds")
    print(markdown_table(["T", "page (MB)", "build (s)", "static SVG (s)", "build / SVG",
                          "first paint (ms)", "script ready (ms)", "graph painted (ms)",
                          "click to highlight (ms)"], rows))
    return rows


if __name__ == "__main__":
    main()
