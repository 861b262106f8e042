"""benchmarks/bench_cli.py runs (at a tiny size; times are printed, never asserted)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_cli  # noqa: E402


def test_benchmark_prints_its_table(capsys):
    rows = bench_cli.main(["--quick"])
    assert [row[:2] for row in rows] == [["gradcheck", "T = 4"], ["layout", "23 nodes"],
                                         ["recording", "T = 20"]]
    out = capsys.readouterr().out
    assert "| what | size | median (s) | measured | limits.py assumes |" in out
    assert "load average" in out
