"""The reference BPTT implementations are right (finite differences, each other, torch) and the
benchmark script runs. Timings are never asserted: only that the tables are printed."""
import sys
from pathlib import Path

import numpy as np
import pytest

# benchmarks/ is a folder of scripts, not an installed package; its modules import each other
# by plain name, so the folder itself goes on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_references  # noqa: E402
from engine_oracles import finite_difference  # noqa: E402
from harness import (  # noqa: E402
    interleaved_medians,
    markdown_table,
    peak_memory_mib,
    ratio_table,
    summary_table,
)
from reference_numpy import (  # noqa: E402
    PARAM_NAMES,
    elman_bptt_numpy,
    elman_bptt_numpy_best,
    elman_bptt_numpy_hoisted,
    make_problem,
)

TINY_WIDE_OUTPUT = dict(B=3, T=5, N=2, H=4, O=3)  # O != N catches a transposed W2 or vs


def elman_loss(params, xs, vs):
    """Forward only, written from the model's definition, independently of the references."""
    h = np.zeros((xs.shape[1], params["Wm"].shape[0]))
    loss = 0.0
    for x, v in zip(xs, vs):
        h = np.tanh(x @ params["W1"].T + h @ params["Wm"].T + params["b1"])
        y = h @ params["W2"].T + params["b2"]
        loss += np.sum((y - v) ** 2)
    return loss


def central_differences(params, xs, vs):
    """{name: dR/dname} by the shared oracle, one parameter element at a time."""
    def loss_of(*arrays):
        return elman_loss(dict(zip(PARAM_NAMES, arrays)), xs, vs)
    return dict(zip(PARAM_NAMES,
                    finite_difference(loss_of, [params[name] for name in PARAM_NAMES])))


def relative_difference(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("dims", ["tiny", TINY_WIDE_OUTPUT],
                         ids=["tiny", "output-wider-than-input"])
@pytest.mark.parametrize("bptt", [elman_bptt_numpy, elman_bptt_numpy_hoisted,
                                  elman_bptt_numpy_best], ids=["plain", "hoisted", "best"])
def test_numpy_gradients_match_finite_differences(bptt, dims):
    params, xs, vs = make_problem(dims, seed=1)
    loss, grads = bptt(params, xs, vs)
    numeric = central_differences(params, xs, vs)

    assert loss == pytest.approx(elman_loss(params, xs, vs), rel=1e-12)
    for name in PARAM_NAMES:
        assert grads[name].shape == params[name].shape
        assert relative_difference(grads[name], numeric[name]) < 1e-6, name


@pytest.mark.parametrize("product", [np.matmul, np.ndarray.dot], ids=["matmul", "ndarray.dot"])
def test_plain_and_hoisted_agree(product):
    params, xs, vs = make_problem(dict(B=4, T=30, N=6, H=8, O=5), seed=2)
    loss_plain, plain = elman_bptt_numpy(params, xs, vs)
    loss_hoisted, hoisted = elman_bptt_numpy_hoisted(params, xs, vs, product)
    assert loss_hoisted == pytest.approx(loss_plain, rel=1e-12)
    for name in PARAM_NAMES:
        assert relative_difference(hoisted[name], plain[name]) < 1e-12, name


def test_best_agrees_with_plain_to_1e12():
    params, xs, vs = make_problem(dict(B=3, T=9, N=4, H=6, O=2))
    loss_plain, plain = elman_bptt_numpy(params, xs, vs)
    loss_best, best = elman_bptt_numpy_best(params, xs, vs)
    assert loss_best == pytest.approx(loss_plain, rel=1e-12)
    for name in plain:
        assert best[name].shape == plain[name].shape
        assert relative_difference(best[name], plain[name]) < 1e-12, name


def test_float32_stays_float32_and_close_to_float64():
    params64, xs64, vs64 = make_problem("tiny", seed=3)
    params32, xs32, vs32 = make_problem("tiny", dtype=np.float32, seed=3)
    for bptt in (elman_bptt_numpy, elman_bptt_numpy_hoisted):
        _, grads64 = bptt(params64, xs64, vs64)
        _, grads32 = bptt(params32, xs32, vs32)
        for name in PARAM_NAMES:
            assert grads32[name].dtype == np.float32, (bptt.__name__, name)
            assert relative_difference(grads32[name], grads64[name]) < 1e-5, (bptt.__name__, name)


@pytest.mark.parametrize("reference", ["elman_bptt_torch_loop", "elman_bptt_torch_rnn"])
def test_torch_references_match_numpy(reference):
    pytest.importorskip("torch")
    import reference_torch

    params, xs, vs = make_problem(TINY_WIDE_OUTPUT, seed=4)
    expected_loss, expected = elman_bptt_numpy(params, xs, vs)
    loss, grads = getattr(reference_torch, reference)(params, xs, vs)
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    for name in PARAM_NAMES:
        assert relative_difference(grads[name], expected[name]) < 1e-10, name


def test_torch_rnn_step_can_be_repeated_without_accumulating():
    pytest.importorskip("torch")
    from reference_torch import build_torch_rnn, torch_rnn_step

    params, xs, vs = make_problem("tiny", seed=5)
    rnn, head = build_torch_rnn(params)
    _, first = torch_rnn_step(rnn, head, xs, vs)
    _, second = torch_rnn_step(rnn, head, xs, vs)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(first[name], second[name])


def test_numpy_add_chain_adds_c_n_ops_times():
    from reference_torch import make_add_chain_numpy

    run, x, c = make_add_chain_numpy(n_ops=10)
    np.testing.assert_array_equal(run(), x + 10 * c)


def test_torch_add_chain_backpropagates_to_x_and_c():
    pytest.importorskip("torch")
    from reference_torch import make_add_chain_torch

    run, x, c = make_add_chain_torch(n_ops=10)
    run()
    run()  # a second call must start from cleared gradients
    np.testing.assert_array_equal(c.grad.numpy(), np.full(4, 10.0))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(4))


