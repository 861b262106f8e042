#!/usr/bin/env python3
"""Set up tinygrad_rnn on a fresh machine and run it: the README's two commands.

    python3 dev.py demo          render the lecture's figures and print the gradient check
    python3 dev.py test          run the whole test suite (extra arguments go to pytest)
    python3 dev.py lint          run the linter (ruff, configured in pyproject.toml)
    python3 dev.py setup         only make (or refresh) the environment

The first call makes a virtual environment in .venv and installs the project into it
with every optional extra (visualizer, plots, progress bars, tests); later calls reuse
it, reinstall when pyproject.toml has changed, and make .venv again when an earlier
set-up left it without pip. Only Python 3.10+ (with venv and ensurepip) is needed.
"""
import hashlib
import os
import shutil
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
    "demo": [str(PYTHON), "-m", "tinygrad_rnn_cli", "demo"],
    "test": [str(PYTHON), "-m", "pytest"],
    "lint": [str(PYTHON), "-m", "ruff", "check", "."],
}


def pip_works():
    """True when .venv has a Python that runs pip. A set-up that failed half-way (venv made,
    ensurepip missing, as on Debian/Ubuntu without python3-venv) leaves bin/python and no pip,
    so the interpreter existing is not enough."""
    if not PYTHON.exists():
        return False
    probe = subprocess.run([str(PYTHON), "-m", "pip", "--version"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


def create_environment():
    """Make .venv with pip from scratch, removing a broken one first; exit with advice on
    failure."""
    if VENV.exists():
        print(f"{VENV} cannot run pip (an earlier set-up failed?): making it again ...", flush=True)
        shutil.rmtree(VENV)
    else:
        print(f"creating {VENV} ...", flush=True)
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
        created = pip_works()
    except (subprocess.CalledProcessError, OSError):
        created = False
    if not created:
        shutil.rmtree(VENV, ignore_errors=True)  # so the next call starts clean, not half-made
        sys.exit(f"could not create {VENV} with pip: this Python lacks venv or ensurepip.\n"
                 "Install python3-venv (Debian/Ubuntu: sudo apt install python3-venv) and run "
                 "again.")


def ensure_environment():
    """Create .venv and install the project when it is missing, broken or pyproject.toml changed."""
    if sys.version_info < (3, 10):
        sys.exit(f"tinygrad_rnn needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    # The stamp is written only after a complete install, so it alone vouches for pip.
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not pip_works():
        create_environment()
    print("installing tinygrad-rnn with its extras (viz, plot, progress, test) ...", flush=True)
    for install in (["--upgrade", "pip"], ["-e", f"{ROOT}[all]"]):
        if subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", *install]).returncode:
            sys.exit(f"pip install {' '.join(install)} failed (pip's message is above); "
                     "fix that and run again.")
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
