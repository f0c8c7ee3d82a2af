"""The house rules of the layout, read from the source: data flows one way (no module of graph/ imports
loaders/ or app/; loaders/ never imports app/), and no modules import each other, directly or round
a longer cycle. Every import counts, also one inside a function."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("graph", "loaders", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules `path` imports (`from pkg import mod` counts as pkg.mod when that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> nx.DiGraph:
    mods = modules()
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, path in mods.items():
        g.add_edges_from((name, target) for target in imported(path, name, set(mods)))
    return g


def test_the_reader_sees_imports_inside_functions_and_relative_ones():
    g = import_graph()
    assert ("app.cli.core", "graph.store.schema") in g.edges  # imported inside the commands
    assert ("app.cli", "app.cli.common") in g.edges


def test_data_flows_one_way():
    g = import_graph()
    up = sorted((a, b) for a, b in g.edges
                if (a.startswith("graph") and b.split(".")[0] in ("loaders", "app"))
                or (a.startswith("loaders") and b.startswith("app")))
    assert up == [], "imports that run up the layers (graph -> loaders/app, loaders -> app):\n" + \
        "\n".join(f"  {a} -> {b}" for a, b in up)


def test_no_modules_import_each_other():
    g = import_graph()
    cycles = sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)
    assert cycles == [], "modules that import each other (directly or round a cycle): " + \
        "; ".join(" <-> ".join(c) for c in cycles)


def test_every_project_module_the_tests_and_benchmarks_import_exists():
    """Benchmarks are scripts no test runs: a module moved in the layout must not leave them behind."""
    known = set(modules())
    missing = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            missing += [f"{path.relative_to(ROOT)}: {n}" for n in names
                        if n.split(".")[0] in PACKAGES and n not in known]
    assert missing == [], "\n".join(missing)
