"""gradereport_user, gradereport_overview and core_grades against every recorded answer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from moodle_bridge import MoodleClient, MoodleError, ProtocolError
from moodle_bridge.areas.core_grades import (
    CoreGrades,
    CourseGrades,
    GradebookItems,
    GradereportOverview,
    GradeUpdate,
    NewGrade,
)
from moodle_bridge.areas.gradereport_user import GradeCell, GradeItemsReport, GradesTables
from moodle_bridge.errors import ERRORCODE_CLASSES

URL = "http://moodle.test"
ENDPOINT = URL + "/webservice/rest/server.php"
CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "moodle-contract"
FUNCTIONS = {
    "gradereport_user_get_grade_items",
    "gradereport_user_get_grades_table",
    "gradereport_overview_get_course_grades",
    "core_grades_get_gradeitems",
    "core_grades_update_grades",
}
_REF = re.compile(r"\$\{(s\d+)\.response((?:\[\d+\]|\.\w+)*)\}")
_PART = re.compile(r"\[(\d+)\]|\.(\w+)")
_CONTROL = {"wstoken", "wsfunction", "moodlewsrestformat"}


def _resolve(value: Any, answers: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            node = answers[whole.group(1)]
            for index, key in _PART.findall(whole.group(2)):
                node = node[int(index)] if index else node[key]
            return node
        return value
    if isinstance(value, list):
        return [_resolve(item, answers) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, answers) for key, item in value.items()}
    return value


def recorded_calls(functions: set[str]) -> list[Any]:
    """(function, params, form pairs or None, response) of every recorded call of ``functions``."""
    calls: list[Any] = []
    if not CONTRACT.is_dir():
        return calls
    for folder in ("scenarios", "scenarios-4.5"):
        for path in sorted((CONTRACT / folder).glob("*.json")):
            answers: dict[str, Any] = {}
            for step in json.loads(path.read_text("utf-8"))["steps"]:
                answers[step["id"]] = step.get("response")
                if step.get("function") in functions:
                    params = _resolve(step.get("params") or {}, answers)
                    encoded = step.get("encoded")
                    form = None if encoded is None else [tuple(pair) for pair in encoded]
                    calls.append(pytest.param(step["function"], params, form, step["response"],
                                              id=f"{folder}/{path.stem}/{step['id']}"))
    for path in sorted((CONTRACT / "single-calls-5.1").glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if isinstance(data, dict) and data.get("function") in functions:
            form = None if data.get("form_fields") is None else [
                tuple(pair) for pair in data["form_fields"] if pair[0] not in _CONTROL]
            calls.append(pytest.param(data["function"], data.get("params") or {}, form, data["response"],
                                      id=f"single/{path.stem}"))
    return calls


def make_client() -> MoodleClient:
    return MoodleClient(URL, "t" * 32, timeout=5, retries=0, max_workers=4)


def sent_form(call: Any) -> list[tuple[str, str]]:
    pairs = parse_qsl(call.request.body, keep_blank_values=True)
    return [(key, value) for key, value in pairs if key not in _CONTROL]


def grades_area(client: MoodleClient) -> CoreGrades:
    area = getattr(client, "core_grades", None)
    return area if isinstance(area, CoreGrades) else CoreGrades(client)


def overview_area(client: MoodleClient) -> GradereportOverview:
    area = getattr(client, "gradereport_overview", None)
    return area if isinstance(area, GradereportOverview) else GradereportOverview(client)


def _opt(params: dict[str, Any], key: str) -> int | None:
    return None if key not in params else int(params[key])


def invoke(client: MoodleClient, function: str, params: dict[str, Any]) -> Any:
    """Calls the area method for ``function``; params the method cannot express go through ``call``."""
    try:
        if function == "gradereport_user_get_grade_items":
            return client.gradereport_user.get_grade_items(int(params["courseid"]), _opt(params, "userid"),
                                                           _opt(params, "groupid"))
        if function == "gradereport_user_get_grades_table":
            return client.gradereport_user.get_grades_table(int(params["courseid"]), _opt(params, "userid"),
                                                            _opt(params, "groupid"))
        if function == "gradereport_overview_get_course_grades":
            return overview_area(client).get_course_grades(_opt(params, "userid"))
        if function == "core_grades_get_gradeitems":
            return grades_area(client).get_gradeitems(int(params["courseid"]))
        if function == "core_grades_update_grades":
            grades = [NewGrade(int(g["studentid"]), float(g["grade"]), g.get("str_feedback"))
                      for g in params.get("grades") or []]
            return grades_area(client).update_grades(
                source=params["source"], courseid=int(params["courseid"]), component=params["component"],
                activityid=int(params["activityid"]), itemnumber=int(params["itemnumber"]), grades=grades)
    except (KeyError, ValueError):  # a missing or mistyped parameter: send exactly what was sent
        return client.call(function, params, write=False)
    raise AssertionError(function)


EXPECTED_TYPES = {
    "gradereport_user_get_grade_items": GradeItemsReport,
    "gradereport_user_get_grades_table": GradesTables,
    "gradereport_overview_get_course_grades": CourseGrades,
    "core_grades_get_gradeitems": GradebookItems,
    "core_grades_update_grades": GradeUpdate,
}


def _untruncate(answer: Any) -> Any:
    """One single-call recording shortened its list with a text note ("... 198 more users")."""
    if isinstance(answer, dict) and isinstance(answer.get("usergrades"), list):
        return {**answer, "usergrades": [u for u in answer["usergrades"] if isinstance(u, dict)]}
    return answer


@pytest.mark.parametrize(("function", "params", "form", "answer"), recorded_calls(FUNCTIONS))
def test_recorded_answer(function: str, params: dict[str, Any], form: list[tuple[str, str]] | None,
                         answer: Any) -> None:
    client = make_client()
    answer = _untruncate(answer)
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=answer)
        if isinstance(answer, dict) and "exception" in answer:
            with pytest.raises(MoodleError) as caught:
                invoke(client, function, params)
            assert type(caught.value) is ERRORCODE_CLASSES.get(answer.get("errorcode") or "", MoodleError)
            assert caught.value.errorcode == answer.get("errorcode")
        else:
            result = invoke(client, function, params)
            assert isinstance(result, EXPECTED_TYPES[function])
            _check(result, answer)
        if form is not None:
            assert sent_form(mock.calls[0]) == form


def _check(result: Any, answer: Any) -> None:
    if isinstance(result, GradeItemsReport):
        assert [u.userid for u in result.usergrades] == [u["userid"] for u in answer["usergrades"]]
        for user, raw in zip(result.usergrades, answer["usergrades"], strict=True):
            assert [i.graderaw for i in user.gradeitems] == [i.get("graderaw") for i in raw["gradeitems"]]
            assert user.course_total is not None and user.course_total.cmid is None
            assert user.course_total.graderaw == raw["gradeitems"][-1]["graderaw"]
    elif isinstance(result, GradesTables):
        table = result.tables[0]
        grades = [row.grade.text for row in table.tabledata if row.grade is not None]
        assert grades and all(re.fullmatch(r"-|\d+\.\d\d", text) for text in grades), grades
        total = [row for row in table.tabledata
                 if row.itemname and "Course total" in (row.itemname.content or "")]
        assert total and total[0].grade is not None and total[0].grade.class_
    elif isinstance(result, CourseGrades):
        assert [(g.courseid, g.grade, g.rawgrade) for g in result.grades] == [
            (g["courseid"], g["grade"], g["rawgrade"]) for g in answer["grades"]]
        assert result.grades[0].value == float(answer["grades"][0]["rawgrade"])
    elif isinstance(result, GradebookItems):
        assert [(i.id, i.itemname) for i in result.items] == [(int(i["id"]), i["itemname"])
                                                               for i in answer["gradeItems"]]
    elif isinstance(result, GradeUpdate):
        assert result.status == answer and result.ok


def test_the_recordings_are_there() -> None:
    if not CONTRACT.is_dir():
        pytest.skip("../shared/moodle-contract is not beside the checkout")
    assert len(recorded_calls(FUNCTIONS)) > 20


def test_a_grade_cell_reads_the_same_on_51_and_45() -> None:
    wrapped = GradeCell(content='<div class="d-flex"><div>85.50</div><div class="ps-1"><div '
                                'class="action-menu moodle-actionmenu"><a href="#">Grade analysis</a>'
                                '</div></div></div>')
    assert wrapped.text == "85.50"
    assert GradeCell(content="85.50").text == "85.50"
    assert GradeCell(content="&nbsp;").text == ""


def test_update_grades_rejects_an_answer_that_is_not_a_status() -> None:
    client = make_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json={"unexpected": True})
        with pytest.raises(ProtocolError):
            grades_area(client).update_grades(source="x", courseid=2, component="mod_assign", activityid=3,
                                              grades=[NewGrade(5, 70)])
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=1)
        assert not grades_area(client).update_grades(source="x", courseid=2, component="mod_assign",
                                                     activityid=3).ok
