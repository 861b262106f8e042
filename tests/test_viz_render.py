"""viz.render: which executable runs, the error without one, atomic writes."""
import os
import stat

import pytest
from viz_problems import groups, parse, recorded

import tinygrad_rnn as tg
import viz
import viz.render as render

SMALL = "digraph { a -> b [class=truncated] }"


def test_prefers_graphviz_pure_next_to_python():
    assert os.path.basename(viz.find_dot()).startswith("graphviz-pure")


def test_no_executable_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(render, "_script_dirs", lambda: [])
    monkeypatch.setenv("PATH", str(tmp_path))                  # an empty folder: nothing found
    monkeypatch.delenv("TINYGRAD_RNN_DOT", raising=False)
    with pytest.raises(viz.GraphvizNotFoundError, match="pip install graphviz-pure") as caught:
        viz.render_svg(SMALL, tmp_path / "x.svg")
    assert isinstance(caught.value, tg.TinygradRNNError)        # the project's own type
    assert not (tmp_path / "x.svg").exists()


def test_a_system_dot_is_used_when_graphviz_pure_is_missing(monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text(f"#!/bin/sh\nexec {viz.find_dot()} \"$@\"\n")
    fake.chmod(0o755)
    monkeypatch.setattr(render, "_script_dirs", lambda: [])
    monkeypatch.setenv("PATH", str(tmp_path))
    assert render.find_dot() == str(fake)
    assert groups(parse(viz.to_svg(SMALL)), "edge", "truncated")


def test_a_dot_that_hangs_is_a_render_error(monkeypatch, tmp_path):
    slow = tmp_path / "dot"
    slow.write_text("#!/bin/sh\nexec sleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setenv("TINYGRAD_RNN_DOT", str(slow))
    monkeypatch.setattr(render, "TIMEOUT_SECONDS", 0.2)
    with pytest.raises(viz.RenderError, match="did not finish in 0.2 s"):
        viz.render_svg(SMALL, tmp_path / "x.svg")
    assert not (tmp_path / "x.svg").exists()


def test_override_must_exist(monkeypatch):
    monkeypatch.setenv("TINYGRAD_RNN_DOT", "/no/such/dot")
    with pytest.raises(viz.GraphvizNotFoundError, match="TINYGRAD_RNN_DOT"):
        viz.find_dot()


def test_render_writes_atomically_and_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "sub" / "graph.svg"
    assert viz.render_svg(SMALL, target) == target               # folders are created
    good = target.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    with pytest.raises(viz.RenderError, match="syntax|error|exit code"):
        viz.render_svg("digraph { a -> }", target)              # dot fails: nothing replaced
    assert target.read_bytes() == good
    assert [p.name for p in target.parent.iterdir()] == ["graph.svg"]     # no temporary left


def test_render_takes_a_graph_a_digraph_or_dot_text(tmp_path):
    loss, model = recorded(steps=3, truncation="elman")
    graph = viz.to_networkx(loss, model, level="step")
    for i, thing in enumerate((graph, viz.to_dot(graph), viz.to_dot(graph).source)):
        root = parse(viz.render_svg(thing, tmp_path / f"{i}.svg").read_text())
        assert len(groups(root, "edge", "truncated")) == 2
    with pytest.raises(viz.VizError, match="expected"):
        viz.render_svg(42, tmp_path / "bad.svg")


def test_a_picture_is_not_written_under_the_extension_of_another_format(tmp_path):
    """render_svg(dot, "x.png") wrote SVG text into x.png, which no viewer opens as a PNG."""
    for write, other in ((viz.render_svg, "x.png"), (viz.render_svg, "x.html"),
                         (viz.render_png, "x.svg"), (viz.render_png, "x.PDF")):
        wanted = "x.svg" if write is viz.render_svg else "x.png"
        with pytest.raises(viz.VizError, match=rf"the extension of .*name the file {wanted}"):
            write(SMALL, tmp_path / other)
    assert list(tmp_path.iterdir()) == []                           # refused before dot runs
    assert viz.render_svg(SMALL, tmp_path / "picture").read_bytes().lstrip().startswith(b"<")
    assert viz.render_png(SMALL, tmp_path / "x.PNG").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
