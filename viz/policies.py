"""Record one model on one input under several truncation policies: the explorer's default.

    >>> roots = record_policies(model, xs, vs)      # {"full": R, "elman": R, ...}
    >>> list(roots)
    ['full', 'elman', 'chunked(3)', 'window(3)']     # T = 8

With term_gradients.py and replay.py, one of the few modules of viz that call the engine.
"""
import math

from tinygrad_rnn.nn import sequence_loss
from tinygrad_rnn.truncation import chunked, elman, full, resolve, window

from .errors import VizError


def default_policies(steps):
    """[full, elman, chunked(k), window(h)] with k = h = round(sqrt(T)), at least 2.

    One k for both, so that the two policies that keep k steps can be compared: chunked(k)
    reaches back 1..k steps depending on where t falls in its chunk, window(k) always k. The
    square root gives about as many chunks as steps per chunk, so the staircase of the reach
    matrix shows both at any T (T = 8: k = 3; T = 200: 14; T = 1000: 32), and window(h)'s
    price, h copies of the forward recurrence, grows like sqrt(T) rather than T."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise VizError(f"default_policies: steps must be a positive integer, got {steps!r}")
    k = max(2, round(math.sqrt(steps)))
    return [full, elman, chunked(k), window(k)]


def record_policies(model, xs, vs, policies=None, loss="mse"):
    """{label: R} for each policy: model(xs, truncation=policy) and R = sum_t loss(y[t], v[t]).

    xs: (T, B, N) inputs, vs: (T, B, O) targets; policies: policy objects or their spellings
    ("elman", "window:3"), default default_policies(T); loss: as tg.nn.sequence_loss ("mse",
    "cross_entropy", ...). Labels are the policies' names: "full", "elman", "chunked(3)",
    "window(3)"."""
    policies = default_policies(len(xs)) if policies is None else list(policies)
    if not policies:
        raise VizError("record_policies: policies is empty; pass at least one, or None for "
                       "the default four")
    roots = {}
    for spec in policies:
        policy = resolve(spec)
        label = repr(policy)
        if label in roots:
            raise VizError(f"record_policies: the policy {label} is listed twice")
        ys, _ = model(xs, truncation=policy)
        roots[label] = sequence_loss(ys, vs, loss=loss)
    return roots
