"""core_completion against every recorded answer (5.1 and 4.5 scenarios, 5.1 single calls)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from moodle_bridge import InvalidTokenError, MoodleClient, MoodleError, NotFoundError
from moodle_bridge.areas.core_completion import (
    ActivitiesCompletion,
    ActivityCompletionOverride,
    CourseCompletionStatus,
    StatusResult,
)
from moodle_bridge.errors import ERRORCODE_CLASSES

URL = "http://moodle.test"
ENDPOINT = URL + "/webservice/rest/server.php"
CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "moodle-contract"
FUNCTIONS = {
    "core_completion_get_course_completion_status",
    "core_completion_get_activities_completion_status",
    "core_completion_update_activity_completion_status_manually",
    "core_completion_override_activity_completion_status",
    "core_completion_mark_course_self_completed",
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


@pytest.mark.parametrize(("function", "params", "form", "answer"), recorded_calls(FUNCTIONS))
def test_recorded_answer(function: str, params: dict[str, Any], form: list[tuple[str, str]] | None,
                         answer: Any) -> None:
    client = make_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=answer)
        if isinstance(answer, dict) and "exception" in answer:
            with pytest.raises(MoodleError) as caught:
                invoke(client, function, params)
            assert type(caught.value) is ERRORCODE_CLASSES.get(answer.get("errorcode") or "", MoodleError)
            assert caught.value.errorcode == answer.get("errorcode")
            assert caught.value.wsfunction == function
        else:
            result = invoke(client, function, params)
            assert isinstance(result, EXPECTED_TYPES[function])
            _check(function, result, answer)
        if form is not None:
            assert sent_form(mock.calls[0]) == form


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
        pytest.skip("../shared/moodle-contract is not beside the checkout")
    assert len(recorded_calls(FUNCTIONS)) > 40


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
    userid = int(dict(parse_qsl(request.body))["userid"])
    body = {1: STATUS_DONE, 2: NOT_ENROLLED, 3: MISSING}.get(userid, {
        **STATUS_DONE, "completionstatus": {**STATUS_DONE["completionstatus"], "completed": False}})
    return 200, {}, json.dumps(body)


def test_fan_out_keeps_per_user_errors_without_failing_the_batch() -> None:
    client = make_client()
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, ENDPOINT, callback=_by_user)
        result = client.core_completion.course_completion_statuses(7, [1, 2, 3, 4, 1])
        assert len(mock.calls) == 4  # the repeated user is read once
    assert set(result.statuses) == {1, 4} and result.completed() == {1}
    assert result.errors_with("usernotenroled") == {2}
    assert isinstance(result.errors[3], NotFoundError)
    assert result.statuses[1].timecompleted == 1795811512


def test_fan_out_fails_whole_on_a_bad_token() -> None:
    client = make_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json={"exception": "core\\exception\\moodle_exception",
                                  "errorcode": "invalidtoken", "message": "Invalid token - token not found"})
        with pytest.raises(InvalidTokenError):
            client.core_completion.course_completion_statuses(7, [1, 2, 3])
