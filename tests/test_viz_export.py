"""viz.to_networkx: node and edge attributes, deterministic ids, both levels, what each
truncation drops, and the import rules (the engine never imports viz; only export.py reads
engine nodes)."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from viz_problems import recorded

import tinygrad_rnn as tg
import viz

ROOT = Path(__file__).resolve().parents[1]


def test_step_level_has_the_lectures_nodes_and_roles():
    loss, model = recorded(steps=4, truncation="elman")
    G = viz.to_networkx(loss, model, level="step")
    assert isinstance(G, nx.DiGraph) and G.graph["level"] == "step"
    for t in range(1, 5):
        roles = [G.nodes[f"{n}[{t}]"]["role"] for n in "xhyR"]
        assert roles == ["input", "state", "output", "loss"]
        assert G.nodes[f"h[{t}]"]["step"] == t and G.nodes[f"h[{t}]"]["shape"] == (1, 3)
    assert G.nodes["h[0]"]["step"] == 0
    assert G.graph["parameters"] == ["W1", "Wm", "b1", "W2", "b2"]      # named_parameters order
    assert G.graph["loss_terms"] == ["R[1]", "R[2]", "R[3]", "R[4]"]
    assert all(G.nodes[p]["role"] == "parameter" and G.nodes[p]["step"] is None
               for p in G.graph["parameters"])
    assert G.nodes["W1"]["grad_norm"] == pytest.approx(np.linalg.norm(model.W1.grad))


def test_step_edges_carry_the_lectures_weights_and_the_recurrence():
    loss, model = recorded(steps=3)
    G = viz.to_networkx(loss, model, level="step")
    assert G.edges["x[2]", "h[2]"]["parameters"] == ("W1",)      # W1 x[t] + b1: no bias
    assert G.edges["h[1]", "h[2]"]["parameters"] == ("Wm",)
    assert G.edges["h[2]", "y[2]"]["parameter"] == "W2"
    assert G.edges["h[1]", "h[2]"]["recurrent"] and not G.edges["x[2]", "h[2]"]["recurrent"]
    assert G.edges["W1", "h[3]"]["kind"] == "parameter"
    assert not any(a["dropped"] for _, _, a in G.edges(data=True))    # full BPTT drops nothing


@pytest.mark.parametrize("truncation, steps, dropped", [
    ("full", 7, []),
    ("elman", 7, [(t - 1, t) for t in range(2, 8)]),                    # T - 1 edges
    ("chunked:3", 7, [(3, 4), (6, 7)]),                                 # (T - 1) // k edges
    ("window:1", 7, [(t - 1, t) for t in range(2, 8)]),                 # window(1) == elman
    ("window:3", 7, []),          # every edge is followed by some term: only per term, below
])
def test_dropped_edges_of_each_policy(truncation, steps, dropped):
    loss, model = recorded(steps=steps, truncation=truncation)
    G = viz.to_networkx(loss, model, level="step")
    assert viz.analysis.dropped_edges(G) == [(f"h[{a}]", f"h[{b}]") for a, b in dropped]


def test_window_drops_a_different_edge_for_each_loss_term():
    loss, model = recorded(steps=7, truncation="window:3")
    G = viz.to_networkx(loss, model, level="step")
    for t in range(1, 8):
        # R[t] reaches back exactly 3 steps: its gradient stops on h[t-3] -> h[t-2]
        expected = [(f"h[{t - 3}]", f"h[{t - 2}]")] if t > 3 else []
        assert viz.analysis.dropped_edges(G, f"R[{t}]") == expected
    assert G.nodes["h[4]"]["copies"] == 3                                # one per chain, merged


def test_op_level_marks_each_edge_into_a_cut():
    loss, model = recorded(steps=5, truncation="elman")
    G = viz.to_networkx(loss, model)                                      # level="op" by default
    cuts = [n for n, op in G.nodes(data="op") if op == "cut"]
    assert len(cuts) == 4 and all(G.nodes[c]["role"] == "cut" for c in cuts)
    dropped = [(u, v) for u, v, d in G.edges(data="dropped") if d]
    assert sorted(v for _, v in dropped) == sorted(cuts)
    assert [u for u, _ in sorted(dropped, key=lambda e: G.nodes[e[1]]["step"])] == \
        ["h[1]", "h[2]", "h[3]", "h[4]"]
    assert all(G.edges[e]["dropped_for"] == (f"R[{G.nodes[e[1]]['step']}]",) for e in dropped)
    assert all(not G.edges[e]["carries_gradient"] for e in dropped)


def test_repeated_argument_keeps_both_positions():
    w = tg.Tensor([1.0, 2.0], requires_grad=True, name="w")
    y = (w * w).sum()
    G = viz.to_networkx(y)
    product = next(v for _, v in G.out_edges("w"))
    assert G.edges["w", product]["positions"] == (0, 1)
    assert G.edges["w", product]["multiplicity"] == 2
    assert viz.gradient_paths(G, y_id(G), "w") == 2                    # d(w*w) = 2 paths


def y_id(G):
    return G.graph["roots"][0]


def test_ids_are_deterministic_and_do_not_depend_on_memory_addresses():
    first = viz.to_networkx(recorded(steps=4, truncation="window:2")[0])
    second = viz.to_networkx(recorded(steps=4, truncation="window:2")[0])
    assert list(first.nodes) == list(second.nodes)
    assert list(first.edges) == list(second.edges)
    # another process lays its objects out elsewhere in memory: id()-based ids would differ
    code = ("import sys; sys.path.insert(0, 'tests'); import viz\n"
            "from viz_problems import recorded\n"
            "print(repr(list(viz.to_networkx(recorded(steps=4, truncation='window:2')[0]).nodes)))")
    done = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                          capture_output=True, text=True)
    assert done.stdout.strip() == repr(list(first.nodes))
    assert "h[3]#1" in first                                  # window(2)'s second chain
    assert any(re.fullmatch(r"[a-z_]+:\d+", n) for n in first)  # unnamed ops: op and position


def test_the_same_recording_before_and_after_backward():
    loss, model = recorded(steps=3, backward=False)
    before = viz.to_networkx(loss, model, level="step")
    assert before.nodes["W1"]["grad"] is None
    loss.backward()
    after = viz.to_networkx(loss, model, level="step")
    assert list(before.edges(data="dropped")) == list(after.edges(data="dropped"))
    assert after.nodes["W1"]["grad_norm"] > 0


def test_parameter_names_come_from_the_mapping():
    loss, model = recorded(steps=2)
    renamed = {f"cell.{name}": tensor for name, tensor in model.named_parameters()}
    G = viz.to_networkx(loss, renamed, level="step")
    assert G.graph["parameters"][0] == "cell.W1"
    assert G.edges["x[1]", "h[1]"]["parameter"] == "cell.W1"


def test_jordan_state_is_cut_where_it_leaves_for_the_hidden_layer_and_the_next_state():
    """Elman's rule for Jordan treats s[t] as a constant: both edges out of the cut state are
    dropped, into h[t] and into s[t+1] = mu s[t] + y[t] (the engine keeps the second one in the
    graph although nothing downstream of the cut requires grad)."""
    loss, model = recorded("jordan", steps=4, truncation="elman")
    G = viz.to_networkx(loss, model, level="step")
    assert G.nodes["s[2]"]["role"] == "state" and G.nodes["h[2]"]["role"] == "hidden"
    assert sorted(viz.analysis.dropped_edges(G)) == [
        ("s[2]", "h[2]"), ("s[2]", "s[3]"), ("s[3]", "h[3]"), ("s[3]", "s[4]"), ("s[4]", "h[4]")]
    assert G.edges["y[1]", "s[2]"]["recurrent"]


def test_bad_arguments():
    loss, _ = recorded(steps=2)
    with pytest.raises(ValueError, match="level"):
        viz.to_networkx(loss, level="steps")
    with pytest.raises(TypeError, match="Tensor"):
        viz.to_networkx("R")


def test_the_engine_never_imports_viz():
    code = ("import sys, numpy as np, tinygrad_rnn as tg\n"
            "from tinygrad_rnn import nn\n"
            "ys, _ = nn.Elman(2, 3, 1, seed=0)(np.zeros((3, 1, 2)), truncation='elman')\n"
            "nn.sequence_loss(ys, np.zeros((3, 1, 1))).backward()\n"
            "assert 'viz' not in sys.modules and 'networkx' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_only_export_and_replay_read_engine_internals():
    """viz/errors.py may import the project's base error and any module the atomic file writer
    (tinygrad_rnn.files, which knows nothing of nodes); every other engine import is export's,
    replay's, term_gradients' (a replay, one backward per loss term) or policies' (it runs a
    model under several truncations)."""
    for path in sorted((ROOT / "viz").glob("*.py")):
        modules = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules.append(node.module)
            elif isinstance(node, ast.Import):       # import tinygrad_rnn.tensor counts too
                modules.extend(alias.name for alias in node.names)
        engine_imports = [module for module in modules if module.startswith("tinygrad_rnn")
                          and module != "tinygrad_rnn.files"]
        allowed = {"export.py": engine_imports, "replay.py": engine_imports,
                   "term_gradients.py": engine_imports, "policies.py": engine_imports,
                   "errors.py": ["tinygrad_rnn.errors"]}.get(path.name, [])
        assert engine_imports == allowed, (path.name, engine_imports)
