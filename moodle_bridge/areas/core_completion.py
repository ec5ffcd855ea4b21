"""core_completion: course and activity completion of learners.

What the recordings taught (FINDINGS.md): ``get_course_completion_status`` fails with ``nocriteriaset``
until the course has completion criteria, and with ``usernotenroled`` for someone not (or no longer)
enrolled as a student; completing the criterion activity aggregates course completion at once, but
completions made before the criteria existed wait for cron (possibly two runs); taking an activity back to
incomplete does not undo a course completion; ``update_activity_completion_status_manually`` always acts
on the caller — use ``override_activity_completion_status`` to set a learner's state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import FunctionNotInServiceError, InvalidTokenError, MoodleError
from ..results import parse
from ._base import Area, MoodleWarning, warnings_of

COMPLETION_INCOMPLETE = 0
COMPLETION_COMPLETE = 1
COMPLETION_COMPLETE_PASS = 2
COMPLETION_COMPLETE_FAIL = 3


@dataclass(frozen=True)
class CriterionDetails:
    type: str = ""
    criteria: str = ""
    requirement: str = ""
    status: str = ""


@dataclass(frozen=True)
class CriterionCompletion:
    """One course completion criterion for one user (``type`` 4 is an activity, 1 self completion)."""

    type: int
    title: str
    status: str
    complete: bool
    timecompleted: int | None = None
    details: CriterionDetails = field(default_factory=CriterionDetails)


@dataclass(frozen=True)
class CourseCompletionStatus:
    """A user's course completion: ``completed`` and each criterion (``aggregation`` 1 all, 2 any)."""

    completed: bool
    aggregation: int
    completions: tuple[CriterionCompletion, ...]
    warnings: tuple[MoodleWarning, ...] = ()

    @property
    def timecompleted(self) -> int | None:
        """When the last criterion was met, if the course is complete (Moodle does not return the
        course's own completion time here; the report builder's ``completion:timecompleted`` has it)."""
        if not self.completed:
            return None
        times = [c.timecompleted for c in self.completions if c.timecompleted]
        return max(times) if times else None


@dataclass(frozen=True)
class CompletionRule:
    description: str
    status: int


@dataclass(frozen=True)
class CompletionRuleDetail:
    rulename: str
    rulevalue: CompletionRule


@dataclass(frozen=True)
class ActivityCompletion:
    """One activity's completion for one user; ``state`` 0 incomplete, 1 complete, 2 pass, 3 fail;
    ``tracking`` 0 none, 1 manual, 2 automatic; ``timecompleted`` is 0 when never completed."""

    cmid: int
    modname: str
    instance: int
    state: int
    timecompleted: int
    tracking: int
    overrideby: int | None = None
    valueused: bool | None = None
    hascompletion: bool | None = None
    isautomatic: bool | None = None
    istrackeduser: bool | None = None
    uservisible: bool | None = None
    details: tuple[CompletionRuleDetail, ...] = ()
    isoverallcomplete: bool | None = None

    @property
    def complete(self) -> bool:
        return self.state in (COMPLETION_COMPLETE, COMPLETION_COMPLETE_PASS)


@dataclass(frozen=True)
class ActivitiesCompletion:
    statuses: tuple[ActivityCompletion, ...]
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class StatusResult:
    status: bool
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class ActivityCompletionOverride:
    """The activity's state after an override; ``overrideby`` stays null when nothing changed."""

    cmid: int
    userid: int
    state: int
    timecompleted: int
    tracking: int
    overrideby: int | None = None


@dataclass(frozen=True)
class CompletionStatuses:
    """Per-user answers of a fan-out: the statuses that came back and the errors of the others.

    An error per user (``usernotenroled``, ``nocriteriaset``, a user deleted meanwhile, a call that timed
    out) does not fail the batch; a token or service problem does (every call would fail alike).
    """

    statuses: dict[int, CourseCompletionStatus]
    errors: dict[int, MoodleError]

    def completed(self) -> set[int]:
        return {userid for userid, status in self.statuses.items() if status.completed}

    def errors_with(self, errorcode: str) -> set[int]:
        return {userid for userid, error in self.errors.items() if error.errorcode == errorcode}


