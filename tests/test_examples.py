"""Smoke tests of examples/: each script runs end to end at a tiny size, returns 0, prints its
table and saves its plot. The numbers at this size mean nothing; the full-size results are in
the README. The scripts run in this process (their main(argv)), which saves an interpreter and
the imports per run; one test runs a script as a real `python script.py` command."""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DEFAULT_VOCAB, pronoun_task

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

TINY = {
    "pronoun_memory.py": ["--distances", "1", "3", "--seeds", "1", "--steps", "3", "--batch", "8",
                          "--hidden", "4", "--test-size", "20", "--jobs", "1"],
    "talk_classification.py": ["--lengths", "12", "--seeds", "1", "--steps", "3", "--batch", "4",
                               "--hidden", "4", "--test-size", "10", "--eval-every", "2"],
    "price_prediction.py": ["--steps", "3", "--eval-every", "1", "--seeds", "1", "--hidden", "4"],
}
EXPECTED = {
    "pronoun_memory.py": ["| MLP (window 1)", "| Elman, full BPTT", "| LSTM, full BPTT",
                          "| GRU, full BPTT", "LSTM, at initialization", "d=3",
                          "pronoun_memory.png"],
    "talk_classification.py": ["| last-frame MLP", "| Elman, chunked(T/2)", "T=12",
                               "talk_classification.png"],
    "price_prediction.py": ["AirPassengers", "| naive (last value)", "| Elman, full BPTT",
                            "price_prediction.png"],
}


def load(script):
    """The example as a module, imported by name with its folder on sys.path (as when it runs
    as a script), so worker processes can import it too."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(Path(script).stem)


def run_example(script, extra, out, capsys):
    """main(argv) of the example: (return code, its stdout)."""
    code = load(script).main(["--no-progress", "--out", str(out), *extra])
    return code, capsys.readouterr().out


def table_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith("|")]


@pytest.mark.parametrize("script", sorted(TINY))
def test_example_runs_at_a_tiny_size(script, tmp_path, capsys):
    code, out = run_example(script, TINY[script], tmp_path, capsys)
    assert code == 0
    for text in EXPECTED[script]:
        assert text in out, f"{text!r} missing from the output of {script}:\n{out}"
    pytest.importorskip("matplotlib")
    png = tmp_path / EXPECTED[script][-1]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pronoun_results_do_not_depend_on_the_number_of_jobs(tmp_path, capsys):
    args = TINY["pronoun_memory.py"][:-2]
    _, one = run_example("pronoun_memory.py", args + ["--jobs", "1"], tmp_path, capsys)
    _, two = run_example("pronoun_memory.py", args + ["--jobs", "2"], tmp_path, capsys)
    assert table_lines(one) and table_lines(one) == table_lines(two)


def test_the_seed_decides_the_numbers(tmp_path, capsys):
    args = TINY["price_prediction.py"]
    _, first = run_example("price_prediction.py", args + ["--seed", "0"], tmp_path, capsys)
    _, again = run_example("price_prediction.py", args + ["--seed", "0"], tmp_path, capsys)
    _, other = run_example("price_prediction.py", args + ["--seed", "1"], tmp_path, capsys)
    assert table_lines(first) == table_lines(again)
    assert table_lines(first) != table_lines(other)


def test_an_example_runs_as_a_command_and_exits_0(tmp_path):
    command = [sys.executable, str(EXAMPLES / "price_prediction.py"), "--no-progress",
               "--out", str(tmp_path), *TINY["price_prediction.py"]]
    root = str(EXAMPLES.parent)      # tinygrad_rnn importable even when not installed
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "test RMSE" in done.stdout


def test_at_a_small_size_the_window_decides_and_full_bptt_remembers():
    """The lecture's moral in one seed and 200 steps (about 3 s): the windowed MLP (window 4)
    knows the pronoun at d=2 and not at d=6, the MLP never, Elman with full BPTT at d=6, and
    Elman's truncation falls short of it there."""
    pronoun = load("pronoun_memory.py")
    config = pronoun.parse_arguments(["--no-progress", "--distances", "2", "6", "--seeds", "1",
                                      "--steps", "200", "--test-size", "300", "--jobs", "1",
                                      "--models", "mlp", "windowed", "elman-elman", "elman-full"])
    accuracy = {(r["key"], r["distance"]): r["accuracy"] for r in pronoun.run_all(config)}
    assert accuracy["mlp", 2] < 0.45 and accuracy["mlp", 6] < 0.45
    assert accuracy["windowed", 2] > 0.9 and accuracy["windowed", 6] < 0.45
    assert accuracy["elman-full", 6] > 0.9
    assert accuracy["elman-elman", 6] < accuracy["elman-full", 6] - 0.3


def test_under_elmans_truncation_no_gradient_reaches_the_name():
    """What pronoun_memory.py's docstring says and does not print: with the loss at the last
    step and the state cut entering every step after the first, R[T] depends on x[T] alone
    (hand derivation: h[T] = tanh(W1 x[T] + b1 + Wm c) with c a constant). So dR/dx[t] is zero
    for t < T and, with one-hot inputs, only the query word's column of W1 gets a gradient;
    under full BPTT the name's input does get one (what the script's ratio measures)."""
    pronoun = load("pronoun_memory.py")
    for distance in (1, 4):
        batch = pronoun_task(8, distance, seed=distance)
        model = nn.Elman(DEFAULT_VOCAB.size, 4, len(DEFAULT_VOCAB.classes), seed=1)
        xs = tg.Tensor(batch.xs, requires_grad=True)
        ys, _ = model(xs, truncation="elman")
        nn.last_step_loss(ys, batch.labels).backward()
        assert not xs.grad[:-1].any() and np.abs(xs.grad[-1]).max() > 0
        touched = np.flatnonzero(np.abs(model.W1.grad).sum(axis=0))
        assert [DEFAULT_VOCAB.words[i] for i in touched] == [DEFAULT_VOCAB.query]
        model.zero_grad()
        assert pronoun.name_gradient_ratio(model, batch) > 0


