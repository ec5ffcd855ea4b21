"""core_group: course groups and their members.

A group name must be unique in its course and an idnumber too (``idnumbertaken``); only users enrolled in
the course can join a group (``invalidparameter`` otherwise); adding someone already in the group is not
an error. ``enrolmentkey`` comes back as ``""`` from ``create_groups`` and as null from
``get_course_groups`` when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..results import parse_list
from ._base import Area, name_values, record_params


@dataclass(frozen=True)
class NewGroup:
    """A group to create; Moodle requires a description (empty is fine)."""

    courseid: int
    name: str
    description: str = ""
    descriptionformat: int | None = None
    idnumber: str | None = None
    enrolmentkey: str | None = None
    visibility: int | None = None
    participation: bool | None = None
    customfields: Mapping[str, str | int | float] | None = field(default=None,
                                                                 metadata=name_values("shortname"))

    def as_params(self) -> dict[str, Any]:
        return record_params(self)


@dataclass(frozen=True)
class GroupMember:
    groupid: int
    userid: int


@dataclass(frozen=True)
class Group:
    id: int
    courseid: int
    name: str
    description: str = ""
    descriptionformat: int = 1
    idnumber: str = ""
    enrolmentkey: str | None = None
    visibility: int = 0
    participation: bool = True


@dataclass(frozen=True)
class GroupMembers:
    groupid: int
    userids: tuple[int, ...] = ()


class CoreGroup(Area):
    """core_group_* functions."""

    def create_groups(self, groups: Sequence[NewGroup]) -> list[Group]:
        """Calls core_group_create_groups (write).

        Sent in chunks of ``batch_size``; each chunk is all or nothing (a duplicate name is
        ``invalidparameter``, a duplicate idnumber ``idnumbertaken``); earlier chunks stay created.
        """
        fn = "core_group_create_groups"
        return self._batched(fn, groups, lambda chunk: {"groups": [g.as_params() for g in chunk]},
                             lambda data: parse_list(Group, data, fn), write=True)

    def add_group_members(self, members: Sequence[GroupMember]) -> None:
        """Calls core_group_add_group_members (write). Chunks of ``batch_size``, each all or nothing."""
        fn = "core_group_add_group_members"
        self._batched(fn, members, lambda chunk: {"members": [record_params(m) for m in chunk]}, write=True)

    def get_group_members(self, groupids: Sequence[int]) -> list[GroupMembers]:
        """Calls core_group_get_group_members (read). Members come sorted by last name, first name."""
        fn = "core_group_get_group_members"
        return self._batched(fn, groupids, lambda chunk: {"groupids": chunk},
                             lambda data: parse_list(GroupMembers, data, fn), write=False)

    def get_course_groups(self, courseid: int) -> list[Group]:
        """Calls core_group_get_course_groups (read). Groups come sorted by name."""
        fn = "core_group_get_course_groups"
        return parse_list(Group, self._read(fn, {"courseid": courseid}), fn)
