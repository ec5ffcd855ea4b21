"""core_course client against every recorded answer of its functions (Moodle 5.1, 4.5, single calls).

Each recorded response is fed to the client method through a stub session: successes must parse into the
typed results, errors must raise the right ``MoodleError`` subclass, and where the recording keeps the
form it sent, the client must send the same fields and values (order of keys and of name/value options
does not matter to PHP, so it is not compared).

The recording machinery here (``recorded_calls``, ``stub_client``, ``normalize``) is shared by the
other area tests of this helper (enrol, group).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from moodle_bridge import MoodleClient, errors
from moodle_bridge.areas.core_course import (
    Category,
    CategoryUpdate,
    Course,
    CourseModule,
    CourseUpdate,
    NewCategory,
    NewCourse,
    Section,
)
from moodle_bridge.fake.external import decode_form

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "moodle-contract"
NEEDS_RECORDINGS = pytest.mark.skipif(not CONTRACT.is_dir(),
                                      reason="the Moodle recordings (../shared/moodle-contract) are absent")
_REF = re.compile(r"\$\{(s\d+)\.response((?:\[\d+\]|\.\w+)*)\}")
_PART = re.compile(r"\[(\d+)\]|\.(\w+)")


# --- shared machinery -----------------------------------------------------------------------------------

@dataclass
class Recorded:
    """One recorded call: where it comes from, what was sent, what Moodle answered."""

    where: str
    function: str
    params: dict[str, Any]
    encoded: list[tuple[str, str]] | None
    http_status: int
    content_type: str
    response: Any


def _lookup(responses: dict[str, Any], step: str, path: str) -> Any:
    node = responses[step]
    for index, key in _PART.findall(path):
        node = node[int(index)] if index else node[key]
    return node


def _resolve(value: Any, responses: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return _lookup(responses, whole.group(1), whole.group(2))
        return _REF.sub(lambda m: str(_lookup(responses, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve(item, responses) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, responses) for key, item in value.items()}
    return value


def recorded_calls(functions: set[str]) -> list[Recorded]:
    """Every recorded call of ``functions``; references to earlier steps resolved to recorded values."""
    if not CONTRACT.is_dir():
        return []
    calls: list[Recorded] = []
    for folder in ("scenarios", "scenarios-4.5"):
        for path in sorted((CONTRACT / folder).glob("*.json")):
            responses: dict[str, Any] = {}
            for step in json.loads(path.read_text("utf-8"))["steps"]:
                responses[step["id"]] = step.get("response")
                if step.get("function") not in functions or step.get("method") == "GET":
                    continue
                calls.append(Recorded(
                    f"{folder}/{path.stem} {step['id']}", step["function"],
                    _resolve(step.get("params") or {}, responses),
                    [tuple(pair) for pair in step["encoded"]] if step.get("encoded") is not None else None,
                    int(step["http_status"]), "application/json", step["response"]))
    for path in sorted((CONTRACT / "single-calls-5.1").glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or data.get("function") not in functions:
            continue
        pairs = [tuple(p) for p in data.get("form_fields") or []
                 if p[0] not in ("wstoken", "wsfunction", "moodlewsrestformat")]
        calls.append(Recorded(f"single-calls-5.1/{path.stem}", data["function"], data.get("params") or {},
                              pairs if data.get("form_fields") is not None else None,
                              int(data.get("http_status") or 200),
                              str(data.get("content_type") or "application/json"), data["response"]))
    return calls


class StubSession(requests.Session):
    """Answers POSTs with canned bodies (the last one repeats) and keeps every form it was sent."""

    def __init__(self, bodies: list[bytes], status: int = 200,
                 content_type: str = "application/json") -> None:
        super().__init__()
        self.bodies = list(bodies)
        self.status = status
        self.content_type = content_type
        self.sent: list[list[tuple[str, str]]] = []
        self._lock = threading.Lock()

    def post(self, url: str | bytes, data: Any = None, json: Any = None,
             **kwargs: Any) -> requests.Response:
        with self._lock:
            self.sent.append([(str(k), str(v)) for k, v in data])
            body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        response = requests.Response()
        response.status_code = self.status
        response._content = body
        response.headers["Content-Type"] = self.content_type
        response.url = str(url)
        return response


@contextmanager
def stub_client(recorded: Recorded, batch_size: int = 1000) -> Iterator[tuple[MoodleClient, StubSession]]:
    session = StubSession([json.dumps(recorded.response, ensure_ascii=False).encode("utf-8")],
                          recorded.http_status, recorded.content_type)
    with MoodleClient("http://moodle.invalid", "t" * 32, retries=0, batch_size=batch_size,
                      session_factory=lambda: session) as client:
        yield client, session


@contextmanager
def stub_answer(*responses: Any, batch_size: int = 1000) -> Iterator[tuple[MoodleClient, StubSession]]:
    """A client whose calls get ``responses`` in turn (the last repeats), for tests without recordings."""
    session = StubSession([json.dumps(r, ensure_ascii=False).encode("utf-8") for r in responses])
    with MoodleClient("http://moodle.invalid", "t" * 32, retries=0, batch_size=batch_size,
                      session_factory=lambda: session) as client:
        yield client, session


def _norm(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            items = [_norm(node[key]) for key in sorted(node, key=int)]
            if all(isinstance(item, dict) and set(item) in ({"name", "value"}, {"key", "value"})
                   for item in items):
                items.sort(key=lambda item: json.dumps(item, sort_keys=True))
            return items
        return {key: _norm(value) for key, value in node.items()}
    return node


def normalize(pairs: list[tuple[str, str]]) -> Any:
    """Form pairs as PHP reads them: nested arrays; name/value option lists compared as sets."""
    return _norm(decode_form(list(pairs)))


def expected_error(response: Any) -> type[errors.MoodleError] | None:
    if isinstance(response, dict) and "exception" in response:
        code = response.get("errorcode")
        return errors.ERRORCODE_CLASSES.get(str(code), errors.MoodleError) if code else errors.MoodleError
    return None


Invoke = Callable[[MoodleClient, dict[str, Any]], Any]


def check_recorded(recorded: Recorded, invoke: Invoke, expressible: bool,
                   verify: Callable[[Any, Any], None] | None = None) -> None:
    """Runs ``invoke`` against the recorded answer and checks the error class, the form, the result."""
    error = expected_error(recorded.response)
    with stub_client(recorded) as (client, session):
        if error is not None:
            with pytest.raises(error) as caught:
                invoke(client, recorded.params)
            assert caught.value.wsfunction == recorded.function
            if isinstance(recorded.response, dict) and recorded.response.get("errorcode"):
                assert caught.value.errorcode == recorded.response["errorcode"]
        else:
            result = invoke(client, recorded.params)
            if verify is not None:
                verify(result, recorded.response)
        assert len(session.sent) == 1, "one recorded call is one HTTP call"
        envelope = ("wstoken", "wsfunction", "moodlewsrestformat")
        sent = [(k, v) for k, v in session.sent[0] if k not in envelope]
        assert dict(session.sent[0])["wsfunction"] == recorded.function
        if expressible and recorded.encoded is not None:
            assert normalize(sent) == normalize(recorded.encoded)


def ids(calls: list[Recorded]) -> list[str]:
    return [call.where for call in calls]


# --- core_course ------------------------------------------------------------------------------------------

def _options(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {str(item["name"]): item["value"] for item in items or []}


def _create_categories(client: MoodleClient, params: dict[str, Any]) -> Any:
    return client.core_course.create_categories([NewCategory(**c) for c in params["categories"]])


def _new_course(item: dict[str, Any]) -> NewCourse:
    fields = dict(item)
    if "courseformatoptions" in fields:
        fields["courseformatoptions"] = _options(fields["courseformatoptions"])
    if "customfields" in fields:
        fields["customfields"] = {c["shortname"]: c["value"] for c in fields["customfields"]}
    return NewCourse(**fields)


def _course_update(item: dict[str, Any]) -> CourseUpdate:
    return CourseUpdate(**item)


def invoke_course(function: str) -> tuple[Invoke, Callable[[dict[str, Any]], bool]]:
    """How to call the client for a recorded call, and whether the typed API can send its exact form."""
    cc = "core_course_"
    table: dict[str, tuple[Invoke, Callable[[dict[str, Any]], bool]]] = {
        cc + "create_categories": (_create_categories, lambda p: True),
        cc + "create_courses": (
            lambda c, p: c.core_course.create_courses(
                [_new_course(i) for i in p["courses"]] if all("categoryid" in i for i in p["courses"])
                else [NewCourse(fullname="x", shortname="x", categoryid=1)]),
            lambda p: all("categoryid" in i for i in p["courses"])),
        cc + "update_courses": (
            lambda c, p: c.core_course.update_courses(
                [_course_update(i) for i in p["courses"]] if all("id" in i for i in p["courses"])
                else [CourseUpdate(id=0)]),
            lambda p: all("id" in i for i in p["courses"])),
        cc + "get_categories": (
            lambda c, p: c.core_course.get_categories(
                {crit["key"]: crit["value"] for crit in p.get("criteria") or []} or None,
                addsubcategories=None if "addsubcategories" not in p else bool(p["addsubcategories"])),
            lambda p: True),
        cc + "get_courses_by_field": (
            lambda c, p: c.core_course.get_courses_by_field(p.get("field", ""), p.get("value", "")),
            lambda p: True),
        cc + "get_courses": (
            lambda c, p: c.core_course.get_courses((p.get("options") or {}).get("ids")), lambda p: True),
        cc + "duplicate_course": (
            lambda c, p: c.core_course.duplicate_course(
                p["courseid"], p["fullname"], p["shortname"], p["categoryid"], visible=p.get("visible"),
                options=_options(p.get("options")) or None),
            lambda p: True),
        cc + "get_contents": (
            lambda c, p: c.core_course.get_contents(p["courseid"], **_options(p.get("options"))),
            lambda p: True),
    }
    return table[function]


def _verify_course(result: Any, response: Any) -> None:
    if isinstance(response, list):
        assert isinstance(result, list) and len(result) == len(response)
        for item, raw in zip(result, response, strict=True):
            if "id" in raw:
                assert item.id == raw["id"]
        if result and isinstance(result[0], Section):
            modules = [m for s in result for m in s.modules]
            assert len(modules) == sum(len(s["modules"]) for s in response)
    elif isinstance(response, dict) and "courses" in response:
        assert [c.id for c in result.courses] == [c["id"] for c in response["courses"]]
        assert all(isinstance(c, Course) for c in result.courses)
    elif isinstance(response, dict) and "warnings" in response:
        assert [(w.warningcode, w.itemid) for w in result.warnings] == [
            (w["warningcode"], w.get("itemid")) for w in response["warnings"]]
    elif isinstance(response, dict) and "id" in response:
        assert result.id == response["id"] and result.shortname == response["shortname"]


COURSE_FUNCTIONS = {
    "core_course_create_categories", "core_course_update_categories", "core_course_get_categories",
    "core_course_create_courses", "core_course_update_courses", "core_course_delete_courses",
    "core_course_get_courses", "core_course_get_courses_by_field", "core_course_search_courses",
    "core_course_duplicate_course", "core_course_get_contents", "core_course_get_course_module",
    "core_course_get_course_module_by_instance",
}
COURSE_CALLS = recorded_calls(COURSE_FUNCTIONS)


@NEEDS_RECORDINGS
@pytest.mark.parametrize("recorded", COURSE_CALLS, ids=ids(COURSE_CALLS))
def test_recorded_course_call(recorded: Recorded) -> None:
    invoke, expressible = invoke_course(recorded.function)
    check_recorded(recorded, invoke, expressible(recorded.params), _verify_course)


@NEEDS_RECORDINGS
def test_the_recordings_cover_the_course_functions() -> None:
    seen = {call.function for call in COURSE_CALLS}
    assert {"core_course_create_categories", "core_course_create_courses", "core_course_get_contents",
            "core_course_duplicate_course", "core_course_get_courses_by_field"} <= seen
    assert any(call.where.startswith("scenarios-4.5/") for call in COURSE_CALLS)


# --- specific readings ------------------------------------------------------------------------------------

def _one(where: str) -> Recorded:
    for call in COURSE_CALLS:
        if call.where == where:
            return call
    pytest.skip(f"recording {where} is absent")


@NEEDS_RECORDINGS
def test_duplicate_shortname_is_a_duplicate_error() -> None:
    recorded = _one("scenarios/categories_and_courses s9")
    with stub_client(recorded) as (client, _), pytest.raises(errors.DuplicateError) as caught:
        invoke_course(recorded.function)[0](client, recorded.params)
    assert caught.value.errorcode == "shortnametaken"


@NEEDS_RECORDINGS
def test_courses_by_field_reads_format_options_and_methods() -> None:
    recorded = _one("scenarios/categories_and_courses s12")
    with stub_client(recorded) as (client, _):
        result = client.core_course.get_courses_by_field("idnumber", "lab1-cate-CRS001")
    course = result.courses[0]
    assert course.idnumber == "lab1-cate-CRS001" and course.enablecompletion == 1
    assert course.enrollmentmethods == ("manual",)
    assert {o.name: o.value for o in course.courseformatoptions}["hiddensections"] == "1"
    assert course.customfield("credit_hours") is None


@NEEDS_RECORDINGS
def test_copy_has_no_idnumber() -> None:
    recorded = _one("scenarios/categories_and_courses s27")
    with stub_client(recorded) as (client, _):
        course = client.core_course.get_courses_by_field("id", 4).courses[0]
    assert course.idnumber == ""


@NEEDS_RECORDINGS
def test_contents_keep_completion_and_page_file() -> None:
    recorded = _one("scenarios/categories_and_courses s22")
    with stub_client(recorded) as (client, _):
        sections = client.core_course.get_contents(2)
    page = next(m for s in sections for m in s.modules if m.modname == "page")
    assert page.completion == 1 and page.completiondata is not None
    assert page.completiondata.isautomatic is False and page.completiondata.state == 0
    assert page.contents[0].filename == "index.html"
    forum = next(m for s in sections for m in s.modules if m.name.startswith("讨论区"))
    assert forum.completiondata is None and forum.contents == ()


@NEEDS_RECORDINGS
def test_categories_with_null_idnumber() -> None:
    recorded = _one("single-calls-5.1/core_course_get_categories__success_all")
    with stub_client(recorded) as (client, _):
        categories = client.core_course.get_categories()
    assert isinstance(categories[0], Category) and categories[0].idnumber is None
    assert categories[1].name == "Party &amp; Administration"


# --- without recordings -----------------------------------------------------------------------------------

def test_create_courses_is_sent_in_batches_and_merged() -> None:
    courses = [NewCourse(fullname=f"C{i}", shortname=f"c{i}", categoryid=1) for i in range(5)]
    with stub_answer([{"id": 7, "shortname": "c"}, {"id": 8, "shortname": "c"}], batch_size=2) as (client, s):
        created = client.core_course.create_courses(courses)
    assert len(s.sent) == 3
    assert len(created) == 6  # the stub answers two courses per call
    assert dict(s.sent[2])["courses[0][shortname]"] == "c4"


def test_new_course_sends_custom_fields_and_format_options() -> None:
    course = NewCourse(fullname="F", shortname="S", categoryid=3, enablecompletion=True,
                       courseformatoptions={"coursedisplay": 0}, customfields={"credit_hours": 2})
    with stub_answer([{"id": 9, "shortname": "S"}]) as (client, s):
        client.core_course.create_courses([course])
    form = dict(s.sent[0])
    assert form["courses[0][enablecompletion]"] == "1"
    assert form["courses[0][customfields][0][shortname]"] == "credit_hours"
    assert form["courses[0][customfields][0][value]"] == "2"
    assert form["courses[0][courseformatoptions][0][name]"] == "coursedisplay"


def test_update_courses_merges_warnings_across_batches() -> None:
    answer = {"warnings": [{"item": "course", "itemid": 3, "warningcode": "shortnametaken", "message": "x"}]}
    with stub_answer(answer, batch_size=1) as (client, s):
        result = client.core_course.update_courses([CourseUpdate(id=3, shortname="a"),
                                                    CourseUpdate(id=4, fullname="b")])
    assert len(s.sent) == 2 and len(result.warnings) == 2
    assert result.warnings[0].warningcode == "shortnametaken"


def test_course_module_keeps_warnings() -> None:
    answer = {"cm": {"id": 5, "course": 2, "module": 1, "modname": "assign", "instance": 1, "section": 2,
                     "sectionnum": 1, "name": "Essay", "completion": 0, "groupmode": 0, "groupingid": 0,
                     "grade": 100}, "warnings": []}
    with stub_answer(answer) as (client, s):
        cm = client.core_course.get_course_module(5)
    assert isinstance(cm, CourseModule) and cm.grade == 100.0 and cm.warnings == ()
    assert dict(s.sent[0])["cmid"] == "5"


def test_iter_search_courses_reads_every_page() -> None:
    pages = [{"total": 3, "courses": [_course(1), _course(2)], "warnings": []},
             {"total": 3, "courses": [_course(3)], "warnings": []}]
    with stub_answer(*pages) as (client, s):
        found = [c.id for c in client.core_course.iter_search_courses("search", "x", perpage=2)]
    assert found == [1, 2, 3]
    assert [dict(p)["page"] for p in s.sent] == ["0", "1"]


def test_update_category_sends_only_what_changes() -> None:
    with stub_answer(None) as (client, s):
        client.core_course.update_categories([CategoryUpdate(id=4, idnumber="X")])
    assert s.sent[0][3:] == [("categories[0][id]", "4"), ("categories[0][idnumber]", "X")]


def _course(courseid: int) -> dict[str, Any]:
    return {"id": courseid, "fullname": "F", "displayname": "F", "shortname": f"s{courseid}", "categoryid": 1,
            "categoryname": "C", "summary": "", "summaryformat": 1, "overviewfiles": [], "contacts": [],
            "enrollmentmethods": ["manual"], "showactivitydates": True, "showcompletionconditions": True}