def test_pronoun_models_read_token_ids_through_an_embedding(tmp_path, capsys):
    """--embedding E: every model reads word ids through nn.Embedding(V, E); the gradient
    ratio is then taken at the words' vectors, and the embedding learns."""
    pronoun = load("pronoun_memory.py")
    code, out = run_example("pronoun_memory.py", TINY["pronoun_memory.py"] + ["--embedding", "5"],
                            tmp_path, capsys)
    assert code == 0 and "an embedding of 5" in out and "| LSTM, at initialization" in out
    config = pronoun.parse_arguments(["--embedding", "5", "--hidden", "4"])
    model, _ = pronoun.build_model("lstm-full", config, seed=0)
    batch = pronoun_task(6, 3, seed=0)
    assert model[0].W.shape == (DEFAULT_VOCAB.size, 5) and model[1].input_size == 5
    nn.last_step_loss(model(pronoun.inputs_of(batch, config))[0], batch.labels).backward()
    assert np.abs(model[0].W.grad[batch.tokens[0]]).max() > 0      # the names' rows learn
    assert pronoun.name_gradient_ratio(model, batch) > 0


def test_pronoun_lstm_takes_the_forget_bias():
    pronoun = load("pronoun_memory.py")
    config = pronoun.parse_arguments(["--forget-bias", "3", "--hidden", "4"])
    model, truncation = pronoun.build_model("lstm-full", config, seed=0)
    assert truncation == "full" and (model.b1.data[4:8] == 3.0).all()


@pytest.mark.parametrize("script", ["talk_classification.py", "price_prediction.py",
                                    "pronoun_memory.py"])
@pytest.mark.parametrize("option, value", [("--steps", "0"), ("--seeds", "0"), ("--hidden", "0"),
                                           ("--lr", "nan"), ("--clip", "-1")])
def test_the_examples_refuse_settings_that_leave_nothing_to_train_or_plot(
        script, option, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        load(script).main(["--out", str(tmp_path), option, value])
    assert stopped.value.code == 2
    assert f"argument {option}: must be" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("script, option", [("talk_classification.py", "--eval-every"),
                                            ("price_prediction.py", "--eval-every"),
                                            ("pronoun_memory.py", "--distances"),
                                            ("pronoun_memory.py", "--jobs")])
def test_each_examples_own_counts_are_checked_too(script, option, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        load(script).main(["--out", str(tmp_path), option, "0"])
    assert stopped.value.code == 2
    assert f"argument {option}: must be" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_price_prediction_validates_at_the_last_step_too(tmp_path, capsys):
    """With --eval-every above --steps no step was validated, and the table reported the
    untrained weights as the trained result ("best ... at step 0")."""
    code, out = run_example("price_prediction.py", ["--steps", "2", "--eval-every", "5",
                                                    "--seeds", "1", "--hidden", "4"],
                            tmp_path, capsys)
    assert code == 0 and "at step 0" not in out and "at step    2" in out


@pytest.mark.parametrize("script, flags", [
    ("price_prediction.py", ["--val-months", "-24"]),
    ("price_prediction.py", ["--test-fraction", "nan"]),
    ("price_prediction.py", ["--seed", "-1"]),
    ("pronoun_memory.py", ["--window", "0"]),
    ("pronoun_memory.py", ["--test-size", "0"]),
])
def test_bad_flags_are_argparse_errors(script, flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_example(script, flags, tmp_path, capsys)
    assert exit_.value.code == 2 and "must be" in capsys.readouterr().err


def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    """It was found when the plots were saved, after all the training."""
    taken = tmp_path / "a file"
    taken.write_text("kept")
    with pytest.raises(SystemExit) as exit_:
        run_example("talk_classification.py", TINY["talk_classification.py"], taken, capsys)
    assert exit_.value.code == 2 and "is not a folder" in capsys.readouterr().err
    assert taken.read_text() == "kept"
    dangling = tmp_path / "a link to nothing"
    dangling.symlink_to(tmp_path / "missing")
    with pytest.raises(SystemExit) as exit_:        # os.makedirs raised at the very end
        run_example("talk_classification.py", TINY["talk_classification.py"], dangling, capsys)
    assert exit_.value.code == 2 and "is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:        # a folder to be made inside a file
        run_example("talk_classification.py", TINY["talk_classification.py"],
                    taken / "plots", capsys)
    assert exit_.value.code == 2 and f"({taken} is a file" in capsys.readouterr().err
    assert taken.read_text() == "kept"


def test_a_setting_a_model_refuses_is_one_line(tmp_path, capsys):
    common = load("common.py")
    main = load("price_prediction.py").main
    argv = ["--no-progress", "--out", str(tmp_path), "--test-fraction", "0.99", "--steps", "1"]
    assert common.reporting_errors(main, argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error (SettingError): --test-fraction 0.99")
    assert len(err.splitlines()) == 1
