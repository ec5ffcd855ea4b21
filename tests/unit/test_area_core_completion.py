"""core_completion against every recorded answer (5.1 and 4.5 scenarios, 5.1 single calls)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from moodle_bridge import InvalidTokenError, MoodleClient, NotFoundError
from moodle_bridge.areas.core_completion import (
    ActivitiesCompletion,
    ActivityCompletionOverride,
    CourseCompletionStatus,
    StatusResult,
)
from tests.recordings import (
    CONTRACT,
    ENDPOINT,
    Recorded,
    check_recorded,
    endpoint_client,
    posted,
    recorded_calls,
    where,
)

FUNCTIONS = {
    "core_completion_get_course_completion_status",
    "core_completion_get_activities_completion_status",
    "core_completion_update_activity_completion_status_manually",
    "core_completion_override_activity_completion_status",
    "core_completion_mark_course_self_completed",
}
CASES = recorded_calls(FUNCTIONS)


def invoke(client: MoodleClient, function: str, params: dict[str, Any]) -> Any:
    """Calls the area method for ``function``; params the method cannot express go through ``call``."""
    area = client.core_completion
    try:
        if function == "core_completion_get_course_completion_status":
            return area.get_course_completion_status(int(params["courseid"]), int(params["userid"]))
        if function == "core_completion_get_activities_completion_status":
            return area.get_activities_completion_status(int(params["courseid"]), int(params["userid"]))
        if function == "core_completion_update_activity_completion_status_manually":
            return area.update_activity_completion_status_manually(int(params["cmid"]),
                                                                   bool(int(params["completed"])))
        if function == "core_completion_override_activity_completion_status":
            return area.override_activity_completion_status(int(params["userid"]), int(params["cmid"]),
                                                            int(params["newstate"]))
        if function == "core_completion_mark_course_self_completed":
            return area.mark_course_self_completed(int(params["courseid"]))
    except (KeyError, ValueError):  # a missing or mistyped parameter: send exactly what was sent
        return client.call(function, params, write=False)
    raise AssertionError(function)


EXPECTED_TYPES = {
    "core_completion_get_course_completion_status": CourseCompletionStatus,
    "core_completion_get_activities_completion_status": ActivitiesCompletion,
    "core_completion_update_activity_completion_status_manually": StatusResult,
    "core_completion_override_activity_completion_status": ActivityCompletionOverride,
    "core_completion_mark_course_self_completed": StatusResult,
}


@pytest.mark.parametrize("case", CASES, ids=where(CASES))
def test_recorded_answer(case: Recorded) -> None:
    def verify(result: Any, answer: Any) -> None:
        assert isinstance(result, EXPECTED_TYPES[case.function])
        _check(case.function, result, answer)

    check_recorded(case, lambda client, params: invoke(client, case.function, params), verify=verify)


def _check(function: str, result: Any, answer: dict[str, Any]) -> None:
    if isinstance(result, CourseCompletionStatus):
        status = answer["completionstatus"]
        assert result.completed is status["completed"]
        assert [c.complete for c in result.completions] == [c["complete"] for c in status["completions"]]
        assert [c.timecompleted for c in result.completions] == [c["timecompleted"]
                                                                 for c in status["completions"]]
        assert result.completions[0].details.requirement == status["completions"][0]["details"]["requirement"]
    elif isinstance(result, ActivitiesCompletion):
        assert [(s.cmid, s.state, s.timecompleted, s.overrideby) for s in result.statuses] == [
            (s["cmid"], s["state"], s["timecompleted"], s["overrideby"]) for s in answer["statuses"]]
        assert [s.complete for s in result.statuses] == [s["state"] in (1, 2) for s in answer["statuses"]]
    elif isinstance(result, ActivityCompletionOverride):
        assert (result.cmid, result.userid, result.state, result.overrideby) == (
            answer["cmid"], answer["userid"], answer["state"], answer["overrideby"])
    elif isinstance(result, StatusResult):
        assert result.status is answer["status"]
        assert result.warnings == ()


def test_the_recordings_are_there() -> None:
    if not CONTRACT.is_dir():
        pytest.skip("tests/contract/recordings is absent")
    assert len(CASES) > 40


STATUS_DONE: dict[str, Any] = {"completionstatus": {"completed": True, "aggregation": 1, "completions": [
    {"type": 4, "title": "Activity completion", "status": "Yes", "complete": True,
     "timecompleted": 1795811512, "details": {"type": "Activity completion", "criteria": "<a>x</a>",
                                              "requirement": "r", "status": ""}}]},
    "warnings": []}
NOT_ENROLLED = {"exception": "core\\exception\\moodle_exception", "errorcode": "usernotenroled",
                "message": "User is not enrolled in this course"}
MISSING = {"exception": "dml_missing_record_exception", "errorcode": "invalidrecordunknown",
           "message": "Can't find data record in database."}


def _by_user(request: Any) -> tuple[int, dict[str, str], str]:
    userid = int(posted(request)["userid"])
    body = {1: STATUS_DONE, 2: NOT_ENROLLED, 3: MISSING}.get(userid, {
        **STATUS_DONE, "completionstatus": {**STATUS_DONE["completionstatus"], "completed": False}})
    return 200, {}, json.dumps(body)


def test_fan_out_keeps_per_user_errors_without_failing_the_batch() -> None:
    client = endpoint_client()
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, ENDPOINT, callback=_by_user)
        result = client.core_completion.course_completion_statuses(7, [1, 2, 3, 4, 1])
        assert len(mock.calls) == 4  # the repeated user is read once
    assert set(result.statuses) == {1, 4} and result.completed() == {1}
    assert result.errors_with("usernotenroled") == {2}
    assert isinstance(result.errors[3], NotFoundError)
    assert result.statuses[1].timecompleted == 1795811512


def test_fan_out_fails_whole_on_a_bad_token() -> None:
    client = endpoint_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json={"exception": "core\\exception\\moodle_exception",
                                  "errorcode": "invalidtoken", "message": "Invalid token - token not found"})
        with pytest.raises(InvalidTokenError):
            client.core_completion.course_completion_statuses(7, [1, 2, 3])
