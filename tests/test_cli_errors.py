"""The command line tried as an adversary would, in subprocesses (the exit code and stderr are
what is tested): every error a user can cause is one line, `tinygrad-rnn: ...`, and a non-zero
exit code, never a traceback; -o's extension picks the format; long work is refused up front
with its size and the option that makes it feasible; a bug keeps its traceback."""
import io
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from page_helpers import svg_root
from viz_problems import groups, parse

import tinygrad_rnn_cli.command_line as command_line
import viz
from tinygrad_rnn_cli import main, run_gradcheck
from tinygrad_rnn_cli.limits import BYTES_PER_RECORDED_STEP, GRADCHECK_STEP_EVALUATIONS
from tinygrad_rnn_cli.outputs import FORMATS

ROOT = Path(__file__).resolve().parents[1]
PYTHON = [sys.executable, "-m", "tinygrad_rnn_cli"]


def run(*args, cwd, env=None, user=None, timeout=120):
    return subprocess.run(PYTHON + [str(a) for a in args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, user=user,
                          timeout=timeout)


def one_line_error(done, *phrases, code=1):
    """The stderr of a failed run: one line, the program's name first, no traceback."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-rnn: "), done.stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]


# --- output paths ---

@pytest.mark.parametrize("output", ["x.htm", "x.jpg", "x", "x.svg.bak", "."])
def test_an_extension_that_names_no_format_is_refused_with_the_list(tmp_path, output):
    done = run("render", "-o", output, cwd=tmp_path)
    one_line_error(done, "names no format", ".svg (SVG picture)", ".png (PNG picture)",
                   ".dot (Graphviz DOT source)", ".html (explorer page)")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("output, phrase", [
    ("folder.svg", "is a folder"),                  # made a folder below
    ("file.txt/x.svg", "file.txt is not a folder"),
    ("/dev/null/x.svg", "/dev/null is not a folder"),
    ("/proc/x.svg", "cannot write /proc/x.svg"),
    ("/proc/self/no/such/x.svg", "cannot write /proc/self/no/such/x.svg"),
])
def test_an_output_path_that_cannot_be_written(tmp_path, output, phrase):
    (tmp_path / "folder.svg").mkdir()
    (tmp_path / "file.txt").write_text("keep me")
    one_line_error(run("render", "--steps", 2, "-o", output, cwd=tmp_path), phrase)
    assert (tmp_path / "file.txt").read_text() == "keep me"


def refused_in_process(monkeypatch, folder, *args):
    """main(args) run in `folder`: the one-line message it exits with (as SystemExit)."""
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as raised:
        main([str(a) for a in args])
    message = str(raised.value.code)
    assert message.startswith("tinygrad-rnn: ") and "\n" not in message, message
    return message


@pytest.mark.parametrize("output", ["x.svg/", "x.png/.", "sub/x.html/"])
def test_an_output_that_ends_in_a_separator_names_a_folder(tmp_path, monkeypatch, output):
    """A Path drops the separator: x.svg/ would write the file x.svg. Refused before any work."""
    assert "names a folder" in refused_in_process(monkeypatch, tmp_path, "render", "--steps", 2,
                                                  "-o", output)
    assert not list(tmp_path.iterdir())


@pytest.fixture
def read_only_folder():
    """(folder, user): a folder the user cannot write into. Root writes anywhere, so as root
    the command runs as `nobody`; the folder is outside pytest's root-only temporary tree."""
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("nobody").pw_name
        except KeyError:
            pytest.skip("running as root without a `nobody` user to drop to")
        probe = subprocess.run([sys.executable, "-c", "import tinygrad_rnn_cli"], user=user,
                               cwd="/", capture_output=True)
        if probe.returncode:
            pytest.skip("`nobody` cannot read this checkout or its Python")
    base = Path(tempfile.mkdtemp(prefix="tinygrad-rnn-cli-"))
    folder = base / "read-only"
    folder.mkdir()
    base.chmod(0o755)
    folder.chmod(0o555)
    yield folder, user
    folder.chmod(0o755)
    shutil.rmtree(base)


@pytest.mark.parametrize("name", ["x.svg", "missing/parent/x.svg", "x.png", "x.dot"])
def test_a_read_only_folder(read_only_folder, name):
    folder, user = read_only_folder
    done = run("render", "--steps", 2, "-o", folder / name, cwd=folder, user=user,
               env={"HOME": str(folder)})
    one_line_error(done, f"cannot write {folder / name}", "Permission denied")
    assert not list(folder.iterdir())


def test_a_special_file_is_not_replaced(tmp_path):
    os.mkfifo(tmp_path / "pipe.svg")
    one_line_error(run("render", "-o", "pipe.svg", cwd=tmp_path),
                   "-o pipe.svg: is a named pipe (FIFO), not a regular file")
    assert (tmp_path / "pipe.svg").is_fifo()


def test_demo_out_naming_a_file(tmp_path):
    (tmp_path / "figures").write_text("not a folder")
    one_line_error(run("demo", "--out", "figures", cwd=tmp_path), "--out figures: is a file")
    assert (tmp_path / "figures").read_text() == "not a folder"


def test_demo_out_empty(tmp_path, monkeypatch):
    """--out "" (an unset variable, say) would write the figures into the current folder."""
    assert "--out is empty" in refused_in_process(monkeypatch, tmp_path, "demo", "--out", "")
    assert not list(tmp_path.iterdir())


# --- options ---

@pytest.mark.parametrize("args, phrase", [
    (["render", "--seed", "-1"], "render: argument --seed: must be a whole number >= 0, got '-1'"),
    (["gradcheck", "--seed", "x"], "argument --seed: must be a whole number >= 0, got 'x'"),
    (["demo", "--seed", "-3"], "demo: argument --seed"),
    (["render", "--steps", "0"], "argument --steps/-T: must be a whole number >= 1, got '0'"),
    (["render", "--max-steps", "0"], "argument --max-steps: must be a whole number >= 1"),
    (["render", "--loss-term", "0"], "argument --loss-term: must be a whole number >= 1"),
    (["render", "--truncation", "chunked"], "chunked:K"),
    (["render", "--model", "rnn"], "invalid choice: 'rnn'"),
    (["paint"], "invalid choice: 'paint'"),
    ([], "the following arguments are required: command"),
])
def test_a_bad_option_is_a_one_line_usage_error(tmp_path, args, phrase):
    one_line_error(run(*args, cwd=tmp_path), phrase, "--help", code=2)


@pytest.mark.parametrize("args, phrase", [
    (["--highlight", "W9"], "cannot highlight 'W9': the parameters are W1, Wm, b1, W2, b2"),
    (["--loss-term", "7"], "--loss-term 7: the loss terms are R[1] .. R[6]"),
])
def test_an_option_the_model_does_not_have(tmp_path, args, phrase):
    one_line_error(run("render", *args, cwd=tmp_path), phrase)


# --- the dot executable ---

def fake_dot(folder, script):
    path = folder / "fake-dot"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return {"TINYGRAD_RNN_DOT": str(path)}


@pytest.mark.parametrize("script, output, phrase", [
    ("exit 0", "x.svg", "exited with 0 but wrote nothing"),
    ("echo 'not a picture'", "x.svg", "not well-formed XML"),
    ("echo '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'", "x.png", "PNG's signature"),
    ("echo 'syntax error in line 1' >&2; echo 'near here' >&2; exit 3", "x.svg",
     "failed with exit code 3: syntax error in line 1; near here"),
])
def test_a_dot_that_fails_or_writes_no_picture_keeps_the_old_file(tmp_path, script, output,
                                                                   phrase):
    (tmp_path / output).write_bytes(b"the good picture")
    done = run("render", "--steps", 2, "-o", output, cwd=tmp_path,
               env=fake_dot(tmp_path, script))
    one_line_error(done, phrase)
    assert (tmp_path / output).read_bytes() == b"the good picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-dot", output]


