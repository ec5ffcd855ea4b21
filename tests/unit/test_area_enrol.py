"""enrol_manual, core_enrol and core_role clients against every recorded answer of their functions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import errors
from moodle_bridge.areas.core_enrol import EnrolledUser, UserCourse
from moodle_bridge.areas.core_role import RoleAssignment
from moodle_bridge.areas.enrol_manual import Enrolment, Unenrolment
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

FUNCTIONS = {"enrol_manual_enrol_users", "enrol_manual_unenrol_users", "core_enrol_get_enrolled_users",
             "core_enrol_get_users_courses", "core_enrol_get_course_enrolment_methods",
             "core_enrol_get_enrolled_users_with_capability", "core_role_assign_roles"}
CALLS = recorded_calls(FUNCTIONS)


def _enrolled_options(params: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for option in params.get("options") or []:
        name, value = str(option["name"]), option["value"]
        if name == "userfields":
            options[name] = str(value).split(",")
        elif name in ("onlyactive", "onlysuspended"):
            options[name] = bool(int(value))
        else:
            options[name] = value
    return options


def invoke(function: str) -> tuple[Invoke, Callable[[dict[str, Any]], bool]]:
    table: dict[str, tuple[Invoke, Callable[[dict[str, Any]], bool]]] = {
        "enrol_manual_enrol_users": (
            lambda c, p: c.enrol_manual.enrol_users(
                [Enrolment(**e) for e in p["enrolments"]] if all("roleid" in e for e in p["enrolments"])
                else [Enrolment(userid=e["userid"], courseid=e["courseid"]) for e in p["enrolments"]]),
            lambda p: all("roleid" in e for e in p["enrolments"])),
        "enrol_manual_unenrol_users": (
            lambda c, p: c.enrol_manual.unenrol_users([Unenrolment(**e) for e in p["enrolments"]]),
            lambda p: True),
        "core_enrol_get_enrolled_users": (
            lambda c, p: c.core_enrol.get_enrolled_users(p.get("courseid", 0), **_enrolled_options(p)),
            lambda p: "courseid" in p),
        "core_enrol_get_users_courses": (
            lambda c, p: c.core_enrol.get_users_courses(
                p["userid"], returnusercount=bool(p["returnusercount"]) if "returnusercount" in p else None),
            lambda p: True),
        "core_enrol_get_course_enrolment_methods": (
            lambda c, p: c.core_enrol.get_course_enrolment_methods(p["courseid"]), lambda p: True),
        "core_enrol_get_enrolled_users_with_capability": (
            lambda c, p: c.core_enrol.get_enrolled_users_with_capability(
                {i["courseid"]: i["capabilities"] for i in p["coursecapabilities"]}), lambda p: True),
        "core_role_assign_roles": (
            lambda c, p: c.core_role.assign_roles([RoleAssignment(**a) for a in p["assignments"]]),
            lambda p: True),
    }
    return table[function]


def _verify(result: Any, response: Any) -> None:
    if response is None:
        assert result is None
    elif isinstance(response, list):
        assert len(result) == len(response)
        assert [item.id for item in result] == [raw["id"] for raw in response]


@needs_recordings
@pytest.mark.parametrize("recorded", CALLS, ids=where(CALLS))
def test_recorded_call(recorded: Recorded) -> None:
    call, expressible = invoke(recorded.function)
    check_recorded(recorded, call, exact=expressible(recorded.params), as_php=True, verify=_verify)


@needs_recordings
def test_the_recordings_cover_enrolment() -> None:
    seen = {call.function for call in CALLS}
    assert FUNCTIONS - {"core_enrol_get_enrolled_users_with_capability"} <= seen


@needs_recordings
def test_cannot_assign_before_the_role_is_allowed() -> None:
    recorded = find(CALLS, "scenarios/enrolment s3")
    client, _ = stub_client(answer_of(recorded))
    with pytest.raises(errors.AccessDeniedError) as caught:
        client.enrol_manual.enrol_users([Enrolment(userid=28, courseid=7)])
    assert caught.value.errorcode == "wsusercannotassign"


@needs_recordings
def test_unknown_user_on_45_is_an_error_without_code() -> None:
    recorded = find(CALLS, "scenarios-4.5/enrolment s10")
    client, _ = stub_client(answer_of(recorded))
    with pytest.raises(errors.MoodleError) as caught:
        client.enrol_manual.enrol_users([Enrolment(userid=999999, courseid=7)])
    assert caught.value.errorcode is None and caught.value.exception == "TypeError"


@needs_recordings
def test_enrolled_users_roles_and_courses() -> None:
    recorded = find(CALLS, "scenarios/enrolment s14")
    client, _ = stub_client(answer_of(recorded))
    users = client.core_enrol.get_enrolled_users(7)
    assert all(isinstance(u, EnrolledUser) for u in users)
    first, second = users[0], users[1]
    assert first.role_shortnames == {"editingteacher", "student"}
    assert [c.shortname for c in first.enrolledcourses] == ["lab2-enro-C1"]
    assert second.enrolledcourses == ()  # enrolment starts in the future: not active yet
    assert first.idnumber == "lab2-enro-EMP0001" and first.department


@needs_recordings
def test_users_courses_progress_null() -> None:
    recorded = find(CALLS, "scenarios/enrolment s20")
    client, _ = stub_client(answer_of(recorded))
    courses = client.core_enrol.get_users_courses(28, returnusercount=True)
    assert isinstance(courses[0], UserCourse)
    assert courses[0].enrolledusercount == 4 and courses[0].progress is None and courses[0].completed is False


@needs_recordings
def test_least_privilege_answer_lacks_identity_fields() -> None:
    recorded = find(CALLS, "single-calls-5.1/core_enrol_get_enrolled_users__success_paged_3")
    client, _ = stub_client(answer_of(recorded))
    users = client.core_enrol.get_enrolled_users(2, limitfrom=0, limitnumber=3)
    assert users[0].username is None and users[0].city == "Astana"


# --- without recordings -----------------------------------------------------------------------------------

def _user(userid: int) -> dict[str, Any]:
    return {"id": userid, "fullname": f"U {userid}", "username": f"u{userid}"}


def test_iter_enrolled_users_pages_until_a_short_page() -> None:
    client, s = stub_client([_user(1), _user(2)], [_user(3), _user(4)], [_user(5)], repeat_last=True)
    users = list(client.core_enrol.iter_enrolled_users(9, page_size=2, userfields=["id", "username"]))
    assert [u.id for u in users] == [1, 2, 3, 4, 5]
    forms = [p.fields for p in s.sent]
    assert [f["options[0][value]"] for f in forms] == ["0", "2", "4"]  # limitfrom
    assert forms[0]["options[1][name]"] == "limitnumber" and forms[0]["options[1][value]"] == "2"
    assert forms[0]["options[3][name]"] == "sortby" and forms[0]["options[3][value]"] == "id"


def test_iter_enrolled_users_full_last_page_asks_once_more() -> None:
    client, s = stub_client([_user(1), _user(2)], [_user(2)], [], repeat_last=True)
    users = list(client.core_enrol.iter_enrolled_users(9, page_size=2))
    assert [u.id for u in users] == [1, 2]  # the repeated user 2 (list changed) is not yielded twice
    assert len(s.sent) == 2


def test_enrol_users_in_batches() -> None:
    enrolments = [Enrolment(userid=u, courseid=3, suspend=u == 2) for u in range(1, 6)]
    client, s = stub_client(None, batch_size=2, repeat_last=True)
    client.enrol_manual.enrol_users(enrolments)
    assert len(s.sent) == 3
    assert s.sent[0].fields["enrolments[1][suspend]"] == "1"
    assert "enrolments[0][suspend]" in s.sent[0].fields  # False is sent as 0, not left out
    assert s.sent[2].fields["enrolments[0][userid]"] == "5"


def test_enrol_users_parallel_uses_the_pool() -> None:
    seen: set[str] = set()
    enrolments = [Enrolment(userid=u, courseid=3) for u in range(1, 9)]
    client, s = stub_client(None, batch_size=2, max_workers=4, repeat_last=True)
    original = client.transport.post

    def post(wsfunction: str, pairs: Any) -> Any:
        seen.add(threading.current_thread().name)
        return original(wsfunction, pairs)

    client.transport.post = post  # type: ignore[method-assign]
    client.enrol_manual.enrol_users(enrolments, parallel=True)
    assert len(s.sent) == 4
    assert any(name.startswith("moodle") for name in seen)


def test_enrol_users_parallel_raises_after_all_batches() -> None:
    error = {"exception": "core\\exception\\moodle_exception", "errorcode": "wsusercannotassign",
             "message": "no"}
    client, s = stub_client(None, error, None, batch_size=1, max_workers=4)
    with pytest.raises(errors.AccessDeniedError):
        client.enrol_manual.enrol_users([Enrolment(userid=u, courseid=3) for u in (1, 2, 3)], parallel=True)
    assert len(s.sent) == 3


def test_role_assignment_needs_a_context() -> None:
    with pytest.raises(ValueError):
        RoleAssignment(roleid=5, userid=3, contextlevel="course")
    assert RoleAssignment(roleid=5, userid=3, contextid=12).as_params() == {
        "roleid": 5, "userid": 3, "contextid": 12}


def test_enrolment_methods_availability() -> None:
    answer = [{"id": 3, "courseid": 2, "type": "self", "name": "Self enrolment", "status": True,
               "wsfunction": "enrol_self_get_instance_info"},
              {"id": 4, "courseid": 2, "type": "guest", "name": "Guest", "status": "Enrolment is disabled"}]
    client, _ = stub_client(answer, repeat_last=True)
    methods = client.core_enrol.get_course_enrolment_methods(2)
    assert [m.available for m in methods] == [True, False]


def test_users_with_capability_groups_by_course() -> None:
    answer = [{"courseid": 2, "capability": "mod/assign:grade", "users": [_user(7)]}]
    client, s = stub_client(answer, repeat_last=True)
    result = client.core_enrol.get_enrolled_users_with_capability({2: ["mod/assign:grade"]},
                                                                  onlyactive=True)
    assert result[0].users[0].id == 7
    form = s.sent[0].fields
    assert form["coursecapabilities[0][capabilities][0]"] == "mod/assign:grade"
    assert form["options[0][name]"] == "onlyactive" and form["options[0][value]"] == "1"