def test_peak_memory_sees_a_numpy_allocation():
    # 2**20 float64 values are 8 MiB; the allocation is the whole peak, nothing before it counts.
    peak = peak_memory_mib(lambda: np.ones(2**20))
    assert 8.0 <= peak < 8.5


def test_ratio_table_formats_deterministically():
    table = ratio_table({"ref": 0.002, "slow": 0.005, "missing": None}, "ref",
                        value_header="median (ms)", format_value=lambda s: f"{s * 1e3:.3f}")
    assert table == markdown_table(
        ["name", "median (ms)", "ratio vs ref"],
        [["ref", "2.000", "1.00x"], ["slow", "5.000", "2.50x"], ["missing", "n/a", "n/a"]],
    )


def test_summary_table_gives_the_engines_ratios_by_size_and_n_a_for_a_missing_reference():
    medians = {"small": {"tinygrad_rnn": 0.006, "best": 0.002, "torch loop": None},
               "large": {"tinygrad_rnn": 0.9, "best": 1.0, "torch loop": 1.2}}
    table = summary_table(medians, {"vs best": "best", "vs torch loop": "torch loop"})
    assert table == markdown_table(["size", "vs best", "vs torch loop"],
                                   [["small", "3.00x", "n/a"], ["large", "0.90x", "0.75x"]])


def test_bench_references_quick_run_prints_tables(capsys):
    assert bench_references.main(["--quick", "--sizes", "tiny"]) == 0
    output = capsys.readouterr().out
    assert "### training step, tiny: B=2 T=4 N=3 H=5 O=3" in output
    assert "| name | median (ms) | ratio vs numpy plain |" in output
    assert "| numpy plain |" in output and "| 1.00x |" in output
    assert "| numpy hoisted |" in output
    assert "### peak memory of one training step" in output
    assert "### per-op overhead" in output


def test_interleaved_medians_calls_every_candidate_in_rounds():
    calls = []
    medians = interleaved_medians(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, warmup=1, repeats=3
    )
    assert list(medians) == ["a", "b"]
    assert calls == ["a", "b"] + ["a", "b"] * 3


def test_a_candidate_whose_gradients_differ_is_not_timed_and_numpy_best_is_held_to_1e12():
    bench_references.check_agreement({"torch loop": 5e-12, "numpy best": 5e-13}, np.float64)
    with pytest.raises(AssertionError, match="not timed.*numpy best"):
        bench_references.check_agreement({"torch loop": 5e-12, "numpy best": 5e-12},
                                         np.float64)
    with pytest.raises(AssertionError, match="not timed.*torch loop"):
        bench_references.check_agreement({"torch loop": 1e-9}, np.float64)
    with pytest.raises(AssertionError, match="not timed"):
        bench_references.check_agreement({"tinygrad_rnn": float("nan")}, np.float64)
