"""benchmarks/bench_viz.py runs (at a tiny size; times are printed, never asserted)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_viz  # noqa: E402


def test_benchmark_prints_its_table(capsys):
    rows = bench_viz.main(["--quick"])
    assert [row[:3] for row in rows] == [["short", 4, 4], ["long", 30, 6]]
    out = capsys.readouterr().out
    assert "| case | steps | drawn |" in out and "load average" in out
