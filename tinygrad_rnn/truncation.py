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

window(h) cannot be expressed by cuts on one chain: R[t] and R[t+1] need their cuts in
different places. The unroll runs the recurrence h times, chain c cut entering the steps
s > 1 with (s - 1 - c) % h == 0 (chunked(h) shifted by c), and reads y[t] from chain
c = t % h, whose latest cut is exactly at step t-h+1. Forward values are identical on every
chain; the price is h times the forward work. So window(1) == elman and window(T) == full.

    >>> ys, state = model(xs, truncation=window(5))
    >>> ys, state = model(xs, truncation="chunked:10")     # the CLI's spelling
"""
from .errors import SettingError


class Policy:
    """Base of the truncation policies: a name and a cut predicate."""

    chains = 1

    def cuts_before(self, t, chain=0):
        """True when the state entering step t (1-based) is cut on the given chain."""
        raise NotImplementedError(f"{type(self).__name__} must define cuts_before")

    def chain_for_output(self, t):
        """Which chain the output of step t is read from (always 0 but for window)."""
        return 0

    def __eq__(self, other):
        return isinstance(other, Policy) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


class Full(Policy):
    """No cuts: exact backpropagation through time to the origin."""

    def cuts_before(self, t, chain=0):
        return False

    def __repr__(self):
        return "full"


class Chunked(Policy):
    """Cut the state entering steps k+1, 2k+1, ...: gradients stay inside chunks of k steps."""

    def __init__(self, k):
        if not isinstance(k, int) or k < 1:
            raise SettingError(f"chunked(k): k must be a positive integer, got {k!r}")
        self.k = k

    def cuts_before(self, t, chain=0):
        return t > 1 and (t - 1) % self.k == 0

    def __repr__(self):
        return "elman" if self.k == 1 else f"chunked({self.k})"


class Window(Policy):
    """Exact BPTT(h): the gradient of each R[t] reaches back through exactly h steps."""

    def __init__(self, h):
        if not isinstance(h, int) or h < 1:
            raise SettingError(f"window(h): h must be a positive integer, got {h!r}")
        self.h = h
        self.chains = h

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
    """Williams & Peng's BPTT(h): R[t] reaches back exactly h steps (t-h+1..t)."""
    return Window(h)


def resolve(spec):
    """A Policy from a Policy or its spelling: "full", "elman", "chunked:K", "window:H"."""
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, str):
        name, _, arg = spec.partition(":")
        if name == "full" and not arg:
            return full
        if name == "elman" and not arg:
            return elman
        if name in ("chunked", "window") and arg.isdigit():
            return chunked(int(arg)) if name == "chunked" else window(int(arg))
    raise SettingError(f"truncation must be 'full', 'elman', 'chunked:K', 'window:H' or a policy "
                     f"from tinygrad_rnn.truncation, got {spec!r}")
