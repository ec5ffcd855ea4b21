"""Reading the completion report: whole, or only the rows whose completion, start or course access
Moodle dated from a given time on.

Moodle's report filters are AND-ed, and a user has one set of filter values per report, so "completed
after T, or started after T, or accessed after T" is read as one filtered read per date: the service
user's filter values are set to one date's range (``core_reportbuilder_set_filters``), the report is
paged, and so on; the rows of a cadre and course that several reads return are the same row. The values
are cleared at the end, whatever happens, so the report reads whole for the service user again.

A filtered read proves itself: every row it returns must show a date in the column its filter is on,
and none earlier than T by more than the widest gap between two timezones (a site whose timezone is not
the one the dates are read in shifts every date it shows). A row that does not (an empty date, or one
from long before) means the report did not apply the filter (it does not have it, or it became a
condition): that read is then the whole report, read to its end as such, and the other filtered reads
are not needed. Nothing is missed either way, since every row is compared with what is stored before
anything is written.

The year's rows are kept by course in compact tuples, spooled to a temporary file per course page by
page (``ReportRows``), and handed to the completion step a course at a time: a whole read of two hundred
thousand rows holds one course's rows and the pages in flight (one per worker of the client's pool,
besides the one being sorted), never the report.
"""

from __future__ import annotations

import marshal
import tempfile
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from sys import intern
from typing import BinaryIO

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_reportbuilder import ReportTable, date_range, read_report_datetime

from .context import HarvestError, YearContext
from .report import CompletionReport

#: Rows per ``retrieve_report`` call: the recorded site served ~6,000 rows a second.
REPORT_PAGE = 5000
#: The report filter that finds the rows whose date changed, by the role of the date's column; the
#: filtered reads go in this order (completion first: the one every report has).
FILTER_OF = {"timecompleted": "completion:timecompleted", "timestarted": "completion:timestarted",
             "timeaccess": "access:timeaccess"}
#: What a date cell says where there is no date ("Last access to course" of someone who never came).
NEVER = {"never", "-"}
#: How much earlier than asked a filtered row's date may read: the widest gap between two timezones.
TIMEZONES_APART = timedelta(hours=26)

#: A report row as kept: user idnumber, completed, and "time completed|time started|last access" (one
#: string for the three dates: two hundred thousand rows are held while the report is read).
Row = tuple[str, str, str]


def needed_filters(report: CompletionReport) -> tuple[str, ...]:
    """The filters a read of ``report``'s changed rows needs: one per date column it has."""
    return tuple(FILTER_OF[role] for role in FILTER_OF if role in report.columns)


@dataclass
class ReportRows:
    """What a read of the report gave: the year's rows by course key (``take``), how many rows it read in
    all (other years' and other users' included), whether they are the whole report, the filters whose
    rows were read, and a filter the report did not apply (its read turned out to be the whole report).

    The rows wait on disk, a file per course with a ``marshal`` record per page, until ``take`` hands
    over a course's; ``close`` removes what is left."""

    read: int = 0
    whole: bool = True
    filters: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    _spool: tempfile.TemporaryDirectory[str] | None = None
    _files: dict[str, BinaryIO] = field(default_factory=dict)

    def add(self, course_key: str, rows: list[Row]) -> None:
        spool = self._files.get(course_key)
        if spool is None:
            if self._spool is None:
                self._spool = tempfile.TemporaryDirectory(prefix="cadre-report-")
            spool = self._files[course_key] = (Path(self._spool.name) / f"{len(self._files)}").open("ab")
        marshal.dump(rows, spool)

    def take(self, course_key: str) -> list[Row]:
        """The course's rows (none if the read had none), let go from the spool."""
        spool = self._files.pop(course_key, None)
        if spool is None:
            return []
        spool.close()
        rows: list[Row] = []
        path = Path(spool.name)
        with path.open("rb") as saved:
            while True:
                try:
                    rows.extend(marshal.load(saved))
                except EOFError:
                    break
        path.unlink()
        return rows

    def close(self) -> None:
        for spool in self._files.values():
            spool.close()
        self._files.clear()
        if self._spool is not None:
            self._spool.cleanup()
            self._spool = None


class _Sorter:
    """Keeps the rows of the year's courses from each page, in compact form, and checks that every page
    has the columns of the first."""

    def __init__(self, report: CompletionReport, context: YearContext, rows: ReportRows,
                 on_page: Callable[[int], None] | None) -> None:
        columns = report.columns
        self.report = report
        self.course_col, self.user_col = columns["course"], columns["user"]
        self.done_col, self.time_col = columns["completed"], columns["timecompleted"]
        self.started_col, self.access_col = columns.get("timestarted"), columns.get("timeaccess")
        self.wanted = context.course_by_idnumber
        self.known_users = {idnumber: idnumber for idnumber in context.cadre_by_idnumber}  # one str each
        self.rows = rows
        self.on_page = on_page
        self.headers: tuple[str, ...] | None = None

    def __call__(self, page: ReportTable) -> None:
        if self.headers is None:
            self.headers = page.headers
        elif page.rows and page.headers != self.headers:
            raise HarvestError(f"the completion report {self.report.id} changed its columns while being "
                               "read; run the harvest again")
        wanted, known = self.wanted, self.known_users
        course_col, user_col, done_col = self.course_col, self.user_col, self.done_col
        time_col, started_col, access_col = self.time_col, self.started_col, self.access_col
        grouped: dict[str, list[Row]] = defaultdict(list)
        for cells in page.rows:
            course_key = wanted.get(cells[course_col] or "")
            if course_key is None:
                continue
            user = cells[user_col] or ""
            grouped[course_key].append((
                known.get(user, user), intern(cells[done_col] or ""),
                f"{cells[time_col] or ''}|{(cells[started_col] or '') if started_col is not None else ''}|"
                f"{(cells[access_col] or '') if access_col is not None else ''}"))
        for course_key, rows in grouped.items():
            self.rows.add(course_key, rows)
        self.rows.read += len(page.rows)
        if self.on_page is not None:
            self.on_page(self.rows.read)


