"""Replays a scenario recorded on a real Moodle against the fake and lists every difference.

The recordings live beside this module (``recordings/5.1/scenarios``, ``recordings/4.5/scenarios``); each
set is replayed against a fake answering as the release it was recorded on.

A step passes when the HTTP status is the same; for an error, ``exception`` and ``errorcode`` are the
same; for a success, the JSON has the same shape (the same keys at every level, the same JSON types,
lists element by element) and the values the scenario itself set come back the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from moodle_bridge.encoding import encode_params
from moodle_bridge.fake import serve, stock_site
from moodle_bridge.fake.seed import seed_site

RECORDINGS = Path(__file__).resolve().parent / "recordings"
RELEASES = ("5.1", "4.5")
TOKENS = {"wsbot": "a1" * 16, "weak": "b2" * 16, "small": "c3" * 16, "invalid": "ffff" * 8}
_REF = re.compile(r"\$\{(s\d+)\.response((?:\[\d+\]|\.\w+)*)\}")
_PATH_PART = re.compile(r"\[(\d+)\]|\.(\w+)")


def scenario_files(release: str = "5.1") -> list[Path]:
    """The scenarios recorded on ``release``, then the product's own calls (``product.json``, kept apart
    from ``scenarios/``, whose calls the client's unit tests also read)."""
    product = product_file(release)
    found = sorted((RECORDINGS / release / "scenarios").glob("*.json"))
    return [*found, product] if product.is_file() else found


def product_file(release: str) -> Path:
    """The calls the product itself made on ``release`` (``record_product.py``)."""
    return RECORDINGS / release / "product.json"


@dataclass
class Replay:
    scenario: dict[str, Any]
    responses: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS))
    problems: list[str] = field(default_factory=list)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = _REF.fullmatch(value)
            if whole:
                return self._lookup(whole.group(1), whole.group(2))
            return _REF.sub(lambda m: str(self._lookup(m.group(1), m.group(2))), value)
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    def _lookup(self, step_id: str, path: str) -> Any:
        node = self.responses[step_id]
        for index, key in _PATH_PART.findall(path):
            node = node[int(index)] if index else node[key]
        return node


def run(path: Path, deviations: dict[tuple[str, str], str], release: str = "5.1") -> list[str]:
    """Replays one scenario file against a fake answering as ``release``; returns the differences not
    excused in ``deviations``.

    ``deviations`` are keyed by ``("<scenario> <step id>", path)``, or ``("<scenario> <function>", path)``
    for every step of the scenario calling that function. A scenario with ``"site": "demo"`` starts from
    the fake seeded as the recording site was (``moodle_bridge.fake.seed``).
    """
    scenario = json.loads(path.read_text("utf-8"))
    replay = Replay(scenario)
    site = stock_site(sitename="Cadre Learning Center Lab",
                      tokens={k: v for k, v in TOKENS.items() if k != "invalid"},
                      role_can_assign=not any(step.get("site_action") == "allow_role_assign"
                                              for step in scenario["steps"]),
                      release=release)
    if scenario.get("site"):
        seed_site(site, str(scenario["site"]))
    with serve(site) as fake, requests.Session() as http:
        for step in scenario["steps"]:
            where = f"{path.stem} {step['id']}"
            excused = _excused(deviations, path.stem, step)
            if step.get("at") is not None:  # the fake's clock reads what the site's read then
                site.clock.set(float(step["at"]), frozen=True)
            else:  # a step took the recording site about a second: the replay is not faster
                site.clock.advance(1)
            if step.get("site_action"):
                args = replay.resolve(step.get("args") or {})
                result = site.site_action(step["site_action"], args)
                replay.responses[step["id"]] = result
                if step["site_action"] == "issue_token":
                    name = re.search(r"token (\w+)", str(step["response"]["token"]))
                    assert name, step
                    replay.tokens[name.group(1)] = result["token"]
                continue
            if step.get("method") == "GET":
                answer = http.get(fake.url + step["url"], timeout=30)
                status, body = answer.status_code, _decode(answer)
                recorded = step["response"]
                if isinstance(recorded, str):
                    if not isinstance(body, str) or _xml_code(body) != _xml_code(recorded):
                        replay.problems.append(f"{where}: XML answer differs: {str(body)[:200]}")
                else:
                    replay.problems.extend(compare(where, step, recorded, body, excused))
                continue
            params = replay.resolve(step.get("params") or {})
            pairs = encode_params(params)
            if "${" not in json.dumps(step.get("params")) and step.get("encoded") is not None:
                recorded_pairs = [tuple(p) for p in step["encoded"]]
                if pairs != recorded_pairs:
                    replay.problems.append(f"{where}: encoding differs: {pairs} != {recorded_pairs}")
            data = [("wstoken", replay.tokens[step["token"]]), ("wsfunction", step["function"]),
                    ("moodlewsrestformat", "json"), *pairs]
            answer = http.post(fake.url + "/webservice/rest/server.php", data=data, timeout=30)
            status, body = answer.status_code, _decode(answer)
            replay.responses[step["id"]] = body
            if status != step["http_status"]:
                replay.problems.append(f"{where}: HTTP {status} != {step['http_status']}")
            replay.problems.extend(compare(where, step, step["response"], body, excused))
    return replay.problems


