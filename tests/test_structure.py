"""The shape of the code: no import circle in mnist_core, no Streamlit in it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "mnist_core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (lazy imports count:
    a circle through them is still a circle)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {imported for imported in _imports(path) if imported in modules and imported != name}
            for name, path in modules.items()}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    visiting, done = [], set()

    def visit(module: str) -> list[str] | None:
        if module in visiting:
            return visiting[visiting.index(module):] + [module]
        if module in done:
            return None
        visiting.append(module)
        for imported in sorted(graph[module]):
            circle = visit(imported)
            if circle:
                return circle
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        circle = visit(module)
        if circle:
            return circle
    return None


def test_the_walk_finds_a_circle_when_there_is_one():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) is None


def test_no_module_of_mnist_core_imports_one_that_imports_it_back():
    graph = import_graph()
    assert len(graph) > 20
    assert find_circle(graph) is None


def test_mnist_core_never_imports_streamlit():
    users = [name for name, path in ((_module_name(p), p) for p in PACKAGE.rglob("*.py"))
             if any(imported.split(".")[0] == "streamlit" for imported in _imports(path))]
    assert users == []


def _plotly_chart_calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "plotly_chart"]


def test_every_chart_of_the_app_offers_plotlys_png_download():
    """Every st.plotly_chart passes ui.chart_config, which keeps Plotly's PNG button."""
    sources = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py")),
               *sorted((REPO_ROOT / "ui").glob("*.py"))]
    calls = {f"{path.name}:{call.lineno}": call for path in sources for call in _plotly_chart_calls(path)}
    assert len(calls) >= 12
    without = [where for where, call in calls.items()
               if not any(keyword.arg == "config" and isinstance(keyword.value, ast.Call)
                          and getattr(keyword.value.func, "id", None) == "chart_config" for keyword in call.keywords)]
    assert without == []