class CoreCompletion(Area):
    def get_course_completion_status(self, courseid: int, userid: int) -> CourseCompletionStatus:
        """Calls core_completion_get_course_completion_status (read).

        Errors to expect: ``nocriteriaset`` (no criteria yet), ``usernotenroled``, ``cannotviewreport``
        (a learner's token asking about someone else).
        """
        fn = "core_completion_get_course_completion_status"
        data = self._read(fn, {"courseid": courseid, "userid": userid})
        status = parse(_StatusAnswer, data, fn).completionstatus
        return CourseCompletionStatus(status.completed, status.aggregation, status.completions,
                                      warnings_of(data, fn))

    def get_activities_completion_status(self, courseid: int, userid: int) -> ActivitiesCompletion:
        """Calls core_completion_get_activities_completion_status (read)."""
        fn = "core_completion_get_activities_completion_status"
        data = self._read(fn, {"courseid": courseid, "userid": userid})
        answer = parse(_ActivitiesAnswer, data, fn)
        return ActivitiesCompletion(answer.statuses, warnings_of(data, fn))

    def update_activity_completion_status_manually(self, cmid: int, completed: bool) -> StatusResult:
        """Calls core_completion_update_activity_completion_status_manually (write).

        Acts on the CALLER only (a service token marks the activity done for the service user); a
        learner's own token is needed, or use ``override_activity_completion_status``.
        """
        fn = "core_completion_update_activity_completion_status_manually"
        data = self._write(fn, {"cmid": cmid, "completed": completed})
        return StatusResult(bool(data.get("status")) if isinstance(data, dict) else False,
                            warnings_of(data, fn))

    def override_activity_completion_status(self, userid: int, cmid: int,
                                            newstate: int) -> ActivityCompletionOverride:
        """Calls core_completion_override_activity_completion_status (write).

        Overriding back to incomplete leaves a course completion already reached in place.
        """
        fn = "core_completion_override_activity_completion_status"
        data = self._write(fn, {"userid": userid, "cmid": cmid, "newstate": newstate})
        return parse(ActivityCompletionOverride, data, fn)

    def mark_course_self_completed(self, courseid: int) -> StatusResult:
        """Calls core_completion_mark_course_self_completed (write).

        Acts on the caller; ``nottracked`` when the caller is not a learner of the course.
        """
        fn = "core_completion_mark_course_self_completed"
        data = self._write(fn, {"courseid": courseid})
        return StatusResult(bool(data.get("status")) if isinstance(data, dict) else False,
                            warnings_of(data, fn))

    def course_completion_statuses(self, courseid: int, userids: Iterable[int]) -> CompletionStatuses:
        """Calls core_completion_get_course_completion_status (read), once per user, in parallel.

        One ``get_course_completion_status`` call per user; per-user failures are collected in
        ``errors`` instead of failing the batch (see ``CompletionStatuses``). For thousands of users
        a report builder report is far cheaper (one call for all).
        """
        ids = list(dict.fromkeys(int(userid) for userid in userids))

        def one(userid: int) -> CourseCompletionStatus | MoodleError:
            try:
                return self.get_course_completion_status(courseid, userid)
            except (InvalidTokenError, FunctionNotInServiceError):
                raise
            except MoodleError as exc:
                return exc

        statuses: dict[int, CourseCompletionStatus] = {}
        errors: dict[int, MoodleError] = {}
        for userid, result in zip(ids, self._client.fan_out(one, ids), strict=True):
            if isinstance(result, MoodleError):
                errors[userid] = result
            else:
                statuses[userid] = result
        return CompletionStatuses(statuses, errors)


@dataclass(frozen=True)
class _Status:
    completed: bool
    aggregation: int
    completions: tuple[CriterionCompletion, ...]


@dataclass(frozen=True)
class _StatusAnswer:
    completionstatus: _Status


@dataclass(frozen=True)
class _ActivitiesAnswer:
    statuses: tuple[ActivityCompletion, ...]
