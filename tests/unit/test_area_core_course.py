"""core_course client against every recorded answer of its functions (Moodle 5.1, 4.5, single calls).

Each recorded response is fed to the client method through a stub session: successes must parse into the
typed results, errors must raise the right ``MoodleError`` subclass, and where the recording keeps the
form it sent, the client must send the same fields and values (order of keys and of name/value options
does not matter to PHP, so it is not compared).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

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
from tests.recordings import (
    Invoke,
    Recorded,
    answer_of,
    check_recorded,
    find,
    needs_recordings,
    recorded_calls,
    stub_client,
    where,
)

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


@needs_recordings
@pytest.mark.parametrize("recorded", COURSE_CALLS, ids=where(COURSE_CALLS))
def test_recorded_course_call(recorded: Recorded) -> None:
    invoke, expressible = invoke_course(recorded.function)
    check_recorded(recorded, invoke, exact=expressible(recorded.params), as_php=True, verify=_verify_course)


@needs_recordings
def test_the_recordings_cover_the_course_functions() -> None:
    seen = {call.function for call in COURSE_CALLS}
    assert {"core_course_create_categories", "core_course_create_courses", "core_course_get_contents",
            "core_course_duplicate_course", "core_course_get_courses_by_field"} <= seen
    assert any(call.where.startswith("scenarios-4.5/") for call in COURSE_CALLS)


# --- specific readings ------------------------------------------------------------------------------------

@needs_recordings
def test_duplicate_shortname_is_a_duplicate_error() -> None:
    recorded = find(COURSE_CALLS, "scenarios/categories_and_courses s9")
    client, _ = stub_client(answer_of(recorded))
    with pytest.raises(errors.DuplicateError) as caught:
        invoke_course(recorded.function)[0](client, recorded.params)
    assert caught.value.errorcode == "shortnametaken"


@needs_recordings
def test_courses_by_field_reads_format_options_and_methods() -> None:
    recorded = find(COURSE_CALLS, "scenarios/categories_and_courses s12")
    client, _ = stub_client(answer_of(recorded))
    result = client.core_course.get_courses_by_field("idnumber", "lab1-cate-CRS001")
    course = result.courses[0]
    assert course.idnumber == "lab1-cate-CRS001" and course.enablecompletion == 1
    assert course.enrollmentmethods == ("manual",)
    assert {o.name: o.value for o in course.courseformatoptions}["hiddensections"] == "1"
    assert course.customfield("credit_hours") is None


@needs_recordings
def test_copy_has_no_idnumber() -> None:
    recorded = find(COURSE_CALLS, "scenarios/categories_and_courses s27")
    client, _ = stub_client(answer_of(recorded))
    course = client.core_course.get_courses_by_field("id", 4).courses[0]
    assert course.idnumber == ""


@needs_recordings
def test_contents_keep_completion_and_page_file() -> None:
    recorded = find(COURSE_CALLS, "scenarios/categories_and_courses s22")
    client, _ = stub_client(answer_of(recorded))
    sections = client.core_course.get_contents(2)
    page = next(m for s in sections for m in s.modules if m.modname == "page")
    assert page.completion == 1 and page.completiondata is not None
    assert page.completiondata.isautomatic is False and page.completiondata.state == 0
    assert page.contents[0].filename == "index.html"
    forum = next(m for s in sections for m in s.modules if m.name.startswith("讨论区"))
    assert forum.completiondata is None and forum.contents == ()


@needs_recordings
def test_categories_with_null_idnumber() -> None:
    recorded = find(COURSE_CALLS, "single-calls-5.1/core_course_get_categories__success_all")
    client, _ = stub_client(answer_of(recorded))
    categories = client.core_course.get_categories()
    assert isinstance(categories[0], Category) and categories[0].idnumber is None
    assert categories[1].name == "Party &amp; Administration"


# --- without recordings -----------------------------------------------------------------------------------

def test_create_courses_is_sent_in_batches_and_merged() -> None:
    courses = [NewCourse(fullname=f"C{i}", shortname=f"c{i}", categoryid=1) for i in range(5)]
    client, s = stub_client([{"id": 7, "shortname": "c"}, {"id": 8, "shortname": "c"}], batch_size=2,
                            repeat_last=True)
    created = client.core_course.create_courses(courses)
    assert len(s.sent) == 3
    assert len(created) == 6  # the stub answers two courses per call
    assert s.sent[2].fields["courses[0][shortname]"] == "c4"


def test_new_course_sends_custom_fields_and_format_options() -> None:
    course = NewCourse(fullname="F", shortname="S", categoryid=3, enablecompletion=True,
                       courseformatoptions={"coursedisplay": 0}, customfields={"credit_hours": 2})
    client, s = stub_client([{"id": 9, "shortname": "S"}], repeat_last=True)
    client.core_course.create_courses([course])
    form = s.sent[0].fields
    assert form["courses[0][enablecompletion]"] == "1"
    assert form["courses[0][customfields][0][shortname]"] == "credit_hours"
    assert form["courses[0][customfields][0][value]"] == "2"
    assert form["courses[0][courseformatoptions][0][name]"] == "coursedisplay"


def test_update_courses_merges_warnings_across_batches() -> None:
    answer = {"warnings": [{"item": "course", "itemid": 3, "warningcode": "shortnametaken", "message": "x"}]}
    client, s = stub_client(answer, batch_size=1, repeat_last=True)
    result = client.core_course.update_courses([CourseUpdate(id=3, shortname="a"),
                                                CourseUpdate(id=4, fullname="b")])
    assert len(s.sent) == 2 and len(result.warnings) == 2
    assert result.warnings[0].warningcode == "shortnametaken"


def test_course_module_keeps_warnings() -> None:
    answer = {"cm": {"id": 5, "course": 2, "module": 1, "modname": "assign", "instance": 1, "section": 2,
                     "sectionnum": 1, "name": "Essay", "completion": 0, "groupmode": 0, "groupingid": 0,
                     "grade": 100}, "warnings": []}
    client, s = stub_client(answer, repeat_last=True)
    cm = client.core_course.get_course_module(5)
    assert isinstance(cm, CourseModule) and cm.grade == 100.0 and cm.warnings == ()
    assert s.sent[0].fields["cmid"] == "5"


def test_iter_search_courses_reads_every_page() -> None:
    pages = [{"total": 3, "courses": [_course(1), _course(2)], "warnings": []},
             {"total": 3, "courses": [_course(3)], "warnings": []}]
    client, s = stub_client(*pages, repeat_last=True)
    found = [c.id for c in client.core_course.iter_search_courses("search", "x", perpage=2)]
    assert found == [1, 2, 3]
    assert [p.fields["page"] for p in s.sent] == ["0", "1"]


def test_update_category_sends_only_what_changes() -> None:
    client, s = stub_client(None, repeat_last=True)
    client.core_course.update_categories([CategoryUpdate(id=4, idnumber="X")])
    assert s.sent[0].pairs == [("categories[0][id]", "4"), ("categories[0][idnumber]", "X")]


def _course(courseid: int) -> dict[str, Any]:
    return {"id": courseid, "fullname": "F", "displayname": "F", "shortname": f"s{courseid}", "categoryid": 1,
            "categoryname": "C", "summary": "", "summaryformat": 1, "overviewfiles": [], "contacts": [],
            "enrollmentmethods": ["manual"], "showactivitydates": True, "showcompletionconditions": True}
