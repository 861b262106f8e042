#!/usr/bin/env python3
"""Set up tinygrad_rnn on a fresh machine and run it: the README's two commands.

    python3 dev.py demo          render the lecture's figures and print the gradient check
    python3 dev.py test          run the whole test suite (extra arguments go to pytest)
    python3 dev.py setup         only make (or refresh) the environment

The first call makes a virtual environment in .venv and installs the project into it
with every optional extra (visualizer, plots, progress bars, tests); later calls reuse
it and reinstall only when pyproject.toml has changed. Only Python 3.10+ is needed.
"""
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "tinygrad-rnn-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")

COMMANDS = {
    "demo": [str(PYTHON), "-m", "tinygrad_rnn", "demo"],
    "test": [str(PYTHON), "-m", "pytest"],
}


def ensure_environment():
    """Create .venv and install the project when it is missing or pyproject.toml changed."""
    if sys.version_info < (3, 10):
        sys.exit(f"tinygrad_rnn needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing tinygrad-rnn with its extras (viz, plot, progress, test) ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[all]"], check=True)
    STAMP.write_text(wanted)


def main(argv):
    if not argv or argv[0] not in (*COMMANDS, "setup"):
        sys.exit(__doc__)
    ensure_environment()
    if argv[0] == "setup":
        return 0
    completed = subprocess.run(COMMANDS[argv[0]] + argv[1:], cwd=ROOT)
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
