"""Work the commands refuse before starting it, because it would not finish in reasonable
time or memory: each refusal says how big the work is, roughly how long it would take, and the
option that makes it feasible.

Four sizes decide:
- gradcheck checks every loss term R[t] on its own: T backward passes through all T steps,
  and two forward passes of T steps for each of the n weight elements, two more for an element
  whose difference rounding does not explain (every element, under a truncation that drops
  paths), at most T (T + 4n) step evaluations in all. It grows with T^2, so a progress bar
  would only announce hours.
- render keeps every recorded step twice, as engine nodes and as a networkx graph, although
  the picture shows at most --max-steps of them.
- Graphviz's layout time grows about with the square of the nodes it lays out (the drawn
  steps times the nodes of a step: 4 to 5 at step level, 8 to 11 at op level).
- the explorer page (-o x.html) draws every step and runs a backward pass per loss term and
  policy: T^2 (benchmarks/bench_page.py times it).
The rates that turn sizes into times, and the limits (each about ten seconds to a minute of
work), come from benchmarks/bench_cli.py, which prints what this machine does against them.
"""
import math

from tinygrad_rnn import SettingError

GRADCHECK_STEP_EVALUATIONS = 2_000_000     # the limit: about T = 1,270 (lstm) to 1,380
STEP_EVALUATIONS_PER_SECOND = 50_000
RECORDED_STEPS = 20_000                    # the limit on render --steps
BYTES_PER_RECORDED_STEP = 30_000           # engine nodes and networkx graph, step level
LAYOUT_NODES = 10_000                      # the limit on the nodes Graphviz lays out
LAYOUT_SECONDS_AT_LIMIT = 15
PAGE_STEPS = 1_000                         # the limit on render -o x.html
PAGE_SECONDS_AT_LIMIT = 80                 # benchmarks/bench_page.py: T = 1000 built in 80 s
FEWEST_NODES_PER_STEP = {"step": 4, "op": 8}


def check_gradcheck(steps, weights):
    """Refuse a per-step gradcheck of `steps` steps of a model with `weights` weight elements
    past GRADCHECK_STEP_EVALUATIONS."""
    cost = gradcheck_cost(steps, weights)
    if cost <= GRADCHECK_STEP_EVALUATIONS:
        return
    largest = math.isqrt(4 * weights * weights + GRADCHECK_STEP_EVALUATIONS) - 2 * weights
    seconds = cost / STEP_EVALUATIONS_PER_SECOND
    seconds_at_largest = gradcheck_cost(largest, weights) / STEP_EVALUATIONS_PER_SECOND
    raise SettingError(
        f"--steps {steps}: gradcheck would check each of the {steps} loss terms R[t] with its "
        f"own backward pass through all {steps} steps, and each of the {weights} weight "
        f"elements with up to 4 forward passes of {steps} steps: {cost:,} step evaluations, "
        f"roughly {duration(seconds)}; use --steps {largest} or fewer (roughly "
        f"{duration(seconds_at_largest)})")


def gradcheck_cost(steps, weights):
    """Step evaluations of a per-step gradcheck: T backward passes and at most 4n forward
    passes (2n, and 2 more for each element whose difference rounding does not explain)."""
    return steps * (steps + 4 * weights)


def check_render(steps, max_steps, level):
    """Refuse, before recording anything, a picture that records more than RECORDED_STEPS
    steps or lays out more nodes than LAYOUT_NODES even at the fewest nodes a step has."""
    drawn = min(steps, max_steps)
    fewest = drawn * FEWEST_NODES_PER_STEP[level]
    problems = []
    if steps > RECORDED_STEPS:
        problems.append(
            f"--steps {steps}: render records every step, about "
            f"{BYTES_PER_RECORDED_STEP // 1000} kB each with its graph, so about "
            f"{_size(steps * BYTES_PER_RECORDED_STEP)} for a picture that shows at most "
            f"--max-steps of them; use --steps {RECORDED_STEPS} or fewer")
    if fewest > LAYOUT_NODES:
        problems.append(_layout_problem(fewest, drawn, max_steps, "at least "))
    if problems:
        raise SettingError("; and ".join(problems))


def check_page(steps):
    """Refuse an explorer page past PAGE_STEPS steps: it draws every step (no elision) and
    runs one backward pass per loss term and policy, work that grows with T^2."""
    if steps > PAGE_STEPS:
        seconds = PAGE_SECONDS_AT_LIMIT * (steps / PAGE_STEPS) ** 2
        raise SettingError(
            f"--steps {steps}: the explorer page draws every step and runs one backward pass "
            f"per loss term and policy, work that grows with T^2: roughly {duration(seconds)}; "
            f"use --steps {PAGE_STEPS} or fewer, or write .svg (it elides the middle steps)")


def check_layout(nodes, drawn, max_steps):
    """Refuse to lay out `nodes` nodes (those of the `drawn` steps) past LAYOUT_NODES."""
    if nodes > LAYOUT_NODES:
        raise SettingError(_layout_problem(nodes, drawn, max_steps))


def _layout_problem(nodes, drawn, max_steps, qualifier=""):
    seconds = LAYOUT_SECONDS_AT_LIMIT * (nodes / LAYOUT_NODES) ** 2
    fitting = max(1, drawn * LAYOUT_NODES // nodes)
    return (f"--max-steps {max_steps}: Graphviz would lay out {drawn} steps, {qualifier}{nodes} "
            f"nodes, roughly {duration(seconds)} (its layout time grows about with the square "
            f"of the nodes); use --max-steps {fitting} or fewer (the default, 20, draws the "
            f"first and last 3 steps and one node for the steps between)")


def duration(seconds):
    """'40 seconds', '12 minutes', '3.5 hours', '20 days': a rough time, in words."""
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{_rounded(seconds / size)} {unit}"
    return f"{max(1, round(seconds))} seconds"


def _size(count):
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if count >= size:
            return f"{_rounded(count / size)} {unit}"
    return f"{count / 1e3:.0f} kB"


def _rounded(value):
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
