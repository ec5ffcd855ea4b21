"""The architecture holds: imports flow plugin_service -> rules, moodle_bridge, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "moodle_bridge": {"plugin_service", "rules"},
    "rules": {"plugin_service", "moodle_bridge"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_upwards(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in files if imported_packages(path) & FORBIDDEN[package]
    }
    assert not offenders, f"{package} must not import {sorted(FORBIDDEN[package])}: {offenders}"


def test_the_bridge_areas_name_their_remote_function_first() -> None:
    """Every public area method's docstring starts with 'Calls <function> (read|write).'"""
    import inspect
    import re

    from moodle_bridge import areas
    from moodle_bridge.fake.external import signatures

    known = set(signatures())

    pattern = re.compile(r"^Calls (\w+) \((read|write)\)[.,]")
    problems = []
    for name in areas.__all__:
        cls = getattr(areas, name)
        if not (inspect.isclass(cls) and issubclass(cls, areas.Area)) or cls is areas.Area:
            continue
        for method_name, method in inspect.getmembers(cls, inspect.isfunction):
            if method_name.startswith("_") or method.__qualname__.split(".")[0] != cls.__name__:
                continue
            doc = inspect.getdoc(method) or ""
            if method_name.startswith("iter_") or method_name.endswith("_all"):
                continue
            match = pattern.match(doc)
            if not match:
                problems.append(f"{name}.{method_name}: {doc.splitlines()[0] if doc else 'no docstring'}")
            elif match.group(1) not in known:
                problems.append(f"{name}.{method_name} calls {match.group(1)}, which Moodle 5.1 "
                                "does not declare")
    assert not problems, "\n".join(problems)
