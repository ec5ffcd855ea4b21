"""The service folder reads by domain: every service sits in its domain's package, no module of
``plugin_service`` imports itself round a circle, and the services never reach up into the tasks, the
console, the API or the command line (those call the services, not the other way round).

The import graph is read from the source with ``ast``: every import counts, at the top of a module or
inside a function, except those under ``if TYPE_CHECKING:`` (never run). ``from package import name``
leads to ``package.name`` when that is a module and to the package's ``__init__`` otherwise, so a circle
through a package's re-exports counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "plugin_service"
SERVICES = ROOT / PACKAGE / "services"
#: What the services may not import: the callers above them.
CALLERS = ("plugin_service.tasks", "plugin_service.web", "plugin_service.api", "plugin_service.cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))
            if "migrations" not in path.relative_to(ROOT).parts}


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _type_checking_only(node):
            found.extend(_imports(ast.Module(body=node.orelse, type_ignores=[])))
        else:
            found.extend(_imports(node))
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``plugin_service`` that ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                       for alias in node.names]
        for target in targets:
            while target and target not in known:  # import a.b.c of a module a.b.c -> itself
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "plugin_service.services.harvest.run" in edges["plugin_service.services.harvest"]
    assert "plugin_service.services.harvest" in edges["plugin_service.services.provisioning.doctor"]
    assert "plugin_service.models" in edges["plugin_service.services.platform.jobs"]
    assert "plugin_service.services.platform.locks" in edges["plugin_service.services.provisioning.provision"]


def test_the_cycle_finder_finds_a_circle_through_a_package() -> None:
    edges = {"a": {"a.b"}, "a.b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "a.b", "c"]]


def test_no_import_circle_in_plugin_service() -> None:
    found = cycles(graph())
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(cycle) for cycle in found)


def test_every_service_sits_in_its_domain_package() -> None:
    loose = sorted(path.name for path in SERVICES.glob("*.py") if path.name != "__init__.py")
    assert not loose, f"modules directly in plugin_service/services/ (put each in its domain): {loose}"
    packages = sorted(path for path in SERVICES.iterdir() if path.is_dir() and path.name != "__pycache__")
    assert len(packages) >= 6, packages
    for package in packages:
        init = package / "__init__.py"
        assert init.is_file(), f"{package.relative_to(ROOT)} is not a package"
        assert ast.get_docstring(ast.parse(init.read_text("utf-8"))), \
            f"{init.relative_to(ROOT)} does not say what the package holds"


def test_the_services_never_import_their_callers() -> None:
    edges = graph()
    offenders = {
        name: sorted(target for target in targets
                     if any(target == caller or target.startswith(caller + ".") for caller in CALLERS))
        for name, targets in edges.items() if name.startswith(f"{PACKAGE}.services")
    }
    offenders = {name: targets for name, targets in offenders.items() if targets}
    assert not offenders, f"services importing the tasks, the console, the API or the CLI: {offenders}"
