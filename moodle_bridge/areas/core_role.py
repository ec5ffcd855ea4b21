"""core_role: assigning roles in a context (a course, a category, the system).

A role assigned in a course context does not enrol the user (Moodle accepts it for someone who is not
enrolled, who then appears nowhere); enrol through ``enrol_manual`` to give both. The token's role must be
allowed to assign the role (Define roles > Allow role assignments), else ``invalidparameter``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._base import Area, record_params


@dataclass(frozen=True)
class RoleAssignment:
    """A role for a user in a context given by ``contextid`` or by ``contextlevel`` (system, user,
    coursecat, course, module, block) and ``instanceid``."""

    roleid: int
    userid: int
    contextid: int | None = None
    contextlevel: str | None = None
    instanceid: int | None = None

    def __post_init__(self) -> None:
        if self.contextid is None and (self.contextlevel is None or self.instanceid is None):
            raise ValueError("a role assignment needs contextid, or contextlevel and instanceid")

    def as_params(self) -> dict[str, Any]:
        return record_params(self)


class CoreRole(Area):
    """core_role_* functions."""

    def assign_roles(self, assignments: Sequence[RoleAssignment]) -> None:
        """Calls core_role_assign_roles (write).

        Sent in chunks of ``batch_size``; each chunk is all or nothing; assigning a role the user
        already holds changes nothing.
        """
        fn = "core_role_assign_roles"
        self._batched(fn, assignments, lambda chunk: {"assignments": [a.as_params() for a in chunk]},
                      write=True)
