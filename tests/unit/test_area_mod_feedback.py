"""mod_feedback client: every recorded call parses (or raises the right error) and is sent as recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_feedback import AnalysedItem, FeedbackItem
from tests.recordings import Recorded, check_recorded, needs_recordings, recorded_calls, stub_client, where

ADAPTERS: dict[str, Callable[[MoodleClient, dict[str, Any]], Any]] = {
    "mod_feedback_get_feedbacks_by_courses": lambda c, p: c.mod_feedback.get_feedbacks_by_courses(
        p.get("courseids", [])),
    "mod_feedback_get_items": lambda c, p: c.mod_feedback.get_items(
        p["feedbackid"], courseid=p.get("courseid")),
    "mod_feedback_get_responses_analysis": lambda c, p: c.mod_feedback.get_responses_analysis(
        p["feedbackid"], groupid=p.get("groupid"), page=p.get("page"), perpage=p.get("perpage"),
        courseid=p.get("courseid")),
    "mod_feedback_get_analysis": lambda c, p: c.mod_feedback.get_analysis(
        p["feedbackid"], groupid=p.get("groupid"), courseid=p.get("courseid")),
    "mod_feedback_get_non_respondents": lambda c, p: c.mod_feedback.get_non_respondents(
        p["feedbackid"], groupid=p.get("groupid"), sort=p.get("sort"), page=p.get("page"),
        perpage=p.get("perpage"), courseid=p.get("courseid")),
}

FEEDBACK_CALLS = recorded_calls("mod_feedback_")


@needs_recordings
def test_every_recorded_feedback_function_has_an_adapter() -> None:
    assert FEEDBACK_CALLS
    assert {call.function for call in FEEDBACK_CALLS} <= set(ADAPTERS)


@needs_recordings
@pytest.mark.parametrize("call", FEEDBACK_CALLS, ids=where(FEEDBACK_CALLS))
def test_recorded_feedback_call(call: Recorded) -> None:
    result = check_recorded(call, ADAPTERS[call.function])
    if call.is_error:
        return
    response = call.response
    if call.function == "mod_feedback_get_feedbacks_by_courses":
        wanted = [f["coursemodule"] for f in response["feedbacks"]]
        assert [f.coursemodule for f in result.feedbacks] == wanted
        assert not result.feedbacks[0].is_anonymous
    elif call.function == "mod_feedback_get_items":
        assert [i.typ for i in result.items] == [i["typ"] for i in response["items"]]
        assert result.items[0].choices == ["非常满意", "满意", "一般", "不满意"]
        assert result.items[0].nameformat == 1  # 4.5 lacks it: the default
    elif call.function == "mod_feedback_get_responses_analysis":
        attempt = result.attempts[0]
        raw = [r["rawval"] for r in response["attempts"][0]["responses"]]
        assert [r.rawval for r in attempt.responses] == raw
        assert result.totalattempts == response["totalattempts"]
    elif call.function == "mod_feedback_get_analysis":
        choices = result.itemsdata[0].choices
        assert [c.answercount for c in choices] == [1, 0, 0, 0]
        assert choices[0].answertext == "非常满意" and choices[0].quotient == 1.0
        assert result.itemsdata[1].choices == []
        assert result.itemsdata[1].data == tuple(response["itemsdata"][1]["data"])
    elif call.function == "mod_feedback_get_non_respondents":
        assert [u.userid for u in result.users] == [u["userid"] for u in response["users"]]
        assert result.total == response["total"]


def test_choices_of_other_question_kinds() -> None:
    item = FeedbackItem(id=1, feedback=1, name="n", typ="textarea", presentation="30|5")
    assert item.choices == []
    rated = FeedbackItem(id=2, feedback=1, name="n", typ="multichoicerated",
                         presentation="r>>>>>0####Bad|5####Good")
    assert rated.choices == ["Bad", "Good"]
    assert AnalysedItem(item=item, data=("not json",)).choices == []


def test_iter_non_respondents_stops_at_the_total() -> None:
    def page(ids: list[int], total: int) -> dict[str, Any]:
        return {"users": [{"courseid": 0, "userid": i, "fullname": f"u{i}", "started": False} for i in ids],
                "total": total, "warnings": []}
    client, session = stub_client((200, page([1, 2], 4)), (200, page([3, 4], 4)))
    assert [u.userid for u in client.mod_feedback.iter_non_respondents(1, perpage=2)] == [1, 2, 3, 4]
    assert [dict(pairs)["page"] for _fn, pairs in session.sent] == ["0", "1"]


def test_iter_responses_pages() -> None:
    def page(ids: list[int]) -> dict[str, Any]:
        return {"attempts": [{"id": i, "courseid": 0, "userid": i, "fullname": "x", "timemodified": 1,
                              "responses": []} for i in ids], "totalattempts": 3, "anonattempts": [],
                "totalanonattempts": 0, "warnings": []}
    client, _ = stub_client((200, page([1, 2])), (200, page([3])))
    assert [a.id for a in client.mod_feedback.iter_responses(1, perpage=2)] == [1, 2, 3]
