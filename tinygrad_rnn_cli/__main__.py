"""`python -m tinygrad_rnn_cli ...`: the `tinygrad-rnn` command line (see the package)."""
import sys

from .command_line import main

if __name__ == "__main__":
    sys.exit(main())
