"""The README as the README tests read it: its text, and the Python block after a heading."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_block_after(heading):
    """The first ```python block after `heading`, as it would be copied out of the README."""
    start = README.index("```python", README.index(heading)) + len("```python")
    return README[start:README.index("```", start)]
