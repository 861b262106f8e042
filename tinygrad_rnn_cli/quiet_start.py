"""Ctrl-C while the command line starts: one line and exit code 130, as once main() runs.

The package imports numpy, networkx and the rest before main() can catch KeyboardInterrupt
(about half a second); a Ctrl-C then would print a traceback through the imports. Importing
this module, first, installs a handler that prints `tinygrad-rnn: interrupted` and exits 130;
`end()`, once the imports are done, puts the previous handler back. Only when this process is
the command line (the console script, or `python -m`) and Ctrl-C would raise
KeyboardInterrupt (not when it is ignored, as in a background job): importing the package
elsewhere changes nothing. Python's own start, before any of this package runs, is out of
its reach.
"""
import os
import signal
import sys
import threading


def _interrupted(signum, frame):
    os.write(2, b"tinygrad-rnn: interrupted\n")
    os._exit(130)


STARTING = (bool(sys.argv) and os.path.basename(sys.argv[0]).startswith(("tinygrad-rnn", "-m"))
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
_previous = signal.signal(signal.SIGINT, _interrupted) if STARTING else None


def end():
    """The imports are done: Ctrl-C raises KeyboardInterrupt again (main() catches it)."""
    if STARTING and signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, _previous)
