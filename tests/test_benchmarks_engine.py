"""The engine's benchmark scripts run at a tiny size and print their tables, and the engine's
training step agrees with the hand-written references. Timings are never asserted."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_elman_step  # noqa: E402
import bench_fast_paths  # noqa: E402
import bench_long_sequence  # noqa: E402
import bench_memory  # noqa: E402
import bench_overhead  # noqa: E402
from engine_step import build_elman, elman_bptt_engine  # noqa: E402
from reference_numpy import elman_bptt_numpy, make_problem  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_engine_step_matches_hand_written_bptt(dtype):
    params, xs, vs = make_problem(dict(B=3, T=7, N=4, H=5, O=2))
    loss, grads = elman_bptt_engine(build_elman(params, dtype), xs.astype(dtype), vs.astype(dtype))
    reference_loss, reference = elman_bptt_numpy(params, xs, vs)
    tolerance = 1e-12 if dtype == np.float64 else 1e-4
    assert loss == pytest.approx(reference_loss, rel=tolerance)
    for name, grad in grads.items():
        assert grad.dtype == dtype
        np.testing.assert_allclose(grad, reference[name], rtol=tolerance, atol=tolerance)


def test_checkpointed_step_matches_plain():
    params, xs, vs = make_problem(dict(B=2, T=23, N=3, H=4))
    model = build_elman(params)
    _, plain = elman_bptt_engine(model, xs, vs)
    plain = {k: g.copy() for k, g in plain.items()}
    _, checked = elman_bptt_engine(model, xs, vs, checkpoint_every=5)
    for name in plain:
        np.testing.assert_allclose(checked[name], plain[name], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("script, title", [
    (bench_overhead, "per-op overhead"),
    (bench_elman_step, "training step, tiny"),
    (bench_memory, "peak memory"),
    (bench_long_sequence, "the whole talk"),
])
def test_benchmark_script_smoke(script, title, capsys):
    assert script.main(["--quick"]) == 0
    printed = capsys.readouterr().out
    assert title in printed
    assert "| name |" in printed or "us per step" in printed


def test_elman_forward_only_records_the_step_backward_walks(capsys):
    params, xs, vs = make_problem(dict(B=2, T=5, N=3, H=4))
    model = build_elman(params)
    loss = bench_elman_step.elman_forward_engine(model, xs, vs)
    assert model.Wm.grad is None
    expected, _ = elman_bptt_numpy(params, xs, vs)
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    assert bench_elman_step.main(["--quick", "--forward"]) == 0
    assert "| tinygrad_rnn, forward only |" in capsys.readouterr().out


def test_overhead_parts_walk_the_same_gradients_as_backward(capsys):
    parts = bench_overhead.make_add_chain_parts(7)
    assert parts["forward only"]().op == "add"
    order = parts["forward + graph order"]()
    assert len(order) == 7 + 2 and {node.op for node in order} == {None, "add"}
    walked = parts["forward + bare walk"]()
    _, expected = bench_overhead.make_add_chain_engine(7)()
    np.testing.assert_array_equal(walked["x"], expected["x"])
    np.testing.assert_array_equal(walked["c"], expected["c"])
    np.testing.assert_array_equal(walked["c"], np.full(4, 7.0))
    assert bench_overhead.main(["--quick", "--parts"]) == 0
    printed = capsys.readouterr().out
    for row in ("forward only", "forward + graph order", "forward + bare walk",
                "forward + backward"):
        assert f"| {row} |" in printed


def test_fast_paths_benchmark_runs_and_puts_every_row_back(capsys):
    from tinygrad_rnn.primitives import PRIMITIVES
    before = {name: (row.forward, row.vjp) for name, row in PRIMITIVES.items()}
    small_share = bench_fast_paths.autodiff.SMALL_SHARE
    vectorized = bench_fast_paths.sequence_loss._squared_error_terms
    assert bench_fast_paths.main(["--quick"]) == 0
    table = capsys.readouterr().out
    for name in ("passes (add)", "ndarray.dot", "matmul for a stack", "hoisted input projection",
                 "vectorized loss terms",
                 "leaf shares in blocks", "slice gradients added in place",
                 "weight gradients multiplied out in blocks"):
        assert name in table
    assert before == {name: (row.forward, row.vjp) for name, row in PRIMITIVES.items()}
    from tinygrad_rnn import autodiff
    assert autodiff.SMALL_SHARE == small_share
    assert bench_fast_paths.sequence_loss._squared_error_terms is vectorized


def test_a_fast_path_whose_plain_run_gives_other_gradients_is_not_timed():
    chain = bench_overhead.make_add_chain_engine(5)

    def doubled():
        total, grads = chain()
        return total, {name: 2.0 * grad for name, grad in grads.items()}
    bench_fast_paths.check_same_result(chain, chain)
    with pytest.raises(AssertionError, match="Mismatched elements"):
        bench_fast_paths.check_same_result(chain, doubled)


@pytest.mark.parametrize("argv", [["--ops", "0", "--parts"], ["--ops", "-3"], ["--repeats", "0"]])
def test_overhead_refuses_a_chain_or_a_count_below_one(argv, capsys):
    """--ops 0 divided by zero; --ops -3 printed negative microseconds per op."""
    with pytest.raises(SystemExit) as refused:
        bench_overhead.main(argv)
    assert refused.value.code == 2 and "must be at least 1" in capsys.readouterr().err
