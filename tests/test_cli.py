"""The command line, run in-process through tinygrad_rnn_cli.main (and once as a module); its
errors, run in subprocesses, are in test_cli_errors.py."""
import subprocess
import sys
from pathlib import Path

import pytest
from viz_problems import groups, parse

from tinygrad_rnn.truncation import resolve
from tinygrad_rnn_cli import main, policy_drops_paths

ROOT = Path(__file__).resolve().parents[1]


# Elman's cut state h[t-1] feeds one edge (into h[t]): T-1 marked edges. Jordan's cut state s[t]
# feeds two, into h[t] and into s[t+1] = mu s[t] + y[t] (but s[T] feeds no s[T+1]): 2T-3.
@pytest.mark.parametrize("model, truncation, steps, marked", [
    ("elman", "elman", 6, 5), ("elman", "chunked:2", 7, 3), ("elman", "full", 6, 0),
    ("jordan", "elman", 5, 7), ("mlp", "full", 4, 0)])
def test_render(tmp_path, capsys, model, truncation, steps, marked):
    out = tmp_path / "graph.svg"
    assert main(["render", "--model", model, "--steps", str(steps), "--truncation", truncation,
                 "--highlight", "W1", "-o", str(out)]) == 0
    root = parse(out.read_text())
    assert len(groups(root, "edge", "truncated")) == marked
    assert len(groups(root, "edge", "highlighted")) == steps
    assert len(groups(root, "cluster", "step")) == steps
    assert f"{marked} edges marked truncated" in capsys.readouterr().out


# The gated cells: the LSTM's cut state is the pair (h, c), so each step boundary drops three
# edges (h[t-1] -> h[t], h[t-1] -> c[t], c[t-1] -> c[t]) and W1 reaches both c[t] and h[t] (the
# o gate); the GRU's is h alone.
@pytest.mark.parametrize("model, dropped_per_boundary, w1_edges_per_step",
                         [("lstm", 3, 2), ("gru", 1, 1)])
def test_render_and_gradcheck_a_gated_cell(tmp_path, capsys, model, dropped_per_boundary,
                                            w1_edges_per_step):
    out, steps = tmp_path / f"{model}.svg", 5
    assert main(["render", "--model", model, "--steps", str(steps), "--truncation", "elman",
                 "--highlight", "W1", "-o", str(out)]) == 0
    root = parse(out.read_text())
    assert len(groups(root, "cluster", "step")) == steps
    assert len(groups(root, "edge", "truncated")) == dropped_per_boundary * (steps - 1)
    assert len(groups(root, "edge", "highlighted")) == w1_edges_per_step * steps
    capsys.readouterr()
    assert main(["gradcheck", "--model", model, "--steps", "4"]) == 0
    printed = capsys.readouterr().out
    assert f"{model} network" in printed and "verdict: passed, as predicted" in printed


def test_render_op_level_and_a_loss_term(tmp_path):
    out = tmp_path / "op.svg"
    assert main(["render", "--steps", "4", "--truncation", "elman", "--level", "op",
                 "-o", str(out)]) == 0
    assert len(groups(parse(out.read_text()), "edge", "truncated")) == 3
    assert main(["render", "--steps", "6", "--truncation", "window:2", "--loss-term", "5",
                 "-o", str(out)]) == 0
    assert len(groups(parse(out.read_text()), "edge", "truncated")) == 1


def test_render_refuses_an_unknown_weight(tmp_path):
    with pytest.raises(SystemExit, match="W9"):
        main(["render", "--highlight", "W9", "-o", str(tmp_path / "x.svg")])


def test_bad_truncation_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["render", "--truncation", "chunked"])
    assert caught.value.code == 2 and "chunked:K" in capsys.readouterr().err


def test_gradcheck_full_passes(capsys):
    assert main(["gradcheck", "--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert "gradcheck passed" in out and "as predicted" in out


def test_gradcheck_elman_fails_as_predicted_and_says_by_how_much(capsys):
    assert main(["gradcheck", "--steps", "4", "--truncation", "elman"]) == 0
    out = capsys.readouterr().out
    assert "FAILED" in out and "first disagreement at t=2" in out and "as predicted" in out
    assert "W1" in out and "% of |full|" in out


def test_a_truncation_that_drops_nothing_is_predicted_to_pass():
    assert not policy_drops_paths(resolve("window:5"), 5)
    assert not policy_drops_paths(resolve("chunked:5"), 5)
    assert policy_drops_paths(resolve("window:4"), 5)
    assert not policy_drops_paths(resolve("elman"), 1)


def test_demo_writes_the_lectures_figures(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "figures")]) == 0
    full = parse((tmp_path / "figures" / "elman_full_W1.svg").read_text())
    truncated = parse((tmp_path / "figures" / "elman_truncated.svg").read_text())
    assert len(groups(full, "edge", "highlighted")) == 5 and not groups(full, "edge", "truncated")
    assert len(groups(truncated, "edge", "truncated")) == 4
    out = capsys.readouterr().out
    assert out.count("gradcheck passed") == 1 and out.count("gradcheck FAILED") == 1
    assert "lag 0" in out


def test_python_dash_m_routes_to_the_cli(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn_cli", "render", "--steps", "3",
                           "--truncation", "elman", "-o", str(tmp_path / "m.svg")],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert "2 edges marked truncated" in done.stdout


def test_an_empty_output_path_is_called_empty(tmp_path, monkeypatch):
    """-o '' was reported as '-o .: the extension (none) names no format'."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="-o: the path is empty"):
        main(["render", "-o", ""])
