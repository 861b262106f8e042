"""The README's gated-memory example and its PyTorch bridge run as written (the bridge only
where PyTorch is installed), with the results the text says."""
import pytest
from readme_text import python_block_after


def test_the_gated_memory_example_runs(capsys):
    namespace = {}
    exec(compile(python_block_after("## Gated memory"), "README gated", "exec"), namespace)
    assert capsys.readouterr().out.strip() == "True float32"
    assert namespace["c"].shape == (8, 16)


def test_the_bridge_example_runs():
    pytest.importorskip("torch")
    namespace = {}
    exec(compile(python_block_after("## Gated memory"), "README gated", "exec"), namespace)
    exec(compile(python_block_after("## A bridge to PyTorch"), "README bridge", "exec"), namespace)
    ys, ys_torch = namespace["ys"], namespace["ys_torch"]
    assert abs(ys_torch.detach().numpy() - ys.data).max() < 1e-12
    assert type(namespace["back"]) is type(namespace["lstm"])
