"""Record one model on one input under several truncation policies: the explorer's default.

    >>> roots = record_policies(model, xs, vs)      # {"full": R, "elman": R, ...}
    >>> list(roots)
    ['full', 'elman', 'chunked(3)', 'window(3)']     # T = 8

With term_gradients.py and replay.py, one of the few modules of viz that call the engine.
"""
import inspect
import math

from tinygrad_rnn.nn import sequence_loss
from tinygrad_rnn.truncation import Policy, chunked, elman, full, resolve, window

from .errors import VizError, VizTypeError, whole_number


def default_policies(steps):
    """[full, elman, chunked(k), window(h)] with k = h = round(sqrt(T)), at least 2.

    One k for both, so that the two policies that keep k steps can be compared: chunked(k)
    reaches back 1..k steps depending on where t falls in its chunk, window(k) always k. The
    square root gives about as many chunks as steps per chunk, so the staircase of the reach
    matrix shows both at any T (T = 8: k = 3; T = 200: 14; T = 1000: 32), and window(h)'s
    price, h copies of the forward recurrence, grows like sqrt(T) rather than T."""
    steps = whole_number("default_policies", "steps", steps)
    k = max(2, round(math.sqrt(steps)))
    return [full, elman, chunked(k), window(k)]


def record_policies(model, xs, vs, policies=None, loss="mse"):
    """{label: R} for each policy: model(xs, truncation=policy) and R = sum_t loss(y[t], v[t]).

    model: a sequence model that takes truncation= (Elman, Jordan, LSTM, GRU, StateSpace,
    Stacked; WindowedMLP and TemporalConv take it and have nothing to cut). xs: (T, B, N)
    inputs, vs: (T, B, O) targets; policies: policy objects or their spellings ("elman",
    "window:3"), one or a list, default default_policies(T); loss: as tg.nn.sequence_loss
    ("mse", "cross_entropy", ...). Labels are the policies' names: "full", "elman",
    "chunked(3)", "window(3)"."""
    _check_model(model)
    try:
        steps = len(xs)
    except TypeError:
        raise VizTypeError(f"record_policies: xs must be the (T, B, N) inputs, got "
                           f"{type(xs).__name__}") from None
    if steps == 0:
        raise VizError("record_policies: xs holds no time step (T = 0); the explorer needs "
                       "at least one")
    if policies is None:
        policies = default_policies(steps)
    elif isinstance(policies, (str, Policy)):
        policies = [policies]
    else:
        try:
            policies = list(policies)
        except TypeError:
            raise VizTypeError(f"record_policies: policies must be a list of policies or their "
                               f"spellings, got {policies!r}") from None
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


def _check_model(model):
    """A VizTypeError unless `model` can be called as model(xs, truncation=policy)."""
    if not callable(model):
        raise VizTypeError(f"record_policies: model must be a sequence model such as "
                           f"tg.nn.Elman, got {type(model).__name__}")
    try:
        parameters = inspect.signature(getattr(model, "forward", model)).parameters
    except (TypeError, ValueError):       # no signature to read: the call will tell
        return
    if "truncation" not in parameters and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        raise VizTypeError(f"record_policies: the model ({type(model).__name__}) takes no "
                           f"truncation=, so it cannot be recorded under several truncation "
                           f"policies; use a sequence model (Elman, Jordan, LSTM, GRU, "
                           f"StateSpace, Stacked, WindowedMLP, TemporalConv)")
