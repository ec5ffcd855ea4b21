"""enrol_manual: enrolling users in courses and unenrolling them, through the manual enrolment method.

Moodle's behaviour (tests/contract/recordings/FINDINGS.md):

- each call is all or nothing: the first bad enrolment fails the call and nothing of it is kept;
- enrolling again with the same role changes nothing; with another role, the role is *added*;
  an enrolment sent again without ``timestart``/``timeend``/``suspend`` resets them (0, active);
- even a role with every capability gets ``wsusercannotassign`` until an admin allows it to assign the
  role (Define roles > Allow role assignments);
- re-activating a suspended enrolment can answer an error (the welcome mail could not be sent) although
  the change was committed: re-read before retrying;
- on Moodle 4.5 an unknown user id answers a PHP error without ``errorcode``: check ids first;
- unenrolling someone who is not enrolled is not an error.

Moodle's own work per enrolment dominates the cost (60-90 ms each on the recording site), so batches can
be sent in parallel (``parallel=True``) to use the site's PHP workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._base import Area, record_params

STUDENT_ROLEID = 5


@dataclass(frozen=True)
class Enrolment:
    """One user to enrol in one course with one role (5 is student on a stock site)."""

    userid: int
    courseid: int
    roleid: int = STUDENT_ROLEID
    timestart: int | None = None
    timeend: int | None = None
    suspend: bool | None = None

    def as_params(self) -> dict[str, Any]:
        return record_params(self, first=("roleid", "userid", "courseid"))


@dataclass(frozen=True)
class Unenrolment:
    """One user to unenrol from one course's manual enrolment."""

    userid: int
    courseid: int
    roleid: int | None = None

    def as_params(self) -> dict[str, Any]:
        return record_params(self)


class EnrolManual(Area):
    """enrol_manual_* functions."""

    def enrol_users(self, enrolments: Sequence[Enrolment], *, parallel: bool = False) -> None:
        """Calls enrol_manual_enrol_users (write).

        Sent in chunks of ``batch_size``; each chunk is all or nothing. With ``parallel=True`` the
        chunks go concurrently on the client's bounded pool; the first error is raised after every
        chunk has finished. Chunks that succeeded stay committed when another fails: re-read the
        enrolments before retrying (writes are never repeated by the client).
        """
        fn = "enrol_manual_enrol_users"
        self._batched(fn, enrolments, lambda chunk: {"enrolments": [e.as_params() for e in chunk]},
                      write=True, parallel=parallel)

    def unenrol_users(self, enrolments: Sequence[Unenrolment], *, parallel: bool = False) -> None:
        """Calls enrol_manual_unenrol_users (write).

        Sent in chunks of ``batch_size`` (concurrently with ``parallel=True``); each chunk is all or
        nothing. The user's roles and group memberships in the course go with their last enrolment.
        """
        fn = "enrol_manual_unenrol_users"
        self._batched(fn, enrolments, lambda chunk: {"enrolments": [e.as_params() for e in chunk]},
                      write=True, parallel=parallel)
