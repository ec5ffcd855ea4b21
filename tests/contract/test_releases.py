"""The fake as 4.5 differs from the fake as 5.1 where the two recording sites did, and nowhere else it can
know of: what each site declares (``signatures.json``) and what it reported of itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from moodle_bridge.fake.registry import FUNCTIONS
from moodle_bridge.fake.releases import ONLY_IN_5_1, RELEASES
from moodle_bridge.fake.stock import stock_site

from .replay import RECORDINGS

pytestmark = pytest.mark.contract


def _declared(release: str) -> dict[str, Any]:
    functions: dict[str, Any] = json.loads((RECORDINGS / release / "signatures.json").read_text("utf-8"))[
        "functions"]
    return functions


def _paths(node: Any, path: str = "") -> set[str]:
    """Every returned field's path, ``reports[].customfields`` style."""
    found: set[str] = set()
    if not isinstance(node, dict):
        return found
    for key, sub in (node.get("keys") or {}).items():
        here = f"{path}.{key}" if path else key
        found |= {here} | _paths(sub, here)
    if node.get("of") is not None:
        found |= _paths(node["of"], f"{path}[]")
    return found


def _outermost(paths: set[str]) -> set[str]:
    return {p for p in paths if not any(p != o and p.startswith((o + ".", o + "[")) for o in paths)}


def test_the_fields_a_4_5_answer_leaves_out_are_those_only_5_1_declares() -> None:
    new, old = _declared("5.1"), _declared("4.5")
    differs = {}
    for name in sorted(FUNCTIONS):
        assert name in old, f"{name} is not a 4.5 function"
        assert _paths(old[name].get("parameters")) == _paths(new[name].get("parameters")), name
        returned_old, returned_new = _paths(old[name].get("returns")), _paths(new[name].get("returns"))
        assert not returned_old - returned_new, f"{name} returns fields on 4.5 that 5.1 does not declare"
        if returned_new - returned_old:
            differs[name] = tuple(sorted(_outermost(returned_new - returned_old)))
    assert differs == {name: tuple(sorted(paths)) for name, paths in ONLY_IN_5_1.items()}


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_the_site_reports_the_release_and_version_recorded(release: str) -> None:
    scenario = json.loads((RECORDINGS / release / "scenarios" / "auth_errors.json").read_text("utf-8"))
    info = next(step["response"] for step in scenario["steps"]
                if step.get("function") == "core_webservice_get_site_info" and "release" in step["response"])
    site = stock_site(release=release)
    assert (site.release, site.version) == (info["release"], info["version"])
    assert site.branch == tuple(int(part) for part in release.split("."))
