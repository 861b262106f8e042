"""What the engine records, set by context managers: gradient mode, node metadata, anomaly checks.

Every node created by an op takes a reference to the metadata dict that is current at that
moment (`recording.meta`); the context managers below replace that dict with a merged copy on
entry and put the old one back on exit, so tagging costs one attribute read per op and nodes
made in the same context share one dict. The visualizer reads these tags: `step` (the time
step t, 1-based, set by the unroll loop), `scope` (a "/"-joined name path) and `role`.

The state is process-global, like PyTorch's grad mode is per thread: record a graph from one
thread at a time.
"""
import functools
import inspect
from contextlib import contextmanager
from types import MappingProxyType

from .errors import SettingError


class _Recording:
    """The process-wide recording state read on every op."""

    __slots__ = ("grad_enabled", "meta", "anomaly", "created", "watching", "writes")

    def __init__(self):
        self.grad_enabled = True
        self.meta = MappingProxyType({})
        self.anomaly = False
        self.created = None      # a list collecting new nodes (memory.collecting), or None
        self.watching = False    # anomaly or created: something asks to see every result
        self.writes = 0          # in-place writes so far, the clock of inplace.py

    def watch(self, anomaly, created):
        """Set what every op result is shown to (see detect_anomaly, memory.collecting)."""
        self.anomaly, self.created = anomaly, created
        self.watching = anomaly or created is not None


recording = _Recording()


def no_grad(fn=None):
    """Record nothing inside: results are leaves that do not require grad.

    >>> with no_grad():
    ...     y = w * 2      # y.requires_grad is False, y has no parents

    Also a decorator, with or without parentheses (as torch.no_grad): `@no_grad` and
    `@no_grad()` both run the function with recording off.
    """
    return _grad_mode(False, fn, "no_grad")


def enable_grad(fn=None):
    """Record again inside a no_grad() block (as torch.enable_grad); a decorator too."""
    return _grad_mode(True, fn, "enable_grad")


def _grad_mode(enabled, fn, name):
    """The context manager setting grad mode to `enabled`, or fn decorated with it."""
    if fn is None:
        return _GradMode(enabled)
    if not callable(fn):
        raise SettingError(f"{name}: takes no argument as a context manager (`with {name}():`) "
                           f"and a function as a decorator (`@{name}`), got {fn!r:.60}")
    return _GradMode(enabled)(fn)


class _GradMode:
    """Grad mode set to `enabled` inside: a context manager that may be entered again and
    nested (each entry remembers the mode it found), and a decorator. A generator function
    decorated runs each of its resumptions in the mode, not just the call that makes the
    generator (as torch's decorators do)."""

    __slots__ = ("enabled", "found")

    def __init__(self, enabled):
        self.enabled, self.found = enabled, []

    def __enter__(self):
        self.found.append(recording.grad_enabled)
        recording.grad_enabled = self.enabled

    def __exit__(self, *exc):
        recording.grad_enabled = self.found.pop()

    def __call__(self, fn):
        mode = self.enabled
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args, **kwargs):
                return (yield from _in_mode(fn(*args, **kwargs), mode))
            return generator

        @functools.wraps(fn)
        def function(*args, **kwargs):
            with _GradMode(mode):
                return fn(*args, **kwargs)
        return function


def _in_mode(inner, enabled):
    """The generator `inner`, each resumption run with grad mode `enabled` (what the caller
    sends or throws in is passed on; its return value is returned)."""
    resume, value = inner.send, None
    while True:
        with _GradMode(enabled):
            try:
                item = resume(value)
            except StopIteration as stop:
                return stop.value
        try:
            resume, value = inner.send, (yield item)
        except GeneratorExit:
            with _GradMode(enabled):
                inner.close()
            raise
        except BaseException as exc:      # thrown in by the caller: thrown into inner, in mode
            resume, value = inner.throw, exc


class tagged:
    """Tag every node created inside with `tags` (merged over the enclosing tags).

    >>> with tagged(role="loss"):
    ...     r = ((y - v) ** 2).sum()    # r.meta["role"] == "loss"

    A class rather than a generator: the unroll loop enters one per time step.
    """

    __slots__ = ("tags", "previous")

    def __init__(self, **tags):
        self.tags = tags

    def __enter__(self):
        self.previous = recording.meta
        recording.meta = MappingProxyType({**self.previous, **self.tags})

    def __exit__(self, *exc):
        recording.meta = self.previous


def step(t):
    """Tag every node created inside with the time step t (1-based, as in the lecture)."""
    return tagged(step=t)


@contextmanager
def name_scope(name):
    """Nest a name scope: nodes created inside get meta["scope"] == "outer/name"."""
    outer = recording.meta.get("scope")
    with tagged(scope=name if outer is None else f"{outer}/{name}"):
        yield


@contextmanager
def detect_anomaly():
    """Check every op's output inside: the first op that turns finite operands into NaN or
    Inf raises NumericalError naming the op, its shapes and the time step. Costs a scan of
    each output, so it is opt-in (as torch.autograd.detect_anomaly)."""
    previous = recording.anomaly
    recording.watch(True, recording.created)
    try:
        yield
    finally:
        recording.watch(previous, recording.created)


def is_grad_enabled():
    return recording.grad_enabled
