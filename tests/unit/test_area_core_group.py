"""core_group client against every recorded answer of its functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import errors
from moodle_bridge.areas.core_group import Group, GroupMember, GroupMembers, NewGroup
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


@needs_recordings
@pytest.mark.parametrize("recorded", CALLS, ids=where(CALLS))
def test_recorded_call(recorded: Recorded) -> None:
    call, expressible = invoke(recorded.function)
    check_recorded(recorded, call, exact=expressible(recorded.params), as_php=True, verify=_verify)


@needs_recordings
def test_the_recordings_cover_groups() -> None:
    assert {call.function for call in CALLS} == FUNCTIONS


@needs_recordings
def test_duplicate_group_idnumber() -> None:
    recorded = find(CALLS, "scenarios/groups s7")
    client, _ = stub_client(answer_of(recorded))
    with pytest.raises(errors.DuplicateError) as caught:
        client.core_group.create_groups([NewGroup(courseid=17, name="第三小组", idnumber="lab4-grou-G1")])
    assert caught.value.errorcode == "idnumbertaken"


@needs_recordings
def test_enrolment_key_empty_on_create_null_on_read() -> None:
    created = find(CALLS, "scenarios/groups s4")
    client, _ = stub_client(answer_of(created))
    groups = client.core_group.create_groups([NewGroup(courseid=17, name="G")])
    assert groups[0].enrolmentkey == "" and groups[0].participation is True
    listed = find(CALLS, "scenarios/groups s13")
    client, _ = stub_client(answer_of(listed))
    groups = client.core_group.get_course_groups(17)
    assert groups[0].enrolmentkey is None


def test_members_sent_in_batches() -> None:
    members = [GroupMember(groupid=3, userid=u) for u in range(1, 6)]
    client, s = stub_client(None, batch_size=2, repeat_last=True)
    client.core_group.add_group_members(members)
    assert len(s.sent) == 3
    assert s.sent[1].fields["members[0][userid]"] == "3"


def test_new_group_always_sends_a_description() -> None:
    assert NewGroup(courseid=2, name="A").as_params() == {"courseid": 2, "name": "A", "description": ""}
    client, s = stub_client([{"groupid": 3, "userids": [5, 4]}], batch_size=10, repeat_last=True)
    result = client.core_group.get_group_members([3])
    assert result == [GroupMembers(groupid=3, userids=(5, 4))]
    assert s.sent[0].fields["groupids[0]"] == "3"
