"""tinygrad-rnn: draw and check the unrolled graph of a small recurrent network.

    tinygrad-rnn render --model elman --steps 6 --truncation elman --highlight W1 -o elman.svg
    tinygrad-rnn render --steps 8 --truncation window:3 --loss-term 7 -o window.png
    tinygrad-rnn gradcheck --model elman --steps 6 --truncation elman
    tinygrad-rnn demo [--out out]

`render` builds a small random model (fixed seed), runs forward and backward, and draws the
unrolled graph into -o FILE, in the format its extension names: .svg, .png (the same picture),
.dot (the Graphviz source) or .html (the explorer page: every loss term under every default
truncation). `gradcheck` compares the gradient of every loss term R[t] under the chosen
truncation with finite differences; its exit code is 0 when the verdict is the one predicted
(full BPTT, a window covering the whole sequence, or a model without recurrence must pass; a
truncation that drops gradient paths must fail, unless what it drops is within the check's
tolerance in every term, when it must pass) and 1 when it is not. `demo` renders
the lecture's two figures and prints the comparison full vs elman. An error (a bad option, a
file that cannot be written, no Graphviz, work too large to finish) is one line on stderr and
a non-zero exit code. `python -m tinygrad_rnn_cli` is the same program.
"""
from . import quiet_start  # first: Ctrl-C during the imports below is one line
from .command_line import main
from .commands import run_gradcheck
from .problem import build, drops_paths, policy_drops_paths

quiet_start.end()

__all__ = ["main", "run_gradcheck", "build", "drops_paths", "policy_drops_paths"]
