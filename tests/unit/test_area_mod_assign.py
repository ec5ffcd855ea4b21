"""mod_assign client: every recorded call parses (or raises the right error) and is sent as recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_assign import (
    AssignGrade,
    AssignmentsResult,
    GradesResult,
    SubmissionsResult,
    SubmissionStatus,
)
from moodle_bridge.errors import MoodleError
from tests.recordings import Recorded, check_recorded, needs_recordings, recorded_calls, stub_client, where


def _save_grade(c: MoodleClient, p: dict[str, Any]) -> Any:
    editor = (p.get("plugindata") or {}).get("assignfeedbackcomments_editor") or {}
    return c.mod_assign.save_grade(
        p["assignmentid"], p["userid"], p["grade"], attemptnumber=p["attemptnumber"],
        addattempt=bool(p["addattempt"]), workflowstate=p["workflowstate"],
        applytoall=bool(p["applytoall"]), feedback_text=editor.get("text"),
        feedback_format=editor.get("format", 1))


def _get_assignments(c: MoodleClient, p: dict[str, Any]) -> Any:
    flag = p.get("includenotenrolledcourses")
    return c.mod_assign.get_assignments(p.get("courseids", []), capabilities=p.get("capabilities", []),
                                        include_not_enrolled_courses=None if flag is None else bool(flag))


ADAPTERS: dict[str, Callable[[MoodleClient, dict[str, Any]], Any]] = {
    "mod_assign_get_assignments": _get_assignments,
    "mod_assign_get_submissions": lambda c, p: c.mod_assign.get_submissions(
        p["assignmentids"], status=p.get("status"), since=p.get("since"), before=p.get("before")),
    "mod_assign_get_grades": lambda c, p: c.mod_assign.get_grades(p["assignmentids"], since=p.get("since")),
    "mod_assign_save_grade": _save_grade,
    "mod_assign_get_submission_status": lambda c, p: c.mod_assign.get_submission_status(
        p["assignid"], userid=p.get("userid"), groupid=p.get("groupid")),
    "mod_assign_list_participants": lambda c, p: c.mod_assign.list_participants(
        p["assignid"], groupid=p["groupid"], filter=p["filter"]),
    "mod_assign_get_user_mappings": lambda c, p: c.mod_assign.get_user_mappings(p["assignmentids"]),
}

ASSIGN_CALLS = recorded_calls("mod_assign_")


@needs_recordings
def test_every_recorded_assign_function_has_an_adapter() -> None:
    assert ASSIGN_CALLS
    assert {call.function for call in ASSIGN_CALLS} <= set(ADAPTERS)


@needs_recordings
@pytest.mark.parametrize("call", ASSIGN_CALLS, ids=where(ASSIGN_CALLS))
def test_recorded_assign_call(call: Recorded) -> None:
    result = check_recorded(call, ADAPTERS[call.function])
    if call.is_error:
        assert isinstance(result, MoodleError)
        return
    response = call.response
    if call.function == "mod_assign_get_assignments":
        assert isinstance(result, AssignmentsResult)
        assert [a.id for a in result.assignments] == [
            a["id"] for c in response["courses"] for a in c["assignments"]]
        assert len(result.warnings) == len(response["warnings"])
    elif call.function == "mod_assign_get_submissions":
        assert isinstance(result, SubmissionsResult)
        assert [s.id for a in result.assignments for s in a.submissions] == [
            s["id"] for a in response["assignments"] for s in a["submissions"]]
        assert [w.warningcode for w in result.warnings] == [w["warningcode"] for w in response["warnings"]]
    elif call.function == "mod_assign_get_grades":
        assert isinstance(result, GradesResult)
        assert [g.grade for a in result.assignments for g in a.grades] == [
            g["grade"] for a in response["assignments"] for g in a["grades"]]
    elif call.function == "mod_assign_save_grade":
        assert result is None
    elif call.function == "mod_assign_get_submission_status":
        assert isinstance(result, SubmissionStatus)
        assert result.feedback is not None and result.feedback.grade is not None
        assert result.feedback.grade.grade == response["feedback"]["grade"]["grade"]
        assert result.feedback.comment == response["feedback"]["plugins"][0]["editorfields"][0]["text"]
        assert result.lastattempt is not None and result.lastattempt.submission is not None
        assert result.lastattempt.submission.onlinetext is not None
        assert result.gradingsummary is not None
    elif call.function == "mod_assign_list_participants":
        assert [u.id for u in result] == [u["id"] for u in response]
        assert [u.submitted for u in result] == [u["submitted"] for u in response]


@needs_recordings
def test_the_long_chinese_submission_text_survives() -> None:
    call = next(c for c in ASSIGN_CALLS if c.where == "scenarios/assign s8")
    result = check_recorded(call, ADAPTERS[call.function])
    text = result.assignments[0].submissions[0].onlinetext
    assert text is not None and len(text) > 300 and "领导干部" in text
    assert result.assignments[0].submissions[0].submitted


def test_grades_are_text_and_minus_one_is_no_grade() -> None:
    assert AssignGrade(id=1, userid=2, grade="88.00000").value == 88.0
    assert AssignGrade(id=1, userid=2, grade="-1.00000").value is None
    assert AssignGrade(id=1, userid=2, grade="").value is None


def test_get_assignments_asks_for_courses_the_bot_is_not_enrolled_in() -> None:
    client, session = stub_client((200, {"courses": [], "warnings": []}))
    client.mod_assign.get_assignments([14])
    assert session.sent[0][1] == [("courseids[0]", "14"), ("includenotenrolledcourses", "1")]


def test_get_assignments_without_courses_sends_nothing_extra() -> None:
    client, session = stub_client((200, {"courses": [], "warnings": []}))
    client.mod_assign.get_assignments()
    assert session.sent[0][1] == []


def _grades_page(ids: list[int]) -> dict[str, Any]:
    return {"assignments": [{"assignmentid": i, "grades": [
        {"id": i * 10, "userid": 5, "attemptnumber": 0, "timecreated": 1, "timemodified": 2,
         "grader": 3, "grade": "50.00000"}]} for i in ids],
        "warnings": [{"item": "assignment", "itemid": 99, "warningcode": "3", "message": "No grades found"}]}


def test_get_grades_batches_many_assignments_and_merges_in_order() -> None:
    client, session = stub_client((200, _grades_page([1, 2])), (200, _grades_page([3, 4])),
                                  (200, _grades_page([5])), batch_size=2)
    result = client.mod_assign.get_grades([1, 2, 3, 4, 5, 3], since=1000)
    assert [a.assignmentid for a in result.assignments] == [1, 2, 3, 4, 5]
    assert len(result.warnings) == 3
    assert [pairs for _fn, pairs in session.sent] == [
        [("assignmentids[0]", "1"), ("assignmentids[1]", "2"), ("since", "1000")],
        [("assignmentids[0]", "3"), ("assignmentids[1]", "4"), ("since", "1000")],
        [("assignmentids[0]", "5"), ("since", "1000")],
    ]


def test_get_submissions_of_no_assignment_makes_no_call() -> None:
    client, session = stub_client()
    assert client.mod_assign.get_submissions([]).assignments == ()
    assert session.sent == []


def test_save_grade_above_the_maximum_is_refused_before_sending() -> None:
    client, session = stub_client()
    with pytest.raises(ValueError, match="outside"):
        client.mod_assign.save_grade(8, 54, 150, max_grade=100)
    assert session.sent == []


def test_save_grade_sends_the_comment_editor() -> None:
    client, session = stub_client((200, None))
    client.mod_assign.save_grade(8, 55, 75.5, feedback_text="<p>好</p>")
    assert session.sent[0][1] == [
        ("assignmentid", "8"), ("userid", "55"), ("grade", "75.5"), ("attemptnumber", "-1"),
        ("addattempt", "0"), ("workflowstate", ""), ("applytoall", "1"),
        ("plugindata[assignfeedbackcomments_editor][text]", "<p>好</p>"),
        ("plugindata[assignfeedbackcomments_editor][format]", "1")]


def test_iter_participants_pages_with_skip_and_limit() -> None:
    def people(ids: list[int]) -> list[dict[str, Any]]:
        return [{"id": i, "fullname": f"u{i}", "submitted": False, "requiregrading": False,
                 "grantedextension": False, "recordid": -1} for i in ids]
    client, session = stub_client((200, people([1, 2])), (200, people([3])))
    assert [p.id for p in client.mod_assign.iter_participants(8, page_size=2)] == [1, 2, 3]
    assert [dict(pairs)["skip"] for _fn, pairs in session.sent] == ["0", "2"]
