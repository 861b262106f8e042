"""Shared set-up of the test suite: the engine's helpers importable, recording state checked."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))    # engine_oracles, whatever import mode

from tinygrad_rnn.context import recording  # noqa: E402


@pytest.fixture(autouse=True)
def recording_state_is_restored():
    """Every context manager (no_grad, step, name_scope, detect_anomaly) must put the
    process-wide recording state back, even when a test leaves it through an exception."""
    yield
    assert recording.grad_enabled is True
    assert dict(recording.meta) == {}
    assert recording.anomaly is False
