"""The argument parser and `main`, which turns every error a user can cause into one line on
stderr and a non-zero exit code: 2 for a usage error (argparse's convention), 1 for the rest.
A warning (window(h) with a large h costs h forward chains) is one line too,
`tinygrad-rnn: warning: ...`, without the source line Python's warnings show. A bug in the
code is not such an error and keeps its traceback."""
import argparse
import os
import sys
import warnings

from tinygrad_rnn import TinygradRNNError
from tinygrad_rnn.truncation import resolve

from . import commands
from .outputs import FORMATS
from .problem import MODELS

PROG = "tinygrad-rnn"


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error printed as one line (`tinygrad-rnn: render: ...`) rather
    than the usage text followed by the error."""

    def error(self, message):
        command = self.prog[len(PROG):].strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"{PROG}: {where}{message} (see {self.prog} --help)\n")


def whole_number(least):
    """An argparse type: an int >= least."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {least}, got {text!r}")
        return value
    parse.__name__ = f"whole number >= {least}"
    return parse


def truncation(spec):
    """An argparse type: a truncation policy's spelling (resolve() says what is wrong)."""
    try:
        resolve(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def parser():
    doc = sys.modules[__package__].__doc__
    top = Parser(prog=PROG, description=doc.splitlines()[0], epilog=doc.split("\n\n", 1)[1],
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    subcommands = top.add_subparsers(dest="command", required=True)

    def common(sub, steps=6):
        sub.add_argument("--steps", "-T", type=whole_number(1), default=steps,
                         help=f"sequence length T (default {steps})")
        sub.add_argument("--seed", type=whole_number(0), default=0)

    draw = subcommands.add_parser("render", help="draw the unrolled graph of a small model")
    draw.add_argument("--model", choices=MODELS, default="elman")
    common(draw)
    draw.add_argument("--truncation", type=truncation, default="full",
                      help="full, elman, chunked:K or window:H (default full)")
    draw.add_argument("--level", choices=("step", "op"), default="step")
    draw.add_argument("--highlight", default=None, help="colour the edges of this weight (W1)")
    draw.add_argument("--loss-term", type=whole_number(1), default=None,
                      help="mark where the gradient of R[t] stops (window:H drops per term)")
    draw.add_argument("--max-steps", type=whole_number(1), default=None,
                      help=f"draw at most this many steps, eliding the middle (default "
                           f"{commands.DEFAULT_MAX_STEPS})")
    draw.add_argument("--edge-width", action="store_true", help="edge width by |gradient|")
    draw.add_argument("--title", default=None)
    draw.add_argument("-o", "--output", default="unrolled.svg",
                      help=f"the file to write, in the format its extension names: "
                           f"{', '.join(FORMATS)} (default unrolled.svg)")
    draw.set_defaults(run=commands.render)
    check = subcommands.add_parser("gradcheck",
                                   help="compare each R[t]'s gradient with finite differences")
    check.add_argument("--model", choices=MODELS, default="elman")
    common(check)
    check.add_argument("--truncation", type=truncation, default="full",
                       help="full, elman, chunked:K or window:H (default full)")
    check.set_defaults(run=commands.gradcheck)
    show = subcommands.add_parser("demo", help="render the lecture's figures and prove the "
                                               "gradients")
    show.add_argument("--out", default="out", help="folder for the SVGs (default ./out)")
    common(show, steps=5)
    show.set_defaults(run=commands.demo)
    return top


def main(argv=None):
    """Run the command line on argv (default: sys.argv[1:]); returns the exit code, or
    raises SystemExit with the one-line message of an error."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            args = parser().parse_args(sys.argv[1:] if argv is None else argv)
            code = args.run(args)
        sys.stdout.flush()       # a closed pipe shows here, not in the interpreter's last flush
        return code
    except SystemExit:           # argparse's usage error or --help: its text is written
        _flush_or_discard_stdout()
        raise
    except BrokenPipeError:
        _discard_stdout()
        raise SystemExit(f"{PROG}: the output was closed before the command finished "
                         f"(broken pipe)") from None
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (TinygradRNNError, OSError) as exc:
        raise SystemExit(f"{PROG}: {one_line(exc)}") from None


def one_line(exc):
    """The error's message on one line; an OSError as `path: what went wrong`."""
    if isinstance(exc, OSError) and not isinstance(exc, TinygradRNNError) and exc.filename:
        message = f"{exc.filename}: {exc.strerror or exc}"
    else:
        message = str(exc) or type(exc).__name__
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


def one_line_warning(message, category, filename, lineno, file=None, line=None):
    """warnings.showwarning for the command line: `tinygrad-rnn: warning: ...` on one line."""
    text = "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
    try:
        print(f"{PROG}: warning: {text}", file=file or sys.stderr)
    except OSError:
        pass           # stderr is closed: a warning is not worth an error


def _flush_or_discard_stdout():
    """Flush what --help wrote; a reader gone already (`--help | head -1`) is no error."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
    except (OSError, ValueError):
        pass


def _discard_stdout():
    """Point stdout at /dev/null, so that the interpreter's last flush of a closed pipe does
    not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass         # stdout is no file (a test's capture): nothing will be flushed to a pipe
