"""How the code is put together, read with `ast`: viz's modules import in one direction with
no cycles and no imports inside functions; only record.py and replay.py read engine nodes, and
nothing in viz reaches into a private name; the engine imports nothing of viz (checked in the
source, and by running it with viz made unimportable)."""
import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]

# viz's modules, in the order they may import each other: a module imports only from the
# layers before its own. __init__.py is the facade: it imports them all and none imports it.
LAYERS = [
    ["errors"],
    ["dropped", "reach"],
    ["record"],
    ["steps", "replay"],
    ["analysis", "style", "term_gradients", "policies"],
    ["page_data"],
    ["dot"],
    ["render"],
    ["display"],
    ["page", "reach_figure"],  # the explorer page, drawn from the rendered SVG; the figure
]
# third-party packages a module may import inside the one function that needs them: optional
# extras that `import viz` must not require (matplotlib is the `plot` extra)
OPTIONAL = ("matplotlib",)
LAYER_OF = {module: i for i, layer in enumerate(LAYERS) for module in layer}
# what the engine must never import: the visualizer, its dependencies, the command line
NOT_FOR_THE_ENGINE = ("viz", "tinygrad_rnn_cli", "networkx", "graphviz")


def sources(package):
    """{dotted module name inside package: parsed tree} for every .py file under it."""
    folder = ROOT / package
    return {".".join(path.relative_to(folder).with_suffix("").parts): ast.parse(path.read_text())
            for path in sorted(folder.rglob("*.py"))}


def imported_modules(tree):
    """Every module an import statement names, absolute or relative (kept as written, with
    the leading dots of a relative one)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            if node.module is None:               # from . import style: style is the module
                yield from (base + alias.name for alias in node.names)
            else:
                yield base


def viz_targets(module, tree):
    """The viz modules `module` imports: "record" for `from .record import ...`, "__init__" for
    the package itself."""
    package = module.split(".")[:-1]
    for name in imported_modules(tree):
        if name.startswith("."):
            dots = len(name) - len(name.lstrip("."))
            parts = package[:len(package) - dots + 1] + [p for p in name.lstrip(".").split(".")
                                                         if p]
        elif name == "viz" or name.startswith("viz."):
            parts = name.split(".")[1:]
        else:
            continue
        yield ".".join(parts) or "__init__"


def function_level_imports(tree):
    top = {id(node) for node in tree.body}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top
            and not _optional(node)]


def _optional(node):
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
        [alias.name for alias in node.names]
    return all(name.split(".")[0] in OPTIONAL for name in names)


def test_viz_imports_in_one_direction():
    graph = nx.DiGraph()
    for module, tree in sources("viz").items():
        if module == "__init__":
            continue
        top = module.split(".")[0]
        assert top in LAYER_OF, (f"viz/{module}.py is in no layer: add it to LAYERS here (and to "
                                 f"the list in viz/__init__.py's docstring)")
        for target in viz_targets(module, tree):
            target_top = target.split(".")[0]
            graph.add_edge(module, target)
            assert target != "__init__", f"viz/{module}.py imports the viz package itself"
            if target_top == top:
                continue                  # inside one subpackage: checked for cycles below
            assert LAYER_OF.get(target_top, len(LAYERS)) < LAYER_OF[top], \
                f"viz/{module}.py imports {target}, which comes after it: {LAYERS}"
    assert nx.is_directed_acyclic_graph(graph), list(nx.simple_cycles(graph))
    assert graph.has_edge("render", "dot") and graph.has_edge("dot", "reach")
    assert graph.has_edge("page", "display") and graph.has_edge("page_data", "reach")


@pytest.mark.parametrize("package", ["viz", "tinygrad_rnn_cli"])
def test_no_imports_inside_functions(package):
    found = {module: lines for module, tree in sources(package).items()
             if (lines := function_level_imports(tree))}
    assert not found, f"imports inside functions or classes (module: lines): {found}"


def test_only_record_and_replay_read_engine_nodes():
    """viz/errors.py may import the project's base error, and any module the atomic file writer
    (tinygrad_rnn.files, which knows nothing of nodes); every other engine import is record's,
    replay's, term_gradients' (a replay, one backward per loss term) or policies' (it runs a
    model under several truncations)."""
    for module, tree in sources("viz").items():
        engine = [name for name in imported_modules(tree) if name.startswith("tinygrad_rnn")
                  and name != "tinygrad_rnn.files"]
        allowed = {"record": engine, "replay": engine, "term_gradients": engine,
                   "policies": engine, "errors": ["tinygrad_rnn.errors"]}.get(module, [])
        assert engine == allowed, (module, engine)


def test_viz_uses_no_private_name_of_another_module_or_object():
    """Private names stay in their module: no `from .record import _walk`, and no `node._prim`
    (self._x inside a class is its own business)."""
    for module, tree in sources("viz").items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, (module, node.module, private)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                assert isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"), \
                    (module, node.lineno, node.attr)


def engine_imports(tree):
    """Top-level package names the engine module imports, by statement or by a call to
    importlib.import_module / __import__ with a constant name."""
    names = [name for name in imported_modules(tree) if not name.startswith(".")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                    "import_module", "__import__"):
            names.append(str(node.args[0].value))
    return {name.split(".")[0] for name in names}


def test_the_engine_source_imports_nothing_of_viz():
    for module, tree in sources("tinygrad_rnn").items():
        assert not engine_imports(tree) & set(NOT_FOR_THE_ENGINE), (module, engine_imports(tree))


# Imports the engine and every one of its modules with viz (and the visualizer's
# dependencies, and the command line) made unimportable, then trains one step.
WITHOUT_VIZ = f"""
import importlib, pkgutil, sys
import numpy as np
BLOCKED = {NOT_FOR_THE_ENGINE!r}

class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is unimportable in this test", name=name)
        return None

sys.meta_path.insert(0, Unimportable())
import tinygrad_rnn as tg
from tinygrad_rnn import nn
imported = []
for info in pkgutil.walk_packages(tg.__path__, "tinygrad_rnn."):
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in BLOCKED:
            raise
        print("optional dependency missing:", info.name, exc.name)
model = nn.Elman(2, 3, 1, seed=0)
ys, _ = model(np.zeros((3, 1, 2)), truncation="elman")
nn.sequence_loss(ys, np.ones((3, 1, 1))).backward()
assert model.W2.grad is not None and np.abs(model.W2.grad).sum() > 0
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not loaded, loaded
print(len(imported), "modules")
"""


def test_the_engine_runs_with_viz_unimportable():
    done = subprocess.run([sys.executable, "-c", WITHOUT_VIZ], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-2]) >= 20            # every module of the engine, imported