def read_whole(client: MoodleClient, report: CompletionReport, context: YearContext,
               on_page: Callable[[int], None] | None = None, *, clear: bool = False) -> ReportRows:
    """Every row of the report. ``clear`` first clears the service user's filter values, which a read of
    changed rows that could not clear them (the site went away) would have left set: a whole read that
    is in fact filtered would leave cadres out."""
    if clear:
        client.core_reportbuilder.set_filters(report.id, {})
    rows = ReportRows()
    sorter = _Sorter(report, context, rows, on_page)
    try:
        first = client.core_reportbuilder.retrieve_table(report.id, 0, REPORT_PAGE)
        sorter(first)
        _read_rest(client, report, sorter, first, 0)
    except BaseException:
        rows.close()
        raise
    return rows


def read_changed(client: MoodleClient, report: CompletionReport, context: YearContext, since: datetime,
                 tz: tzinfo, on_page: Callable[[int], None] | None = None) -> ReportRows:
    """The rows whose completion, start or course access is dated from ``since`` (naive UTC, Moodle's
    clock) on, one filtered read per date column; or the whole report, where a filter was not applied.

    The service user's filter values are set for each read and cleared at the end."""
    rows = ReportRows(whole=False)
    sorter = _Sorter(report, context, rows, on_page)
    area = client.core_reportbuilder
    floor = since.replace(second=0, microsecond=0, tzinfo=UTC) - TIMEZONES_APART
    try:
        for role, identifier in FILTER_OF.items():
            column = report.columns.get(role)
            if column is None:
                continue
            area.set_filters(report.id, date_range(identifier, since.replace(tzinfo=UTC)))
            first = area.retrieve_table(report.id, 0, REPORT_PAGE)
            if _applied(first, column, floor, tz):
                sorter(first)
                if _read_rest(client, report, sorter, first, 0, verify=(column, floor, tz)):
                    rows.filters.append(identifier)
                    continue
            else:
                sorter(first)
                _read_rest(client, report, sorter, first, 0)
            # the report did not apply the filter: what was read is the whole report
            rows.whole, rows.missing = True, [identifier]
            break
    except BaseException:
        rows.close()
        raise
    finally:
        area.set_filters(report.id, {})
    return rows


def _read_rest(client: MoodleClient, report: CompletionReport, sort: _Sorter, first: ReportTable,
               number: int, *, verify: tuple[int, datetime, tzinfo] | None = None) -> bool:
    """Reads the pages after ``first`` (page ``number``) until a short one; False when ``verify`` found a
    page its filter was not applied to, which is then read to the end unverified, as the whole report.

    Where the first page is full, the pages it announces are asked for on the client's pool (a site
    serves several at once) and sorted in page order as they come; reading goes on past the announced
    count until a page is short, so rows added meanwhile are not cut off."""
    reports = client.core_reportbuilder
    applied = True

    def take(page: ReportTable) -> None:
        nonlocal applied
        if applied and verify is not None and not _applied(page, *verify):
            applied = False
        sort(page)

    last = first
    if len(first.rows) == REPORT_PAGE:
        announced = max(number + 1, -(-first.totalrowcount // REPORT_PAGE))
        workers = max(1, client.max_workers)
        with ThreadPoolExecutor(workers, thread_name_prefix="report") as pool:
            pending: deque[Future[ReportTable]] = deque()
            for later in range(number + 1, announced):
                pending.append(pool.submit(reports.retrieve_table, report.id, later, REPORT_PAGE))
                if len(pending) >= workers:
                    last = pending.popleft().result()
                    take(last)
            while pending:
                last = pending.popleft().result()
                take(last)
        number = max(number, announced - 1)
    while len(last.rows) == REPORT_PAGE:
        number += 1
        last = reports.retrieve_table(report.id, number, REPORT_PAGE)
        take(last)
    return applied


def _applied(page: ReportTable, column: int, floor: datetime, tz: tzinfo) -> bool:
    """Whether every row of ``page`` shows a date from ``floor`` on in ``column``: the filter on it was
    applied. A date that cannot be read for certain (another format) is taken as shown."""
    for cells in page.rows:
        cell = (cells[column] or "").strip()
        if not cell or cell.lower() in NEVER:
            return False
        moment = read_report_datetime(cell, tz)
        if moment is not None and moment < floor:
            return False
    return True


def dates_of(row: Row) -> tuple[str, str, str]:
    """Time completed, time started and last access of a kept row."""
    completed, started, access = row[2].split("|", 2)
    return completed, started, access


def shows_a_time(cell: str, read: datetime | None) -> bool:
    """Whether a date cell holds a time: Moodle shows "Never" for a course never accessed."""
    return read is not None or (bool(cell.strip()) and cell.strip().lower() not in NEVER)
