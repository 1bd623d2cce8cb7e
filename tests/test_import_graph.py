"""The package's import graph: no import circles, and the emulator never imports the provider's client.

Every module of ``airflow_provider_infakt`` is read with :mod:`ast`, nothing is imported. Every import
statement counts wherever it stands: at module level, inside a function, under ``if TYPE_CHECKING:``
or in a ``try``. An import of ``a.b.c`` from outside ``a.b`` also counts as an import of the packages
``a.b`` (their ``__init__`` runs first); ``from . import x`` counts as an import of the submodule ``x``
when there is one.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import pathlib
import textwrap

import pytest

import airflow_provider_infakt

PACKAGE = "airflow_provider_infakt"
ROOT = pathlib.Path(airflow_provider_infakt.__file__).resolve().parent

#: Import circles that exist today, each as the set of modules it runs through, allowed until they are
#: removed. Only api/ has any; they are being taken apart in api/ (issue 10), and this list is to be
#: emptied when that is done. A circle not listed here fails, and so does an entry that no longer
#: matches a circle (remove it: the allowance must not outlive the circle).
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset(
    {
        # api.auth -> api.protocol (module level), api.protocol -> api.settings (under TYPE_CHECKING,
        # and in a function), api.settings -> api.auth (under TYPE_CHECKING, and in a function),
        # api.auth -> api.settings (in a function)
        frozenset({f"{PACKAGE}.api.auth", f"{PACKAGE}.api.protocol", f"{PACKAGE}.api.settings"}),
    }
)

#: What the emulator (testing/) must never import, not even through other modules: the provider's
#: client and its Airflow glue. The emulator is what the client is tested against.
EMULATOR = f"{PACKAGE}.testing"
FORBIDDEN_FOR_EMULATOR = tuple(
    f"{PACKAGE}.{name}" for name in ("api.client", "api.aio", "hooks", "operators", "sensors", "triggers")
)


MODULE_LEVEL, IN_FUNCTION, TYPE_CHECKING_ONLY = "at module level", "in a function", "under TYPE_CHECKING"


@dataclasses.dataclass(frozen=True)
class Import:
    """One module importing another: the line that says so, and when it runs (``where``: at module
    level, in a function, or under ``if TYPE_CHECKING:``, that is never)."""

    source: str
    target: str
    line: int
    where: str

    def __str__(self) -> str:
        return f"{_short(self.source)} -> {_short(self.target)} (line {self.line}, {self.where})"


def modules_of(root: pathlib.Path, package: str) -> dict[str, pathlib.Path]:
    """Every module under ``root`` (the directory of ``package``), by dotted name."""
    found: dict[str, pathlib.Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _with_packages(target: str, importer: str, modules: dict[str, pathlib.Path]) -> list[str]:
    """``target`` and the packages above it whose ``__init__`` an import of it runs for ``importer``
    (not the importer's own packages, which are being imported already)."""
    own = _ancestors(importer) | {importer}
    chain = sorted(_ancestors(target) | {target}, key=len)
    return [name for name in chain if name in modules and name not in own]


def imports_of(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> list[Import]:
    """The package's own modules that module ``name`` imports, anywhere in its text."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, where: str) -> None:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets += _with_packages(alias.name, name, modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            targets += _with_packages(base, name, modules)
            targets += [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
        for target in dict.fromkeys(targets):
            if target != name:
                found.append(Import(name, target, node.lineno, where))
        for child in ast.iter_child_nodes(node):
            if isinstance(node, ast.If) and _is_type_checking(node.test) and child in node.body:
                visit(child, TYPE_CHECKING_ONLY)
            elif where == MODULE_LEVEL and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, IN_FUNCTION)
            else:
                visit(child, where)

    visit(tree, MODULE_LEVEL)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph(root: pathlib.Path, package: str) -> dict[str, list[Import]]:
    """Each module of the package with the imports it makes of the package's modules."""
    modules = modules_of(root, package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, list[Import]]) -> list[frozenset[str]]:
    """The import circles: the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in graph.get(node, []):
            if edge.target not in index:
                connect(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def describe(component: frozenset[str], graph: dict[str, list[Import]]) -> str:
    """The circle a component holds, import by import, starting from its first module: a shortest path
    back to the start, then every other import inside the component."""
    start = min(component)
    inside = [e for source in sorted(component) for e in graph[source] if e.target in component]
    came_by: dict[str, Import] = {}
    queue = collections.deque([start])
    while queue:
        node = queue.popleft()
        for edge in graph[node]:
            if edge.target in component and edge.target not in came_by:
                came_by[edge.target] = edge
                queue.append(edge.target)
    path = [came_by[start]]
    while path[-1].source != start:
        path.append(came_by[path[-1].source])
    path.reverse()
    others = [e for e in inside if e not in path]
    lines = [f"circle through {', '.join(_short(m) for m in sorted(component))}:"]
    lines += [f"    {edge}" for edge in path]
    if others:
        lines.append("  other imports inside it:")
        lines += [f"    {edge}" for edge in others]
    return "\n".join(lines)


def _short(name: str) -> str:
    return name.removeprefix(PACKAGE + ".")


def reaches(graph: dict[str, list[Import]], start: str, forbidden: tuple[str, ...]) -> list[Import] | None:
    """A chain of imports from ``start`` to a module in (or under) ``forbidden``, or ``None``."""
    came_by: dict[str, Import | None] = {start: None}
    queue = collections.deque([start])
    while queue:
        node = queue.popleft()
        if node != start and any(node == f or node.startswith(f + ".") for f in forbidden):
            chain: list[Import] = []
            step = came_by[node]
            while step is not None:
                chain.append(step)
                step = came_by[step.source]
            return chain[::-1]
        for edge in graph.get(node, []):
            if edge.target not in came_by:
                came_by[edge.target] = edge
                queue.append(edge.target)
    return None


@pytest.fixture(scope="module")
def graph() -> dict[str, list[Import]]:
    return import_graph(ROOT, PACKAGE)


def test_no_import_circle_but_the_allowed_ones(graph):
    new = [c for c in circles(graph) if not any(c <= allowed for allowed in ALLOWED_CYCLES)]
    assert not new, "import circles:\n" + "\n".join(describe(c, graph) for c in new)


def test_every_allowed_circle_still_exists(graph):
    found = set(circles(graph))
    stale = [sorted(map(_short, allowed)) for allowed in ALLOWED_CYCLES if allowed not in found]
    assert not stale, f"no longer an import circle as listed, update or remove it from ALLOWED_CYCLES: {stale}"


def test_the_emulator_never_imports_the_client(graph):
    emulator = [name for name in graph if name == EMULATOR or name.startswith(EMULATOR + ".")]
    assert len(emulator) > 5, emulator
    chains = {name: reaches(graph, name, FORBIDDEN_FOR_EMULATOR) for name in emulator}
    found = {name: " -> ".join(map(str, chain)) for name, chain in chains.items() if chain}
    assert not found, f"the emulator imports the provider's client or its Airflow glue: {found}"


def test_every_module_is_read(graph):
    assert f"{PACKAGE}.testing.server" in graph
    assert f"{PACKAGE}.api.client" in graph
    wheres = {edge.where for edges in graph.values() for edge in edges}
    assert wheres == {MODULE_LEVEL, IN_FUNCTION, TYPE_CHECKING_ONLY}


# -- the checker itself, on a package written for the purpose ------------------------------------------


def _write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for relative, text in files.items():
        path = root / "pkg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "pkg"


def test_a_circle_through_a_function_level_from_dot_import_is_found(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "from .a import A\n",
            "sub/a.py": "from .b import B\nA = 1\n",
            "sub/b.py": "def f():\n    from . import a\n    return a\nB = 2\n",
            "c.py": "import pkg.sub.a\n",
        },
    )
    graph = import_graph(root, "pkg")
    assert circles(graph) == [frozenset({"pkg.sub.a", "pkg.sub.b"})]
    text = describe(frozenset({"pkg.sub.a", "pkg.sub.b"}), graph)
    assert "pkg.sub.b -> pkg.sub.a (line 2, in a function)" in text
    assert "pkg.sub.a -> pkg.sub.b (line 1, at module level)" in text
    # importing pkg.sub.a from outside pkg.sub runs pkg.sub's __init__ first
    assert [e.target for e in graph["pkg.c"]] == ["pkg.sub", "pkg.sub.a"]


def test_a_circle_through_a_package_init_and_parent_relative_imports_is_found(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "x/__init__.py": "from .. import y\n",
            "y.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .x import thing\n",
        },
    )
    graph = import_graph(root, "pkg")
    assert circles(graph) == [frozenset({"pkg.x", "pkg.y"})]
    assert reaches(graph, "pkg.y", ("pkg.x",)) is not None
    assert reaches(graph, "pkg", ("pkg.x",)) is None
