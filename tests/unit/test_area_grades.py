"""gradereport_user, gradereport_overview and core_grades against every recorded answer."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
import responses

from moodle_bridge import MoodleClient, ProtocolError
from moodle_bridge.areas.core_grades import (
    CoreGrades,
    CourseGrades,
    GradebookItems,
    GradereportOverview,
    GradeUpdate,
    NewGrade,
)
from moodle_bridge.areas.gradereport_user import CourseTotal, GradeCell, GradeItemsReport, GradesTables
from tests.recordings import (
    CONTRACT,
    ENDPOINT,
    Recorded,
    check_recorded,
    endpoint_client,
    recorded_calls,
    where,
)

FUNCTIONS = {
    "gradereport_user_get_grade_items",
    "gradereport_user_get_grades_table",
    "gradereport_overview_get_course_grades",
    "core_grades_get_gradeitems",
    "core_grades_update_grades",
}
CASES = recorded_calls(FUNCTIONS)


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


@pytest.mark.parametrize("case", CASES, ids=where(CASES))
def test_recorded_answer(case: Recorded) -> None:
    case = replace(case, response=_untruncate(case.response))

    def verify(result: Any, answer: Any) -> None:
        assert isinstance(result, EXPECTED_TYPES[case.function])
        _check(result, answer)

    check_recorded(case, lambda client, params: invoke(client, case.function, params), verify=verify)


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
        pytest.skip("tests/contract/recordings is absent")
    assert len(CASES) > 20


def test_a_grade_cell_reads_the_same_on_51_and_45() -> None:
    wrapped = GradeCell(content='<div class="d-flex"><div>85.50</div><div class="ps-1"><div '
                                'class="action-menu moodle-actionmenu"><a href="#">Grade analysis</a>'
                                '</div></div></div>')
    assert wrapped.text == "85.50"
    assert GradeCell(content="85.50").text == "85.50"
    assert GradeCell(content="&nbsp;").text == ""


def test_update_grades_rejects_an_answer_that_is_not_a_status() -> None:
    client = endpoint_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json={"unexpected": True})
        with pytest.raises(ProtocolError):
            grades_area(client).update_grades(source="x", courseid=2, component="mod_assign", activityid=3,
                                              grades=[NewGrade(5, 70)])
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=1)
        assert not grades_area(client).update_grades(source="x", courseid=2, component="mod_assign",
                                                     activityid=3).ok


@responses.activate
def test_course_totals_keep_each_users_course_row_only() -> None:
    responses.post(ENDPOINT, json={"usergrades": [
        {"courseid": 7, "userid": 21, "gradeitems": [
            {"id": 1, "itemtype": "mod", "graderaw": 80.0, "grademax": 100.0},
            {"id": 2, "itemtype": "course", "graderaw": 80.0, "grademax": 100.0,
             "gradedategraded": 1790000000}]},
        {"courseid": 7, "userid": 22, "gradeitems": [{"id": 2, "itemtype": "course", "graderaw": None,
                                                      "grademax": 100}]}], "warnings": []})
    totals = endpoint_client().gradereport_user.course_totals(7)
    assert totals.by_user == {21: CourseTotal(21, 80.0, 100.0, 1790000000), 22: CourseTotal(22, None, 100.0)}
    assert totals.items == {"mod//"}


@responses.activate
def test_course_totals_refuse_a_grade_that_is_not_a_number() -> None:
    responses.post(ENDPOINT, json={"usergrades": [{"courseid": 7, "userid": 21, "gradeitems": [
        {"id": 2, "itemtype": "course", "graderaw": "80,5", "grademax": 100.0}]}], "warnings": []})
    with pytest.raises(ProtocolError, match="graderaw"):
        endpoint_client().gradereport_user.course_totals(7)
