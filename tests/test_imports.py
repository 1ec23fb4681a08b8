"""Imports go one way: cli → bench → metrics → dynamics → zoo, and no module imports itself back.

The package's sources are parsed with :mod:`ast` (nothing is imported): every
``import``/``from … import`` anywhere in a module (lazy imports inside functions too, and
``importlib.import_module("simbench…")`` with a literal name) is an edge from the
module to the module it names. Importing ``simbench.a.b.c`` also executes the packages
``simbench.a`` and ``simbench.a.b`` (unless they contain the importer), so those are
edges too: that is how a package ``__init__`` re-exporting a higher layer closes a
circle.

Layers, lowest first: ``zoo``, ``dynamics``, ``metrics``, ``bench``, ``cli``. A module may
import its own layer and the layers below. ``simbench/__init__.py`` is the public facade,
above every layer: it may import anything, and no module of the package imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import simbench

LAYERS = ("zoo", "dynamics", "metrics", "bench", "cli")
FACADE = "simbench"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(root: Path) -> dict[str, Path]:
    """``{module name: source path}`` of every module under the package folder ``root``."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _resolve(name: str, known) -> str | None:
    """The longest prefix of dotted ``name`` that is a known module (``a.b.func`` → ``a.b``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imports_of(source: str, module: str, known, is_package: bool = False) -> list[tuple[str, int, bool]]:
    """``[(imported module, line, implied)]`` for every import in ``source`` (module doc);
    ``implied`` marks the parent packages an import runs."""
    package = module if is_package else module.rpartition(".")[0]
    named: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            named += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            named += [(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base, node.lineno)
                      for alias in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            named.append((node.args[0].value, node.lineno))
    edges = []
    for name, line in named:
        target = _resolve(name, known)
        if target is None or target == module:
            continue
        edges.append((target, line, False))
        parts = target.split(".")
        for end in range(2, len(parts)):  # parent packages run first (the facade always does)
            parent = ".".join(parts[:end])
            if parent in known and not (module == parent or module.startswith(parent + ".")):
                edges.append((parent, line, True))
    return edges


def import_graph(root: Path) -> nx.DiGraph:
    modules = package_modules(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target, line, implied in imports_of(path.read_text(), name, modules, path.name == "__init__.py"):
            if not (implied and graph.has_edge(name, target)):
                graph.add_edge(name, target, line=line, implied=implied)
    return graph


def layer_of(module: str) -> str | None:
    """The layer of a module, ``None`` for the facade."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def wrong_way(graph: nx.DiGraph) -> list[str]:
    """Every import that points up the layers, as readable lines (implied parents are
    in the layer of the module named, so they add nothing here)."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    found = []
    for source, target, data in graph.edges(data=True):
        low, line = layer_of(source), data["line"]
        if data["implied"]:
            continue
        if low is None:
            continue  # the facade may import anything
        if low not in rank:
            found.append(f"{source} is in no layer (expected one of {', '.join(LAYERS)})")
            continue
        if layer_of(target) is None:
            found.append(f"{source} ({low}) imports the facade {target} (above every layer) at line {line}")
        elif rank[layer_of(target)] > rank[low]:
            found.append(f"{source} ({low}) imports {target} ({layer_of(target)}) at line {line}")
    return found


def circles(graph: nx.DiGraph) -> list[list[str]]:
    """Groups of modules that import one another in a circle (strongly connected, sorted),
    each followed by one circle through it: ``[m1, m2, …, "circle: a -> b -> a"]``."""
    out = []
    for group in nx.strongly_connected_components(graph):
        if len(group) > 1:
            circle = [u for u, _ in nx.find_cycle(graph.subgraph(group))]
            out.append(sorted(group) + ["circle: " + " -> ".join(circle + circle[:1])])
    return sorted(out)


# --- the checker catches what it should --------------------------------------------------

def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "simbench"
    for name, text in {"__init__.py": "", "zoo/__init__.py": "", "dynamics/__init__.py": "",
                       "metrics/__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_checker_sees_a_lazy_upward_import_and_a_circle(tmp_path):
    root = _fake_package(tmp_path, {
        "zoo/store.py": "def dynamics():\n    from simbench.dynamics.analysis import run\n",
        "dynamics/analysis.py": "from simbench.zoo import store\n",
        "dynamics/__init__.py": "def f():\n    from simbench.metrics.topo import g\n",
        "metrics/topo.py": "from ..dynamics.analysis import run\n",
    })
    graph = import_graph(root)
    assert sorted(wrong_way(graph)) == [
        "simbench.dynamics (dynamics) imports simbench.metrics.topo (metrics) at line 2",
        "simbench.zoo.store (zoo) imports simbench.dynamics.analysis (dynamics) at line 2"]
    # store → analysis → store, and store → (the package dynamics) → metrics.topo → analysis
    (group,) = circles(graph)
    assert group[:-1] == ["simbench.dynamics", "simbench.dynamics.analysis", "simbench.metrics.topo",
                           "simbench.zoo.store"]


def test_checker_accepts_downward_imports_and_the_facade(tmp_path):
    root = _fake_package(tmp_path, {
        "__init__.py": "from simbench.metrics.topo import g\nfrom simbench.zoo.store import Zoo\n",
        "metrics/topo.py": "import simbench.dynamics.analysis\nfrom simbench.zoo import store\n",
        "dynamics/analysis.py": "from . import system\nfrom simbench.zoo.store import Zoo\n",
        "dynamics/system.py": "",
        "zoo/store.py": "import json\n",
        "bench/__init__.py": "",
        "bench/run.py": "from simbench import metrics\nimport simbench.zoo.store\n",
    })
    graph = import_graph(root)
    assert graph.has_edge("simbench.dynamics.analysis", "simbench.dynamics.system")  # relative import
    assert graph.has_edge("simbench.metrics.topo", "simbench.dynamics")  # the package runs first
    assert wrong_way(graph) == [] and circles(graph) == []
    (root / "bench" / "run.py").write_text("def version():\n    import simbench\n")  # the facade: no
    assert wrong_way(import_graph(root)) == [
        "simbench.bench.run (bench) imports the facade simbench (above every layer) at line 2"]


# --- the package itself ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def graph():
    return import_graph(Path(simbench.__file__).resolve().parent)


def test_every_module_is_in_a_layer(graph):
    assert {layer_of(m) for m in graph} - {None} == set(LAYERS)


def test_imports_point_down_the_layers(graph):
    assert wrong_way(graph) == []


def test_no_import_circles(graph):
    assert circles(graph) == []
