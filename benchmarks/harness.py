"""Measuring callables: median wall time, peak traced memory, and markdown tables of ratios.

Numbers from one machine are only meaningful next to a reference measured in the same process,
so everything here reports medians and ratios against a named reference; nothing asserts a time.

    >>> import numpy as np
    >>> medians = interleaved_medians({"ones": lambda: np.ones(1000).sum(), "torch": None},
    ...                               warmup=1, repeats=3)
    >>> print(ratio_table(medians, reference="ones", value_header="median (ms)",
    ...                   format_value=format_ms).splitlines()[0])
    | name | median (ms) | ratio vs ones |
"""
import gc
import statistics
import time
import tracemalloc

MIB = 2**20


def time_runs(fn, *, warmup=1, repeats=5):
    """Wall times in seconds of `repeats` calls of fn(), after `warmup` untimed calls.

    Garbage is collected before every call so that a collection triggered by the previous
    call's leftovers is not billed to this one.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return runs


def interleaved_medians(fns, *, warmup=1, repeats=5):
    """{name: median seconds} for several callables timed in rounds, one call of each per round.

    fns: {name: zero-argument callable, or None when the candidate is not available (torch not
    installed): its median is None, which ratio_table prints as n/a}. On a shared machine the
    load drifts during a benchmark; timing candidates round-robin instead of one after the other
    spreads that drift over all of them, so their ratios stay meaningful even when the absolute
    times do not.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    available = {name: fn for name, fn in fns.items() if fn is not None}
    for fn in available.values():
        for _ in range(warmup):
            fn()
    runs = {name: [] for name in available}
    for _ in range(repeats):
        for name, fn in available.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - start)
    return {name: statistics.median(runs[name]) if name in runs else None for name in fns}


def microseconds_per_op(chains, n_ops, *, warmup=1, repeats=5):
    """{name: median microseconds per op} of callables that each run a chain of n_ops ops,
    timed as `interleaved_medians` does; a None chain gives None."""
    medians = interleaved_medians(chains, warmup=warmup, repeats=repeats)
    return {name: None if seconds is None else seconds / n_ops * 1e6
            for name, seconds in medians.items()}


def peak_memory_mib(fn):
    """Peak traced memory during fn() above what was traced just before it, in MiB.

    Only allocations that report to tracemalloc count: Python objects and numpy arrays do,
    PyTorch's tensors (its own C++ allocator) do not. Tracing slows allocation down, so never
    time a call while measuring its memory. Tracing is left on or off as it was found (its peak
    is reset either way).
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        gc.collect()
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return (peak - baseline) / MIB


def format_ms(seconds):
    """'12.345' for 0.012345 s: fixed unit and decimals so tables line up run after run."""
    return f"{seconds * 1e3:.3f}"


def format_us(microseconds):
    return f"{microseconds:.3f}"


def format_mib(mib):
    return f"{mib:.1f}"


def markdown_table(headers, rows):
    """A markdown table as a string; every cell is str()-ed and rows keep their given order.

    >>> print(markdown_table(["a", "b"], [[1, "x"]]))
    | a | b |
    |---|---|
    | 1 | x |
    """
    lines = ["| " + " | ".join(str(cell) for cell in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells for {len(headers)} headers")
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def ratio_table(values, reference, *, value_header, format_value):
    """Markdown table of values and their ratio to values[reference], in the dict's order.

    values: {name: number or None}; None (not measured, e.g. torch missing) prints as "n/a".
    The ratio is value / reference, so 2.00x means twice the reference's time or memory.

    >>> print(ratio_table({"ref": 2.0, "b": 3.0, "c": None}, "ref", value_header="s",
    ...                   format_value=str))
    | name | s | ratio vs ref |
    |---|---|---|
    | ref | 2.0 | 1.00x |
    | b | 3.0 | 1.50x |
    | c | n/a | n/a |
    """
    if values.get(reference) is None:
        raise ValueError(f"reference {reference!r} has no value; values are {values!r}")
    reference_value = values[reference]
    rows = []
    for name, value in values.items():
        if value is None:
            rows.append([name, "n/a", "n/a"])
        else:
            rows.append([name, format_value(value), f"{value / reference_value:.2f}x"])
    return markdown_table(["name", value_header, f"ratio vs {reference}"], rows)


def summary_table(medians_by_size, references, subject="tinygrad_rnn"):
    """Markdown table, one row per size, of `subject`'s median as a ratio to each reference's:
    references is {column header: name}; a reference that did not run (None, e.g. torch
    missing) prints "n/a".

    >>> print(summary_table({"small": {"e": 3.0, "r": 2.0, "t": None}},
    ...                     {"vs r": "r", "vs t": "t"}, subject="e"))
    | size | vs r | vs t |
    |---|---|---|
    | small | 1.50x | n/a |
    """
    rows = []
    for size, medians in medians_by_size.items():
        subject_value = medians[subject]
        rows.append([size] + ["n/a" if medians.get(name) is None
                              else f"{subject_value / medians[name]:.2f}x"
                              for name in references.values()])
    return markdown_table(["size", *references], rows)


def sizes_argument(parser, known, repeats=7):
    """Add --sizes, --repeats and --quick to a step benchmark's parser; returns a function of
    the parsed arguments giving (the sizes to run, the repeats): ["tiny"] and 1 with --quick.
    A size not in `known` or fewer than one repeat is a usage error."""
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny size, 1 repeat")

    def chosen(args):
        if args.quick:
            return ["tiny"], 1
        sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
        unknown = [s for s in sizes if s not in known]
        if unknown:
            parser.error(f"unknown sizes {unknown}; known: {', '.join(known)}")
        if args.repeats < 1:
            parser.error(f"--repeats must be at least 1, got {args.repeats}")
        return sizes, args.repeats
    return chosen
