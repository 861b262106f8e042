"""The README's explorer snippet runs as written and writes the page it says it writes."""
from page_helpers import payload
from readme_text import README, ROOT, python_block_after


def test_the_explorer_snippet_runs(tmp_path, monkeypatch):
    code = python_block_after("### The explorer")
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
        assert (ROOT / figure).read_bytes()[:4] == b"\x89PNG"
