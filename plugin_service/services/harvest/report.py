"""The completion report: a report-builder custom report that gives every enrolment's completion in a
few calls, instead of one call per cadre and course.

No web service creates such a report, so a Moodle admin creates it once (``SETUP`` says how; `cadre
doctor` shows it). Its columns are recognised by the titles Moodle gives them in English, so the
service user's language must be English; its dates are display strings in the service user's timezone,
read only where they print back identically (``read_report_datetime``), otherwise the harvest asks
Moodle for the exact completion time of those rows alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from moodle_bridge import AccessDeniedError, MoodleClient, NotFoundError
from rules.wording import Sentence

from .context import HarvestError

PARTICIPANTS_SOURCE = "core_course\\reportbuilder\\datasource\\participants"
#: What each column the harvest reads is titled in English, by the role it plays.
TITLES = {
    "course": "Course ID number",
    "user": "ID number",
    "completed": "Completed",
    "timecompleted": "Time completed",
    "timestarted": "Time started",
    "timeaccess": "Last access to course",
}
REQUIRED = ("course", "user", "completed", "timecompleted")
DEFAULT_NAME = "Course completion export"

SETUP = Sentence("""\
To harvest completion in a few calls instead of one per cadre and course, a Moodle admin creates a
custom report once (Site administration > Reports > Report builder > Custom reports > New report):
  1. Name "%(name)s", report source "Course participants", without default setup.
  2. Columns, in this order: Course: Course ID number; User: ID number; Course completion: Completed;
     Course completion: Time completed; Course completion: Time started; Course access: Last access
     to course. Keep their default headings (the columns are found by them). (Do not add "Student
     progress": it makes the report about ten times slower.)
  3. Condition: User: Username "Is not empty" (drops rows of enrolment methods nobody uses).
  4. Audience: add the web-service user (Manually added users), so the token can read it.
  5. Give the web-service user English as its preferred language (the columns and dates are read
     in English). Its timezone is the one the dates are read in.
  6. Filters, so that a harvest reads only the rows that changed since the last one: Course
     completion: Time completed; Course completion: Time started; Course access: Last access to
     course. (Where the service user may edit the report, the harvest adds them itself.)
Without the report, the harvest asks Moodle once per cadre and course.""", name=DEFAULT_NAME)


@dataclass(frozen=True)
class CompletionReport:
    id: int
    name: str
    columns: dict[str, int]  # role (a key of TITLES) -> column index


def columns_of(headers: tuple[str, ...]) -> dict[str, int]:
    """Role -> column index for the columns recognised among ``headers`` (first of a title wins)."""
    found: dict[str, int] = {}
    for role, title in TITLES.items():
        if title in headers:
            found[role] = headers.index(title)
    return found


def _is_participants(source: str) -> bool:
    return source.strip("\\") == PARTICIPANTS_SOURCE


def find_completion_report(client: MoodleClient, wanted: str = "") -> CompletionReport | None:
    """The report to harvest with: the one named or numbered by ``wanted``, else the first
    "Course participants" report whose columns the harvest needs. None when there is none.

    A report named by ``wanted`` that cannot serve raises ``HarvestError`` with what is wrong with it,
    instead of quietly falling back to the slow path the admin did not ask for.
    """
    reports = client.core_reportbuilder
    candidates = [r for r in reports.iter_reports() if _is_participants(r.source)]
    if wanted:
        named = [r for r in candidates if str(r.id) == wanted or (r.name or "") == wanted]
        if not named:
            raise HarvestError(Sentence('harvest_report %(wanted)s: no "Course participants" custom report '
                                        "with that name or id is visible to the web-service user.\n%(setup)s",
                                        wanted=repr(wanted), setup=SETUP))
        candidates = named
    problems = []
    for report in candidates:
        page = reports.retrieve_report(report.id, page=0, perpage=1)
        columns = columns_of(page.headers)
        missing = [TITLES[role] for role in REQUIRED if role not in columns]
        if not missing:
            return CompletionReport(report.id, report.name or "", columns)
        problems.append(f"report {report.id} {report.name!r} lacks the columns {', '.join(missing)} "
                        f"(it has: {', '.join(page.headers) or 'none'})")
    if wanted:
        raise HarvestError("; ".join(problems) + ". Column titles are read in the web-service user's "
                           "language, which must be English.\n" + SETUP)
    return None


def report_timezone(client: MoodleClient, service_userid: int, fallback: str) -> tzinfo:
    """The timezone the web-service user sees dates in: its own, or ``fallback`` (the site's, which
    web services do not tell) when it uses the server's ("99") or may not read its own profile.
    A read that fails for any other reason stops the harvest: a guessed zone would shift every date."""
    name = fallback
    try:
        users = client.core_user.get_users_by_field("id", [service_userid])
    except (AccessDeniedError, NotFoundError):
        users = []
    own = users[0].timezone if users else None
    if own and own != "99":
        name = own
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HarvestError(f"timezone {name!r} is not known: set moodle_timezone to the site's "
                           "timezone (for example Asia/Shanghai)") from None
