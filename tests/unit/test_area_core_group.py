"""core_group client against every recorded answer of its functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import errors
from moodle_bridge.areas.core_group import Group, GroupMember, GroupMembers, NewGroup

from .test_area_core_course import (
    NEEDS_RECORDINGS,
    Invoke,
    Recorded,
    check_recorded,
    ids,
    recorded_calls,
    stub_answer,
    stub_client,
)

FUNCTIONS = {"core_group_create_groups", "core_group_add_group_members", "core_group_get_group_members",
             "core_group_get_course_groups"}
CALLS = recorded_calls(FUNCTIONS)


def invoke(function: str) -> tuple[Invoke, Callable[[dict[str, Any]], bool]]:
    table: dict[str, tuple[Invoke, Callable[[dict[str, Any]], bool]]] = {
        "core_group_create_groups": (
            lambda c, p: c.core_group.create_groups([NewGroup(**g) for g in p["groups"]]),
            lambda p: all("description" in g for g in p["groups"])),
        "core_group_add_group_members": (
            lambda c, p: c.core_group.add_group_members([GroupMember(**m) for m in p["members"]]),
            lambda p: True),
        "core_group_get_group_members": (
            lambda c, p: c.core_group.get_group_members(p["groupids"]), lambda p: True),
        "core_group_get_course_groups": (
            lambda c, p: c.core_group.get_course_groups(p["courseid"]), lambda p: True),
    }
    return table[function]


def _verify(result: Any, response: Any) -> None:
    if response is None:
        assert result is None
        return
    assert len(result) == len(response)
    for item, raw in zip(result, response, strict=True):
        if isinstance(item, GroupMembers):
            assert item.groupid == raw["groupid"] and list(item.userids) == raw["userids"]
        else:
            assert isinstance(item, Group) and item.id == raw["id"] and item.idnumber == raw["idnumber"]


@NEEDS_RECORDINGS
@pytest.mark.parametrize("recorded", CALLS, ids=ids(CALLS))
def test_recorded_call(recorded: Recorded) -> None:
    call, expressible = invoke(recorded.function)
    check_recorded(recorded, call, expressible(recorded.params), _verify)


@NEEDS_RECORDINGS
def test_the_recordings_cover_groups() -> None:
    assert {call.function for call in CALLS} == FUNCTIONS


def _one(where: str) -> Recorded:
    for call in CALLS:
        if call.where == where:
            return call
    pytest.skip(f"recording {where} is absent")


@NEEDS_RECORDINGS
def test_duplicate_group_idnumber() -> None:
    recorded = _one("scenarios/groups s7")
    with stub_client(recorded) as (client, _), pytest.raises(errors.DuplicateError) as caught:
        client.core_group.create_groups([NewGroup(courseid=17, name="第三小组", idnumber="lab4-grou-G1")])
    assert caught.value.errorcode == "idnumbertaken"


@NEEDS_RECORDINGS
def test_enrolment_key_empty_on_create_null_on_read() -> None:
    created = _one("scenarios/groups s4")
    with stub_client(created) as (client, _):
        groups = client.core_group.create_groups([NewGroup(courseid=17, name="G")])
    assert groups[0].enrolmentkey == "" and groups[0].participation is True
    listed = _one("scenarios/groups s13")
    with stub_client(listed) as (client, _):
        groups = client.core_group.get_course_groups(17)
    assert groups[0].enrolmentkey is None


def test_members_sent_in_batches() -> None:
    members = [GroupMember(groupid=3, userid=u) for u in range(1, 6)]
    with stub_answer(None, batch_size=2) as (client, s):
        client.core_group.add_group_members(members)
    assert len(s.sent) == 3
    assert dict(s.sent[1])["members[0][userid]"] == "3"


def test_new_group_always_sends_a_description() -> None:
    assert NewGroup(courseid=2, name="A").as_params() == {"courseid": 2, "name": "A", "description": ""}
    with stub_answer([{"groupid": 3, "userids": [5, 4]}], batch_size=10) as (client, s):
        result = client.core_group.get_group_members([3])
    assert result == [GroupMembers(groupid=3, userids=(5, 4))]
    assert dict(s.sent[0])["groupids[0]"] == "3"
