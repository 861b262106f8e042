"""The README's Python tour runs as written, and its two commands are the ones dev.py and
.ci/run provide."""
from readme_text import README, ROOT, python_block_after


def test_the_tour_runs(capsys):
    namespace = {}
    exec(compile(python_block_after("## Build, train, prove"), "README tour", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "gradcheck FAILED" in printed and "first disagreement at t=2" in printed
    assert not namespace["report"]


def test_the_visualizer_from_python_runs_on_its_own(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(python_block_after("### From Python"), "README viz", "exec"), namespace)
    assert (tmp_path / "elman.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert namespace["G"].number_of_nodes() > 8 * 4 and "W1" in capsys.readouterr().out


def test_the_two_commands_are_the_ones_ci_runs():
    assert "python3 dev.py demo" in README and "python3 dev.py test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py test" in ci