def _excused(deviations: dict[tuple[str, str], str], scenario: str,
             step: dict[str, Any]) -> dict[tuple[str, str], str]:
    """The deviations of one step: its own, and those of every call of its function in the scenario."""
    by_function = f"{scenario} {step.get('function')}"
    where = f"{scenario} {step['id']}"
    mine = {(where, p): why for (w, p), why in deviations.items() if w == by_function}
    return {**deviations, **mine} if mine else deviations


def _decode(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


def _xml_code(text: str) -> str | None:
    match = re.search(r"<ERRORCODE>(.*?)</ERRORCODE>", text)
    return match.group(1) if match else None


def compare(where: str, step: dict[str, Any], recorded: Any, actual: Any,
            deviations: dict[tuple[str, str], str]) -> list[str]:
    if isinstance(recorded, dict) and "exception" in recorded:
        if not isinstance(actual, dict) or "exception" not in actual:
            return [f"{where} {step.get('function')}: expected error {recorded.get('errorcode')}, "
                    f"got {json.dumps(actual, ensure_ascii=False)[:300]}"]
        errors: list[str] = []
        for key in ("exception", "errorcode"):
            if recorded.get(key) != actual.get(key) and (where, key) not in deviations:
                errors.append(f"{where} {step.get('function')}: {key} {actual.get(key)!r} "
                              f"!= recorded {recorded.get(key)!r} ({actual.get('debuginfo')})")
        return errors
    problems: list[str] = []
    _shape(where, step.get("function") or "", "", recorded, actual, problems, deviations)
    set_values = set(_leaves(step.get("params")))
    for path, value in _leaf_paths(recorded):
        if isinstance(value, str) and value and value in set_values:
            got = _at(actual, path)
            if got != value and (where, path) not in deviations:
                problems.append(f"{where}: value at {path} is {got!r}, the scenario set {value!r}")
    return problems


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "dict"


def _shape(where: str, fn: str, path: str, recorded: Any, actual: Any, problems: list[str],
           deviations: dict[tuple[str, str], str]) -> None:
    if (where, path) in deviations:
        return
    if _type(recorded) != _type(actual):
        problems.append(f"{where} {fn}: at '{path}' type {_type(actual)} != recorded "
                        f"{_type(recorded)} ({json.dumps(actual, ensure_ascii=False)[:120]})")
        return
    if isinstance(recorded, dict):
        def excused(key: str) -> bool:
            return (where, f"{path}.{key}" if path else key) in deviations

        missing = [k for k in recorded if k not in actual and not excused(k)]
        extra = [k for k in actual if k not in recorded and not excused(k)]
        if missing or extra:
            problems.append(f"{where} {fn}: at '{path}' keys missing {missing}, extra {extra}")
        for key in recorded:
            if key in actual:
                _shape(where, fn, f"{path}.{key}" if path else key, recorded[key], actual[key],
                       problems, deviations)
    elif isinstance(recorded, list):
        if len(recorded) != len(actual) and (where, path + "[]") not in deviations:
            problems.append(f"{where} {fn}: at '{path}' {len(actual)} items != recorded {len(recorded)}")
        for index, (rec, act) in enumerate(zip(recorded, actual, strict=False)):
            _shape(where, fn, f"{path}[{index}]", rec, act, problems, deviations)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _leaf_paths(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, f"{path}[{i}]")]
    return [(path, value)]


def _at(value: Any, path: str) -> Any:
    node = value
    for index, key in _PATH_PART.findall("." + path if path and path[0] != "[" else path):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node
