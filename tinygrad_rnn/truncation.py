"""Truncation policies: which past steps the gradient of each loss term R[t] may reach.

A policy is a tiny named object, all of them in this module (the shape of JAX's checkpoint
policies). The unroll loop asks `policy.cuts_before(t)`: should the state entering step t be
cut (an identity node with zero gradient, drawn in the graph)? For a sequence loss
R = sum_t R[t]:

| policy       | the gradient of R[t] reaches              | how                                   |
|--------------|-------------------------------------------|---------------------------------------|
| `full`       | every step 1..t (BPTT to the origin)      | no cuts                               |
| `elman`      | step t only: h[t-1] treated as a constant | cut the state entering steps 2..T     |
| `chunked(k)` | back to the start of t's chunk of k steps | cut entering steps k+1, 2k+1, ...     |
| `window(h)`  | exactly steps t-h+1..t (Williams & Peng)  | h staggered chunked(h) chains (below) |

The initial state is never cut, so a learned initial state gets its gradient from the steps
its policy lets reach it.

A sequence continued over several calls (`ys2, s = model(xs2, state=s)` with the state an
earlier call returned) is truncated as the one long call would be where the calls meet at a
boundary the policy cuts anyway: the state entering step 1 of a call, when it is the carry the
same model's earlier call returned (a recorded node that requires grad), is cut by `elman`
and by `chunked(k)` (`cuts_between_calls`), whose chunks count from each call's first step
(steps 1..k of every call are a chunk, so calls of a multiple of k steps give the one-call
gradients); `full` keeps it, so one backward through
both calls is BPTT over the whole sequence. `window(h)` refuses such a state (a SettingError):
its h chains would all reach back into the one chain of the earlier call, which no cut can
window. Any other state (a constant, `state.detach()`, an encoder's final state entering a
decoder, an initial state computed from weights) enters every policy as it is, never cut.

window(h) cannot be expressed by cuts on one chain: R[t] and R[t+1] need their cuts in
different places. The unroll runs the recurrence h times, chain c cut entering the steps
s > 1 with (s - 1 - c) % h == 0 (chunked(h) shifted by c), and reads y[t] from chain
c = t % h, whose latest cut is exactly at step t-h+1. Forward values are identical on every
chain (checked at every step: a step that draws anew on each run, as a Dropout in training,
is refused with a SettingError, since ys read from h chains would mix h draws); the price is
h times the forward work. So window(1) == elman and window(T) == full.

    >>> ys, state = model(xs, truncation=window(5))
    >>> ys, state = model(xs, truncation="chunked:10")     # the CLI's spelling
    >>> ys, state = model(xs, truncation="chunked(10)")    # the policy's own (its repr)
"""
import re
import warnings

from . import settings
from .errors import CostWarning, SettingError

# window(h) runs h forward chains, so a training step costs about h forward passes and keeps
# h graphs. Measured (Elman T=100 B=16 H=32, forward + backward): full 24 ms, window(16) 144 ms
# (6x), window(32) 541 ms (23x), window(64) 981 ms. Past 16 chains the price is an order of
# magnitude and grows linearly, which is worth a warning; chunked(h) cuts as deep for the price
# of one chain.
WINDOW_WARN_ABOVE = 16


class Policy:
    """Base of the truncation policies: a name and a cut predicate. Two policies are equal
    when they are of the same kind with the same parameter (chunked(3) == chunked(3),
    chunked(1) == elman; window(1) is another kind, with the same gradients as elman)."""

    chains = 1
    cuts_between_calls = False      # cut a recorded state passed in from an earlier call

    def cuts_before(self, t, chain=0):
        """True when the state entering step t (1-based) is cut on the given chain."""
        raise NotImplementedError(f"{type(self).__name__} must define cuts_before")

    def chain_for_output(self, t):
        """Which chain the output of step t is read from (always 0 but for window)."""
        return 0

    @property
    def key(self):
        """(kind, parameter): what makes two policies the same."""
        return (type(self).__name__, None)

    def __eq__(self, other):
        return isinstance(other, Policy) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


class Full(Policy):
    """No cuts: exact backpropagation through time to the origin."""

    def cuts_before(self, t, chain=0):
        return False

    def __repr__(self):
        return "full"


class Chunked(Policy):
    """Cut the state entering steps k+1, 2k+1, ...: gradients stay inside chunks of k steps."""

    cuts_between_calls = True       # step 1 of every call starts a chunk

    def __init__(self, k):
        self.k = settings.positive_int("chunked(k)", "k", k)

    @property
    def key(self):
        return ("chunked", self.k)

    def cuts_before(self, t, chain=0):
        return t > 1 and (t - 1) % self.k == 0

    def __repr__(self):
        return "elman" if self.k == 1 else f"chunked({self.k})"


class Window(Policy):
    """Exact BPTT(h): the gradient of each R[t] reaches back through exactly h steps."""

    def __init__(self, h):
        self.h = settings.positive_int("window(h)", "h", h)
        self.chains = self.h
        if self.h > WINDOW_WARN_ABOVE:
            warnings.warn(f"window({self.h}) runs {self.h} forward chains: every step costs about "
                          f"{self.h} forward passes and their graphs' memory. chunked({self.h}) "
                          f"cuts as deep for the price of one, and window(h) with h >= T is "
                          f"full BPTT", CostWarning, stacklevel=3)

    @property
    def key(self):
        return ("window", self.h)

    def cuts_before(self, t, chain=0):
        return t > 1 and (t - 1 - chain) % self.h == 0

    def chain_for_output(self, t):
        return t % self.h

    def __repr__(self):
        return f"window({self.h})"


full = Full()
elman = Chunked(1)     # Elman (1990): h[t-1] treated as a constant


def chunked(k):
    """Truncate every k steps: R[t] reaches back to the first step of its chunk."""
    return Chunked(k)


def window(h):
    """Williams & Peng's BPTT(h): R[t] reaches back exactly h steps (t-h+1..t). Costs h
    forward chains; above WINDOW_WARN_ABOVE it warns (CostWarning)."""
    return Window(h)


SPELLING = re.compile(r"(chunked|window)\s*(?::\s*([0-9]+)|\(\s*([0-9]+)\s*\))")


def resolve(spec):
    """A Policy from a Policy or its spelling: "full", "elman", "chunked:K" / "window:H" (the
    command line's) or "chunked(K)" / "window(H)" (how policies print themselves)."""
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        if text == "full":
            return full
        if text == "elman":
            return elman
        match = SPELLING.fullmatch(text)
        if match:
            size = int(match.group(2) or match.group(3))
            return chunked(size) if match.group(1) == "chunked" else window(size)
    raise SettingError(f"truncation must be 'full', 'elman', 'chunked:K' or 'chunked(K)', "
                       f"'window:H' or 'window(H)', or a policy from tinygrad_rnn.truncation, "
                       f"got {spec!r}")