def test_no_graphviz_executable(tmp_path):
    done = run("render", "--steps", 2, cwd=tmp_path, env={"TINYGRAD_RNN_DOT": "/no/such/dot"})
    one_line_error(done, "TINYGRAD_RNN_DOT='/no/such/dot' is not an executable")


# --- formats ---

def test_the_extension_picks_the_format(tmp_path):
    for output in ("elman.svg", "elman.png", "elman.dot", "ELMAN.SVG"):
        done = run("render", "--steps", 4, "--truncation", "elman", "-o", output, cwd=tmp_path)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert f"wrote {output}: 4 steps (4 drawn), 3 edges marked truncated" in done.stdout
    svg = (tmp_path / "elman.svg").read_bytes()
    assert len(groups(parse(svg), "edge", "truncated")) == 3
    assert (tmp_path / "ELMAN.SVG").read_bytes() == svg
    assert (tmp_path / "elman.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    source = (tmp_path / "elman.dot").read_text()
    assert source.startswith("digraph unrolled {")
    assert source.count('class="truncated recurrent"') == 3
    assert viz.to_svg(source).encode() == svg                # the DOT the SVG was drawn from
    assert sorted(FORMATS) == [".dot", ".html", ".png", ".svg"]
    done = run("render", "--steps", 4, "--truncation", "window:3", "-o", "elman.html",
               cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    page = (tmp_path / "elman.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "window(3)" in page and "chunked(2)" in page


def test_the_page_takes_highlight_and_title_and_says_which_options_it_does_not_take(tmp_path):
    done = run("render", "--steps", 5, "--highlight", "W1", "--title", "my page", "--loss-term",
               3, "--level", "op", "-o", "p.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [warning] = done.stderr.splitlines()
    assert warning.startswith("tinygrad-rnn: warning: -o p.html: --level op, --loss-term apply "
                              "to .svg, .png and .dot") and "p.html#R[t]" in warning
    assert "wrote p.html: the explorer page, 5 steps" in done.stdout
    page = (tmp_path / "p.html").read_text()
    assert "<title>my page</title>" in page
    assert len(groups(svg_root(page), "edge", "highlighted")) == 5     # W1, T = 5


def test_a_page_warns_of_max_steps_given_at_its_default_and_reads_an_empty_title_as_none(
        tmp_path):
    done = run("render", "--steps", 5, "--max-steps", 20, "--title", "", "-o", "p.html",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [warning] = done.stderr.splitlines()
    assert "-o p.html: --max-steps applies to .svg, .png and .dot" in warning
    assert "<title></title>" not in (tmp_path / "p.html").read_text()
    assert "<title>Elman, T = 5" in (tmp_path / "p.html").read_text()


def test_a_page_past_its_limit_and_an_unknown_weight_are_refused_before_any_work(tmp_path):
    one_line_error(run("render", "--steps", 3000, "-o", "big.html", cwd=tmp_path),
                   "--steps 3000: the explorer page", "use --steps 1000 or fewer")
    one_line_error(run("render", "--steps", 4, "--highlight", "W9", "-o", "p.html", cwd=tmp_path),
                   "--highlight W9", "W1, Wm, b1, W2, b2")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("max_steps", [1, 2, 5, 6])
def test_max_steps_below_six_is_respected(tmp_path, max_steps):
    done = run("render", "--steps", 9, "--max-steps", max_steps, "-o", "x.svg", cwd=tmp_path)
    assert f"9 steps ({max_steps} drawn)" in done.stdout, done.stderr
    assert len(groups(parse((tmp_path / "x.svg").read_text()), "cluster", "step")) == max_steps


# --- the verdict ---

@pytest.mark.parametrize("model, truncation", [("mlp", "elman"), ("mlp", "chunked:2"),
                                               ("mlp", "window:1"), ("mlp", "full")])
def test_a_model_without_recurrence_has_nothing_to_truncate(tmp_path, model, truncation):
    done = run("gradcheck", "--model", model, "--steps", 4, "--truncation", truncation,
               cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gradcheck passed" in done.stdout and "verdict: passed, as predicted." in done.stdout
    if truncation != "full":
        assert "has no recurrence" in done.stdout


@pytest.mark.parametrize("model, truncation, steps", [("jordan", "window:8", 9),
                                                     ("elman", "window:10", 11)])
def test_a_long_window_whose_dropped_paths_are_below_tolerance_passes_as_predicted(
        capsys, model, truncation, steps):
    """window(h) drops the paths longer than h steps, but on these networks they carry less
    than gradcheck's tolerance: passing is the prediction (it said "this is a bug")."""
    report, predicted = run_gradcheck(model, steps, truncation, out=io.StringIO())
    assert report and predicted
    assert main(["gradcheck", "--model", model, "--steps", str(steps), "--truncation",
                 truncation]) == 0
    out = capsys.readouterr().out
    assert "drops paths, but what they carry is within gradcheck's tolerance" in out
    assert "verdict: passed, as predicted." in out
    report, predicted = run_gradcheck("elman", 6, "chunked:5", out=io.StringIO())
    assert not report and not predicted         # a cut one step back is far above it


@pytest.mark.parametrize("steps, seed, window", [(12, 2, 8), (12, 2, 9), (20, 1, 11)])
def test_the_prediction_uses_the_tolerance_gradcheck_applies(steps, seed, window):
    """Windows whose dropped paths carry less than atol, but more than gradcheck resolves
    where the gradient is small: gradcheck fails them, and so does the prediction (from
    atol + rtol |gradient| it said "pass" and then "this is a bug")."""
    report, predicted = run_gradcheck("elman", steps, f"window:{window}", seed,
                                      out=io.StringIO())
    assert not report and not predicted


def test_a_warning_is_one_line(tmp_path, capsys):
    """window(17) warns of its cost: one line, not Python's file:line and source line."""
    assert main(["render", "--steps", "18", "--truncation", "window:17", "-o",
                 str(tmp_path / "x.dot")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-rnn: warning: window(17) runs 17 "
                                                   "forward chains"), lines


# --- long work ---

ELMAN_WEIGHTS = 22           # the command line's Elman: T (T + 4n) step evaluations, n weights
LARGEST_GRADCHECK = max(t for t in range(1, 10_000)
                        if t * (t + 4 * ELMAN_WEIGHTS) <= GRADCHECK_STEP_EVALUATIONS)


@pytest.mark.parametrize("args, phrases", [
    (["gradcheck", "--steps", "10000"],
     ["--steps 10000: gradcheck would check each of the 10000 loss terms",
      f"{ELMAN_WEIGHTS} weight elements",
      f"{10_000 * (10_000 + 4 * ELMAN_WEIGHTS):,} step evaluations", "minutes",
      f"use --steps {LARGEST_GRADCHECK} or fewer"]),
    (["render", "--steps", "100000", "--max-steps", "1000000"],
     ["--steps 100000: render records every step",
      f"{100_000 * BYTES_PER_RECORDED_STEP / 1e9:.1f} GB", "use --steps 20000 or fewer",
      "--max-steps 1000000: Graphviz would lay out 100000 steps, at least 400000 nodes",
      "hours", "use --max-steps 2500 or fewer"]),
    (["render", "--steps", "100000"], ["use --steps 20000 or fewer"]),
    (["render", "--steps", "3000", "--max-steps", "3000"],
     ["--max-steps 3000: Graphviz would lay out 3000 steps, at least 12000 nodes",
      "use --max-steps 2500 or fewer"]),
    (["demo", "--steps", "5000"], [f"use --steps {LARGEST_GRADCHECK} or fewer"]),
])
def test_long_work_is_refused_up_front_with_its_size_and_the_option(tmp_path, args, phrases):
    one_line_error(run(*args, cwd=tmp_path, timeout=60), *phrases)
    assert not list(tmp_path.iterdir())


def test_the_layout_is_refused_by_the_nodes_counted_once_recorded(tmp_path):
    """Jordan's op level has more nodes a step than the up-front estimate's fewest (8): the
    graph is recorded, its nodes counted, and the layout refused before Graphviz starts."""
    done = run("render", "--model", "jordan", "--level", "op", "--steps", 1100,
               "--max-steps", 1100, "-o", "x.svg", cwd=tmp_path, timeout=60)
    line = one_line_error(done, "--max-steps 1100: Graphviz would lay out 1100 steps, ")
    nodes, fitting = (int(re.search(pattern, line)[1]) for pattern in
                      (r"1100 steps, (\d+) nodes", r"use --max-steps (\d+) or fewer"))
    assert 8 * 1100 <= 10_000 < nodes and fitting * nodes // 1100 <= 10_000
    assert not list(tmp_path.iterdir())


# --- the pipe, interrupts and bugs ---

def test_a_closed_pipe_is_one_line(tmp_path):
    """As `tinygrad-rnn gradcheck | head -1`, with the reader gone before the first write."""
    process = subprocess.Popen(PYTHON + ["gradcheck", "--steps", "5"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=60)
    process.stderr.close()
    assert process.returncode == 1
    assert stderr.splitlines() == [
        "tinygrad-rnn: the output was closed before the command finished (broken pipe)"]


INTERRUPT_WHILE_IMPORTING = """
import os, signal, sys
sys.argv[0] = {argv0!r}
{ignore}
class Interrupt:        # Ctrl-C while the command line's modules import
    def find_spec(self, name, path=None, target=None):
        if name == "tinygrad_rnn_cli.commands":
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, Interrupt())
import tinygrad_rnn_cli
print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
"""


@pytest.mark.parametrize("argv0, ignore, code, stdout, stderr", [
    ("tinygrad-rnn", "", 130, "", "tinygrad-rnn: interrupted\n"),
    ("-m", "", 130, "", "tinygrad-rnn: interrupted\n"),
    ("tinygrad-rnn", "signal.signal(signal.SIGINT, signal.SIG_IGN)", 0, "True\n",
     ""),
], ids=["console script", "python -m", "ignored in a background job"])
def test_an_interrupt_while_importing_is_one_line(tmp_path, argv0, ignore, code, stdout, stderr):
    done = subprocess.run([sys.executable, "-c", INTERRUPT_WHILE_IMPORTING.format(
        argv0=argv0, ignore=ignore)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (code, stdout, stderr)


def test_importing_the_package_elsewhere_leaves_ctrl_c_alone(tmp_path):
    done = subprocess.run([sys.executable, "-c", INTERRUPT_WHILE_IMPORTING.format(
        argv0="-c", ignore="")], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGINT            # as Python ends on a KeyboardInterrupt
    assert done.stderr.splitlines()[-1] == "KeyboardInterrupt"


def test_an_interrupt_is_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(command_line.commands, "gradcheck", interrupted)
    assert main(["gradcheck"]) == 130
    assert capsys.readouterr().err == "tinygrad-rnn: interrupted\n"


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only the project's errors and OSError become one line: a KeyError is a bug to report."""
    def broken(args):
        return {}["missing"]
    monkeypatch.setattr(command_line.commands, "render", broken)
    with pytest.raises(KeyError, match="missing"):
        main(["render"])


def test_the_console_script_is_the_same_program(tmp_path):
    script = Path(sys.executable).parent / "tinygrad-rnn"
    if not script.exists():
        pytest.skip("the console script is not installed next to this Python")
    done = subprocess.run([str(script), "render", "--seed", "-1"], cwd=tmp_path,
                          capture_output=True, text=True)
    one_line_error(done, "--seed", code=2)
