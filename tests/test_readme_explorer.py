"""The README's explorer snippet runs as written and writes the page it says it writes."""
from pathlib import Path

from page_helpers import payload

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_explorer_snippet_runs(tmp_path, monkeypatch):
    heading = README.index("### The explorer")
    start = README.index("```python", heading) + len("```python")
    code = README[start:README.index("```", start)]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README explorer", "exec"), namespace)
    written = (tmp_path / "explorer.html").read_text(encoding="utf-8")
    assert written == namespace["page"].html
    assert [p["name"] for p in payload(written)["policies"]] == ["full", "elman", "chunked(3)",
                                                                 "window(3)"]
    assert [p["name"] for p in payload(namespace["elman_page"].html)["policies"]] == ["elman"]
    for figure in ("docs/explorer.png", "docs/reach_matrix.png"):
        assert figure in README
        assert (Path(__file__).resolve().parents[1] / figure).read_bytes()[:4] == b"\x89PNG"
