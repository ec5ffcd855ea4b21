"""Reading course completion: from the completion report's rows (``report_reads``: a few calls for
every enrolment of the site, or for those that changed), or per cadre and course (one call each) where
the site has no such report.

Both give ``Seen`` values per course; what changed since the last harvest is decided by comparing
fingerprints of what Moodle showed, so an unchanged row costs nothing to store. The report's times are
to the minute, the per-user ones to the second; ``progress_store`` keeps one value of a completion
whichever path read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.core_reportbuilder import read_report_datetime, report_yes

from .context import HarvestError, YearContext
from .progress_store import Seen, Stored, fingerprint
from .report_reads import Row, dates_of, shows_a_time

#: Cadres asked about per round of per-user calls: their answers are let go before the next round.
PER_USER_CHUNK = 1000
#: Per-user errors that mean "nothing to read here" rather than a failed harvest.
NOTHING_TO_READ = {"usernotenroled", "nocriteriaset"}


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def from_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC).replace(tzinfo=None) if value else None


def changed_rows(rows: list[Row], fingerprints: dict[str, str], context: YearContext) -> list[Row]:
    """The rows (one per cadre: see ``one_row_per_user``) whose stored fingerprint differs from what
    the report shows now; the rest cannot have changed, and is neither parsed nor written."""
    return [row for row in rows
            if fingerprints.get(context.cadre_by_idnumber.get(row[0], "")) != row_fingerprint(row)]


def row_fingerprint(row: Row) -> str:
    return fingerprint("report|" + "|".join(row[1:]))


def seen_from_report(client: MoodleClient, context: YearContext, course_key: str, rows: Iterable[Row],
                     tz: tzinfo) -> tuple[list[Seen], int]:
    """``Seen`` for one course's report rows (one per cadre: ``one_row_per_user``); returns them and
    how many exact times were asked for.

    A completed row whose time cannot be read for certain gets its exact time from Moodle, for that
    row alone (``core_completion_get_course_completion_status``).
    """
    seen: list[Seen] = []
    unreadable: dict[int, tuple[str, Row]] = {}
    for row in rows:
        employee_no = context.cadre_by_idnumber.get(row[0])
        if employee_no is None:
            continue
        completed = report_yes(row[1]) is True
        completed_at = utc(read_report_datetime(dates_of(row)[0], tz)) if completed else None
        if completed and completed_at is None:
            userid = context.userid_of.get(employee_no)
            if userid is not None:
                unreadable[userid] = (employee_no, row)
                continue
        seen.append(_seen(employee_no, row, completed, completed_at, tz))
    if unreadable:
        courseid = context.courses[course_key]
        answers = client.core_completion.course_completion_statuses(courseid, list(unreadable))
        _raise_real_errors(answers.errors, course_key)
        for userid, (employee_no, row) in unreadable.items():
            status = answers.statuses.get(userid)
            if status is None:  # not enrolled any more: the report's word stands, time unknown
                seen.append(_seen(employee_no, row, True, None, tz))
                continue
            seen.append(_seen(employee_no, row, status.completed, from_timestamp(status.timecompleted), tz))
    return seen, len(unreadable)


def one_row_per_user(rows: Iterable[Row]) -> list[Row]:
    """A cadre enrolled by two methods (manual and cohort sync, say) has a row per enrolment; the
    completion is the course's, so one row stands for them: a completed one where there is one."""
    chosen: dict[str, Row] = {}
    for row in rows:
        before = chosen.get(row[0])
        if before is None or (report_yes(row[1]) is True and report_yes(before[1]) is not True) or (
                report_yes(row[1]) == report_yes(before[1]) and row[1:] > before[1:]):
            chosen[row[0]] = row
    return list(chosen.values())


def _seen(employee_no: str, row: Row, completed: bool, completed_at: datetime | None, tz: tzinfo) -> Seen:
    _done, started_cell, access_cell = dates_of(row)
    started_at, access_at = read_report_datetime(started_cell, tz), read_report_datetime(access_cell, tz)
    started = completed or shows_a_time(started_cell, started_at) or shows_a_time(access_cell, access_at)
    return Seen(employee_no, completed, completed_at, utc(started_at), utc(access_at), started,
                row_fingerprint(row), to_the_minute=True)


def seen_per_user(client: MoodleClient, context: YearContext, course_key: str,
                  stored: dict[str, Stored], *, full: bool) -> tuple[list[Seen], int]:
    """``Seen`` for the cadres of one course, asking Moodle once per cadre: for all of them on a full
    harvest, otherwise for those never harvested or whose last access to the course changed.

    Returns the values and how many cadres were asked about.
    """
    courseid = context.courses[course_key]
    access: dict[int, int] = {}
    for user in client.core_enrol.iter_enrolled_users(courseid, page_size=1000,
                                                       userfields=["id", "lastcourseaccess"]):
        if user.id in context.cadre_by_userid:
            access[user.id] = int(user.lastcourseaccess or 0)
    ask = []
    for userid, last in access.items():
        before = stored.get(context.cadre_by_userid[userid])
        if full or before is None or before.last_access_at != from_timestamp(last):
            ask.append(userid)
    seen = []
    for start in range(0, len(ask), PER_USER_CHUNK):
        seen.extend(_seen_of(client, context, course_key, ask[start:start + PER_USER_CHUNK], access,
                             stored))
    return seen, len(ask)


def _seen_of(client: MoodleClient, context: YearContext, course_key: str, ask: list[int],
             access: dict[int, int], stored: dict[str, Stored]) -> list[Seen]:
    """One chunk of cadres asked about: their answers are turned into ``Seen`` and let go."""
    answers = client.core_completion.course_completion_statuses(context.courses[course_key], ask)
    _raise_real_errors(answers.errors, course_key)
    seen = []
    for userid in ask:
        status = answers.statuses.get(userid)
        if status is None and context.cadre_by_userid[userid] in stored:
            # Moodle tells nothing of someone it does not track (a suspended enrolment after a change
            # of tier, a reviewer): what was read before stands, instead of reading as a reset.
            continue
        last = access[userid]
        completed = status is not None and status.completed
        completed_at = from_timestamp(status.timecompleted) if status is not None and completed else None
        started = last > 0 or (status is not None and any(c.complete for c in status.completions))
        seen.append(Seen(context.cadre_by_userid[userid], completed, completed_at, None,
                         from_timestamp(last), started,
                         fingerprint(f"user|{completed}|{status.timecompleted if status else ''}|{last}")))
    return seen


def _raise_real_errors(errors: dict[int, MoodleError], course_key: str) -> None:
    """Per-user answers that are not "nothing to read" fail the course: a number must never be
    guessed from a call that did not answer."""
    real = {userid: exc for userid, exc in errors.items()
            if exc.errorcode not in NOTHING_TO_READ}
    if real:
        userid, exc = next(iter(real.items()))
        raise HarvestError(f"course {course_key}: completion of {len(real)} cadre(s) could not be read "
                           f"(user {userid}: {exc})")
