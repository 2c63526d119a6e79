"""The package's imports point one way and run in no circle (issue 20): a walk of every
module's import statements (ast), type-checking-only imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "xh2cm"

#: Layers, lowest first: a module may import its own layer and the layers below it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("xh2cm._version", "xh2cm.constants", "xh2cm.catalog", "xh2cm.calendars",
              "xh2cm.humidity", "xh2cm.co2")),
    ("core", ("xh2cm.core",)),
    ("training", ("xh2cm.training",)),
    ("input", ("xh2cm.cf", "xh2cm.io")),
    ("analysis", ("xh2cm.analysis",)),
    ("user", ("xh2cm.xr", "xh2cm.site", "xh2cm.datasets")),
    ("accessor", ("xh2cm.xr.accessor",)),
    ("top", ("xh2cm", "xh2cm.__main__", "xh2cm.cli")),
]


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """The xh2cm modules ``path`` imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "xh2cm":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "xh2cm"}
    return out


GRAPH = {m: _imports(p) - {m} for m, p in MODULES.items()}


def layer(module: str) -> int:
    """Index of the most specific layer prefix that ``module`` falls under."""
    best, depth = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and p.count(".") > depth:
                best, depth = i, p.count(".")
    if best is None:
        raise AssertionError(f"{module} is in no layer of tests/test_imports.py")
    return best


def test_every_module_has_a_layer():
    for m in MODULES:
        layer(m)


def test_no_import_runs_upward():
    bad = [f"{m} ({LAYERS[layer(m)][0]}) imports {d} ({LAYERS[layer(d)][0]})"
           for m, deps in GRAPH.items() for d in deps
           if layer(d) > layer(m) and not (MODULES[m].name == "__init__.py"
                                           and d.startswith(m + "."))]
    assert not bad, "\n".join(sorted(bad))


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycle():
    # a package's __init__ imports its modules; a module importing a sibling through the
    # package (from xh2cm.analysis import regions) resolves to the sibling
    cycle = _cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None)])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycle(graph) == expected


def test_the_upward_rule_would_see_the_old_version_import():
    assert layer("xh2cm") > layer("xh2cm.xr.run") > layer("xh2cm.cf.prepare")
    assert layer("xh2cm.xr.accessor") > layer("xh2cm.analysis.regions") > layer("xh2cm.cf.units")


def test_the_input_layer_imports_no_jax_and_nothing_of_the_user_layer():
    """xh2cm.cf and everything it imports, transitively: no JAX, no xh2cm.core/training,
    nothing from xh2cm.xr."""
    seen, todo = set(), [m for m in MODULES if m.startswith("xh2cm.cf")]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += [d for d in GRAPH[m] if d in MODULES]
    bad = sorted(m for m in seen if m.split(".")[1] in ("xr", "core", "training"))
    assert not bad, bad
    for m in seen:
        tree = ast.parse(MODULES[m].read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"jax", "equinox", "optax", "jaxtyping"}, m
