"""The LSTM benchmark: its hand-written numpy BPTT agrees with the engine and with PyTorch, and
the script runs at a tiny size (timings are never asserted)."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_lstm_step  # noqa: E402
from reference_lstm import (  # noqa: E402
    TORCH_AVAILABLE,
    build_torch_lstm,
    lstm_bptt_numpy,
    lstm_bptt_numpy_best,
    lstm_bptt_torch_loop,
    make_lstm_problem,
    torch_lstm_step,
)

DIMS = dict(B=3, T=6, N=4, H=5, O=2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_engine_step_matches_hand_written_lstm_bptt(dtype):
    params, xs, vs = make_lstm_problem(DIMS)
    model = bench_lstm_step.build_lstm(params, dtype)
    loss, grads = bench_lstm_step.lstm_bptt_engine(model, xs.astype(dtype), vs.astype(dtype))
    reference_loss, reference = lstm_bptt_numpy(params, xs, vs)
    tolerance = 1e-12 if dtype == np.float64 else 1e-4
    assert loss == pytest.approx(reference_loss, rel=tolerance)
    for name, grad in grads.items():
        assert grad.dtype == dtype
        np.testing.assert_allclose(grad, reference[name], rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dims", [DIMS, dict(B=1, T=9, N=3, H=4, O=3)], ids=["batch", "one"])
def test_the_best_numpy_reference_matches_the_plain_one_to_1e12(dims):
    params, xs, vs = make_lstm_problem(dims)
    reference_loss, reference = lstm_bptt_numpy(params, xs, vs)
    loss, grads = lstm_bptt_numpy_best(params, xs, vs)
    assert loss == pytest.approx(reference_loss, rel=1e-12)
    for name in reference:
        assert grads[name].shape == reference[name].shape
        assert np.linalg.norm(grads[name] - reference[name]) <= \
            1e-12 * np.linalg.norm(reference[name]), name


@pytest.mark.skipif(not TORCH_AVAILABLE, reason="PyTorch is not installed")
def test_the_torch_references_match_the_numpy_one():
    params, xs, vs = make_lstm_problem(DIMS)
    reference_loss, reference = lstm_bptt_numpy(params, xs, vs)
    lstm, head = build_torch_lstm(params)
    for loss, grads in (lstm_bptt_torch_loop(params, xs, vs), torch_lstm_step(lstm, head, xs, vs)):
        assert loss == pytest.approx(reference_loss, rel=1e-12)
        for name in reference:
            np.testing.assert_allclose(grads[name], reference[name], rtol=1e-10, atol=1e-12)


def test_benchmark_script_smoke(capsys):
    assert bench_lstm_step.main(["--quick"]) == 0
    printed = capsys.readouterr().out
    assert "LSTM training step, tiny" in printed and "vs torch nn.LSTM" in printed
    assert "| numpy best |" in printed and "vs numpy best" in printed
    assert "| tinygrad_rnn |" in printed
