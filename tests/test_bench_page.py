"""benchmarks/bench_page.py runs at a tiny size in Chromium and prints its table (times are
printed, never asserted)."""
import sys
from pathlib import Path

from browser import require_browser

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_page  # noqa: E402


def test_benchmark_prints_its_table(capsys, tmp_path):
    require_browser()
    rows = bench_page.main(["--quick", "--docs", str(tmp_path)])
    assert [row[0] for row in rows] == [4, 12]
    assert all(float(row[1]) > 0 for row in rows)
    out = capsys.readouterr().out
    assert "| T | page (MB) |" in out and "load average" in out
    for figure in ("explorer.png", "reach_matrix.png"):
        assert (tmp_path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
