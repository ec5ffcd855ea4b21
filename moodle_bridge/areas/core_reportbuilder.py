"""core_reportbuilder: custom reports, the bulk way to read completion (thousands of rows per call).

What the recordings taught (FINDINGS.md): no web service creates a report (an admin does, once);
``retrieve_report`` pages with no cap on ``perpage`` (0 returns every row) and a page beyond the end comes
back empty, with ``totalrowcount`` 0 on 5.1 but the real total on 4.5 (so paging stops on a short page,
never on the count); values are display strings in the token user's language and timezone
(``Yes``/``No``/empty, ``Friday, 27 November 2026, 8:22 PM``: see ``report_yes`` and
``parse_report_datetime``); an enrolment method with nobody in it gives a row with empty user columns
(add a "username is not empty" condition to drop them); ``conditions_add`` adds a condition without a
value, which filters nothing; ``set_filters`` values are saved for the calling user only. Reports on
4.5 lack ``customfields``.

Filters, as Moodle's code has them on 4.5 and 5.1 alike (``reportbuilder/classes/external/filters``,
``local/filters/date.php``): ``filters_add`` needs the right to edit the report (``errorreportedit``; an
admin's report needs ``moodle/reportbuilder:editall``) and answers ``invalidparameter`` "Duplicate filter"
for a filter the report has; ``set_filters`` and ``filters_reset`` need only the right to view it, and
act on the calling user's values alone. ``set_filters`` replaces every value the user had, so ``{}``
clears them. The values are one JSON object keyed by the filter's unique identifier and a suffix: a date
filter reads ``<id>_operator`` (``DATE_*``), ``<id>_from`` / ``<id>_to`` (timestamps, for
``DATE_RANGE``), ``<id>_value`` and ``<id>_unit`` (``DATE_UNIT_*``, for the relative operators). A
report's filters are AND-ed, together with its conditions (whose values its editor sets, for everyone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from ..errors import ProtocolError
from ..results import parse
from ._base import Area, MoodleWarning, Page, iter_pages, warnings_of

OPERATOR_ANY = 0
TEXT_CONTAINS = 1
TEXT_DOES_NOT_CONTAIN = 2
TEXT_IS_EQUAL_TO = 3
TEXT_IS_NOT_EQUAL_TO = 4
TEXT_STARTS_WITH = 5
TEXT_ENDS_WITH = 6
TEXT_IS_EMPTY = 7
TEXT_IS_NOT_EMPTY = 8
DEFAULT_PAGE_SIZE = 5000

# The date filter's operators (``local/filters/date.php``): a range is ``>= from`` with a
# start only, ``< to`` with an end only, and ``BETWEEN from AND to`` (both included) with both.
DATE_ANY = 0
DATE_NOT_EMPTY = 1
DATE_EMPTY = 2
DATE_RANGE = 3
DATE_LAST = 4
DATE_CURRENT = 5
DATE_NEXT = 6
DATE_PAST = 7
DATE_FUTURE = 8
DATE_BEFORE = 9
DATE_AFTER = 10
# Its units, for the relative operators (last / current / next / before / after).
DATE_UNIT_HOUR = 0
DATE_UNIT_DAY = 1
DATE_UNIT_WEEK = 2
DATE_UNIT_MONTH = 3
DATE_UNIT_YEAR = 4
DATE_UNIT_MINUTE = 5

#: What a filter value may be: ``set_filters`` sends them as one flat JSON object.
FilterValue = str | int | float | bool


@dataclass(frozen=True)
class ReportModifier:
    id: int
    fullname: str = ""
    email: str = ""
    idnumber: str = ""
    identity: str = ""
    profileurl: str = ""


@dataclass(frozen=True)
class Report:
    """A custom report's details (``conditiondata`` holds the condition values as JSON text)."""

    id: int
    name: str | None
    source: str
    type: int = 0
    uniquerows: bool = False
    conditiondata: str | None = None
    settingsdata: str | None = None
    contextid: int | None = None
    component: str = ""
    area: str = ""
    itemid: int = 0
    usercreated: int | None = None
    usermodified: int | None = None
    timecreated: int = 0
    timemodified: int = 0
    sourcename: str | None = None
    modifiedby: ReportModifier | None = None

    @property
    def conditions(self) -> dict[str, Any]:
        """The report's condition values (``{"user:username_operator": 8, ...}``), empty when none."""
        try:
            value = json.loads(self.conditiondata) if self.conditiondata else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ReportList:
    reports: tuple[Report, ...]
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class ReportView:
    """``reports_get``: the report row and its first page rendered as HTML (``table``)."""

    id: int
    name: str | None
    source: str
    table: str = ""
    type: int = 0
    conditiondata: str | None = None
    usercreated: int | None = None
    timecreated: int = 0
    timemodified: int = 0
    editmode: bool = False
    filterspresent: bool = False
    filtersapplied: int = 0
    filtersform: str = ""
    infocontainer: str = ""
    filters: ReportFilters | None = None  # in edit mode: the report's filters and those it may add

    @property
    def filter_identifiers(self) -> frozenset[str]:
        """The unique identifiers of the report's filters, as its filters form names their fields
        (``<id>_operator``): what a viewer who may not edit the report can learn of its filters."""
        return frozenset(_FILTER_FIELD.findall(self.filtersform))


@dataclass(frozen=True)
class ReportRow:
    """One row of a report: display strings, ``None`` where Moodle sent null."""

    headers: tuple[str, ...]
    columns: tuple[str | None, ...]

    def get(self, header: str, default: str | None = None) -> str | None:
        """The value under the first column titled ``header``."""
        try:
            return self.columns[self.headers.index(header)]
        except (ValueError, IndexError):
            return default

    def as_dict(self) -> dict[str, str | None]:
        """Header to value; where two columns share a title the first wins."""
        result: dict[str, str | None] = {}
        for header, value in zip(self.headers, self.columns, strict=False):
            result.setdefault(header, value)
        return result


@dataclass(frozen=True)
class ReportPage:
    """One page of ``retrieve_report``. On a page beyond the end ``totalrowcount`` is 0 on Moodle 5.1 and
    the report's real total on 4.5."""

    details: Report
    headers: tuple[str, ...]
    rows: tuple[ReportRow, ...]
    totalrowcount: int
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class ReportTable:
    """One page of ``retrieve_report`` as plain cells: ``rows`` are tuples in ``headers`` order.

    For reading hundreds of thousands of rows, where an object per row would cost more than the call.
    """

    headers: tuple[str, ...]
    rows: list[tuple[str | None, ...]]
    totalrowcount: int


@dataclass(frozen=True)
class SortIcon:
    key: str = ""
    component: str = ""
    title: str = ""


@dataclass(frozen=True)
class SortableColumn:
    id: int
    title: str
    heading: str = ""
    sortdirection: int = 4
    sortenabled: bool = False
    sortorder: int = 0
    sorticon: SortIcon = field(default_factory=SortIcon)


@dataclass(frozen=True)
class ReportColumns:
    """The report's columns after ``columns_add`` (as its sorting settings list them)."""

    sortablecolumns: tuple[SortableColumn, ...]
    hassortablecolumns: bool = True


@dataclass(frozen=True)
class ReportOption:
    value: str
    visiblename: str


@dataclass(frozen=True)
class ReportOptionGroup:
    text: str
    values: tuple[ReportOption, ...]


@dataclass(frozen=True)
class ReportConditions:
    """After ``conditions_add``: the conditions still available (grouped by entity)."""

    availableconditions: tuple[ReportOptionGroup, ...]
    hasactiveconditions: bool
    hasavailableconditions: bool = True
    activeconditionsform: str = ""


@dataclass(frozen=True)
class ActiveFilter:
    id: int
    heading: str
    sortorder: int = 0
    entityname: str = ""


@dataclass(frozen=True)
class ReportFilters:
    """After ``filters_add``: the report's filters and those still available."""

    activefilters: tuple[ActiveFilter, ...]
    availablefilters: tuple[ReportOptionGroup, ...]
    hasactivefilters: bool = True
    hasavailablefilters: bool = True

    @property
    def available(self) -> frozenset[str]:
        """The unique identifiers of the filters the report may still add: a filter its source offers
        that is not among them is one the report has."""
        return frozenset(option.value for group in self.availablefilters for option in group.values)


class CoreReportbuilder(Area):
    def list_reports(self, page: int | None = None, perpage: int | None = None) -> ReportList:
        """Calls core_reportbuilder_list_reports (read).

        Moodle's default ``perpage`` is 10; ``iter_reports`` pages through all of them.
        """
        fn = "core_reportbuilder_list_reports"
        data = self._read(fn, {"page": page, "perpage": perpage})
        return ReportList(parse(_ListAnswer, data, fn).reports, warnings_of(data, fn))

    def iter_reports(self, perpage: int = 50) -> Iterator[Report]:
        """Every custom report the token may view, page by page."""
        return iter_pages(lambda page: Page(self.list_reports(page=page, perpage=perpage).reports), perpage)

    def reports_get(self, reportid: int, *, editmode: bool | None = None,
                    pagesize: int | None = None) -> ReportView:
        """Calls core_reportbuilder_reports_get (read).

        ``editmode`` needs the right to edit the report.
        """
        fn = "core_reportbuilder_reports_get"
        data = self._read(fn, {"reportid": reportid, "editmode": editmode, "pagesize": pagesize})
        if isinstance(data, dict) and isinstance(data.get("filters"), dict):
            data = {**data, "filters": {**data["filters"],
                                        "availablefilters": _unwrap(data["filters"].get("availablefilters"))}}
        return parse(ReportView, data, fn)

    def retrieve_report(self, reportid: int, page: int | None = None,
                        perpage: int | None = None) -> ReportPage:
        """Calls core_reportbuilder_retrieve_report (read).

        Moodle's default ``perpage`` is 10 and ``perpage=0`` returns every row; use
        ``iter_report_rows`` to read a whole report without truncation.
        """
        fn = "core_reportbuilder_retrieve_report"
        data = self._read(fn, {"reportid": reportid, "page": page, "perpage": perpage})
        answer = parse(_RetrieveAnswer, data, fn)
        headers = tuple(answer.data.headers)
        rows = []
        for index, row in enumerate(answer.data.rows):
            if len(row.columns) != len(headers):
                raise ProtocolError(f"row {index} has {len(row.columns)} columns for {len(headers)} headers",
                                    wsfunction=fn)
            rows.append(ReportRow(headers, tuple(row.columns)))
        return ReportPage(answer.details, headers, tuple(rows), answer.data.totalrowcount,
                          warnings_of(data, fn))

    def retrieve_table(self, reportid: int, page: int, perpage: int) -> ReportTable:
        """Calls core_reportbuilder_retrieve_report (read).

        Keeps the cells only (no details, no object per row); every row must have a cell for each
        header, and cells are text or null.
        """
        fn = "core_reportbuilder_retrieve_report"
        data = self._read(fn, {"reportid": reportid, "page": page, "perpage": perpage})
        table = data.get("data") if isinstance(data, dict) else None
        headers = table.get("headers") if isinstance(table, dict) else None
        rows = table.get("rows") if isinstance(table, dict) else None
        if not isinstance(headers, list) or not isinstance(rows, list) or not all(
                isinstance(h, str) for h in headers):
            raise ProtocolError("the answer has no data with headers and rows", wsfunction=fn)
        width = len(headers)
        cells: list[tuple[str | None, ...]] = []
        for index, row in enumerate(rows):
            columns = row.get("columns") if isinstance(row, dict) else None
            if not isinstance(columns, list) or len(columns) != width:
                raise ProtocolError(f"row {index} does not have {width} columns", wsfunction=fn)
            cells.append(tuple(None if c is None else c if isinstance(c, str) else str(c) for c in columns))
        total = table.get("totalrowcount") if isinstance(table, dict) else None
        return ReportTable(tuple(headers), cells, total if isinstance(total, int) else 0)

    def iter_report_pages(self, reportid: int, perpage: int = DEFAULT_PAGE_SIZE) -> Iterator[ReportPage]:
        """Pages through a report until a short page; never stops early on ``totalrowcount``.

        ``perpage=0`` reads everything in one call. If the report's columns change between pages
        (someone edited it meanwhile) a ``ProtocolError`` stops the read rather than mixing columns.
        """
        if perpage < 0:
            raise ValueError("perpage must be 0 (all rows) or more")
        if perpage == 0:
            yield self.retrieve_report(reportid, page=0, perpage=0)
            return
        page = 0
        headers: tuple[str, ...] | None = None
        while True:
            result = self.retrieve_report(reportid, page=page, perpage=perpage)
            if headers is not None and result.rows and result.headers != headers:
                raise ProtocolError(f"report {reportid} changed its columns while being read (page {page})",
                                    wsfunction="core_reportbuilder_retrieve_report")
            headers = result.headers
            yield result
            if len(result.rows) < perpage:
                return
            page += 1

    def iter_report_rows(self, reportid: int, perpage: int = DEFAULT_PAGE_SIZE) -> Iterator[ReportRow]:
        """Every row of a report, paging explicitly (see ``iter_report_pages``)."""
        for page in self.iter_report_pages(reportid, perpage):
            yield from page.rows

    def columns_add(self, reportid: int, uniqueidentifier: str) -> ReportColumns:
        """Calls core_reportbuilder_columns_add (write).

        Needs the right to edit the report; an unknown column is ``invalidparameter``.
        """
        fn = "core_reportbuilder_columns_add"
        data = self._write(fn, {"reportid": reportid, "uniqueidentifier": uniqueidentifier})
        return parse(ReportColumns, data, fn)

    def conditions_add(self, reportid: int, uniqueidentifier: str) -> ReportConditions:
        """Calls core_reportbuilder_conditions_add (write).

        The condition comes without a value and filters nothing until someone sets it in Moodle.
        """
        fn = "core_reportbuilder_conditions_add"
        data = self._write(fn, {"reportid": reportid, "uniqueidentifier": uniqueidentifier})
        if isinstance(data, dict):
            data = {**data, "availableconditions": _unwrap(data.get("availableconditions"))}
        return parse(ReportConditions, data, fn)

    def filters_add(self, reportid: int, uniqueidentifier: str) -> ReportFilters:
        """Calls core_reportbuilder_filters_add (write).

        Needs the right to edit the report (``errorreportedit``); a filter the report has already, or
        one its source does not offer, is ``invalidparameter`` ("Duplicate filter", "Invalid filter").
        """
        fn = "core_reportbuilder_filters_add"
        data = self._write(fn, {"reportid": reportid, "uniqueidentifier": uniqueidentifier})
        if isinstance(data, dict):
            data = {**data, "availablefilters": _unwrap(data.get("availablefilters"))}
        return parse(ReportFilters, data, fn)

    def filters_delete(self, reportid: int, filterid: int) -> ReportFilters:
        """Calls core_reportbuilder_filters_delete (write).

        ``filterid`` is an active filter's ``id`` (``ReportFilters.activefilters``); needs the right to
        edit the report; an id that is not one of the report's filters is ``invalidparameter``.
        """
        fn = "core_reportbuilder_filters_delete"
        data = self._write(fn, {"reportid": reportid, "filterid": filterid})
        if isinstance(data, dict):
            data = {**data, "availablefilters": _unwrap(data.get("availablefilters"))}
        return parse(ReportFilters, data, fn)

    def set_filters(self, reportid: int, values: Mapping[str, FilterValue], parameters: str = "") -> bool:
        """Calls core_reportbuilder_set_filters (write).

        ``values`` like ``{"course:idnumber_operator": 1, "course:idnumber_value": "X"}`` (1 = contains), or
        ``date_range(...)`` for a date filter; they replace every value the calling user had for the
        report (``{}`` clears them) and apply to the report's filters for that user only. Sent as Moodle
        reads them: one JSON object, in the ``values`` parameter as text. Repeated on a transient failure:
        the same values set twice are the same values.
        """
        fn = "core_reportbuilder_set_filters"
        data = self._set(fn, {"reportid": reportid, "parameters": parameters,
                                "values": filter_values_json(values)})
        return bool(data)

    def filters_reset(self, reportid: int, parameters: str = "") -> bool:
        """Calls core_reportbuilder_filters_reset (write).

        Removes the calling user's filter values for the report (as ``set_filters`` with ``{}``); needs
        the right to view it. ``parameters`` (a system report's) is left out when empty. Repeated on a
        transient failure, as ``set_filters`` is.
        """
        fn = "core_reportbuilder_filters_reset"
        data = self._set(fn, {"reportid": reportid, "parameters": parameters or None})
        return bool(data)


def filter_values_json(values: Mapping[str, FilterValue]) -> str:
    """Filter values as the JSON object ``set_filters`` takes: flat, keyed by ``<filter id>_<field>``.

    Moodle decodes it with ``(array) json_decode(...)`` and reads each key it knows: a nested value or a
    key without a filter's ``entity:name`` would be ignored without a word, so they are refused here.
    """
    for key, value in values.items():
        if not isinstance(key, str) or ":" not in key or "_" not in key.partition(":")[2]:
            raise ValueError(f"filter value key {key!r} is not '<entity>:<name>_<field>'")
        if not isinstance(value, str | int | float) or (isinstance(value, float) and value != value):
            raise ValueError(f"filter value {key!r} must be text or a number, not {type(value).__name__}")
    return json.dumps(dict(values), ensure_ascii=False)


def timestamp(moment: datetime | int) -> int:
    """A Unix timestamp from an aware datetime, a naive one taken as UTC, or an int."""
    if isinstance(moment, datetime):
        return int((moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp())
    return int(moment)


def date_range(identifier: str, since: datetime | int | None = None,
               until: datetime | int | None = None) -> dict[str, int]:
    """The values of date filter ``identifier`` (``completion:timecompleted``) for a range of time.

    Moodle keeps a row whose date is ``>= since`` (a start only), ``< until`` (an end only), or between
    both included; a row without the date (NULL) is never kept. Either bound must be after 1970: Moodle
    reads 0 as "no bound".
    """
    start = timestamp(since) if since is not None else 0
    end = timestamp(until) if until is not None else 0
    if start < 0 or end < 0 or (since is not None and start == 0) or (until is not None and end == 0):
        raise ValueError("a date filter's bounds must be after 1 January 1970")
    if not start and not end:
        raise ValueError("a date range needs a start or an end")
    return {f"{identifier}_operator": DATE_RANGE, f"{identifier}_from": start, f"{identifier}_to": end}


def _unwrap(groups: Any) -> Any:
    if not isinstance(groups, list):
        return groups
    return [group.get("optiongroup") if isinstance(group, dict) and "optiongroup" in group else group
            for group in groups]


def report_yes(value: str | None) -> bool | None:
    """A report's Yes/No cell: True, False, or None when empty (no completion record at all)."""
    if value is None or not value.strip():
        return None
    return value.strip().lower() in ("yes", "1", "true")


_DATE_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%d %B %Y, %I:%M %p", "%A, %d %B %Y")


def parse_report_datetime(value: str | None, tz: tzinfo = UTC) -> datetime | None:
    """Reads an English ``strftimedatetime`` cell (``Friday, 27 November 2026, 8:22 PM``) in the token
    user's timezone ``tz``; None for an empty cell. Other languages raise ``ValueError``."""
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(f"not a Moodle date: {value!r}")


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def format_report_datetime(moment: datetime) -> str:
    """What Moodle's English ``userdate`` with ``strftimedaydatetime`` shows for ``moment`` (in its own
    timezone): ``Friday, 27 November 2026, 8:22 PM``, without leading zeros on day and hour."""
    hour = moment.hour % 12 or 12
    return (f"{_DAYS[moment.weekday()]}, {moment.day} {_MONTHS[moment.month - 1]} {moment.year}, "
            f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}")


def read_report_datetime(value: str | None, tz: tzinfo = UTC) -> datetime | None:
    """A date cell read only where it is certain: it must be Moodle's English day-and-time format AND
    print back to exactly the same text (so a customised date format, another language, or a weekday
    that does not match the date gives None, and the caller asks Moodle for the exact time instead).
    Empty cells give None too. Hundreds of thousands of cells a harvest: no ``strptime`` here."""
    if value is None:
        return None
    text = " ".join(value.split())
    match = _DAY_DATETIME.fullmatch(text)
    if match is None:
        return None
    _weekday, day, month, year, hour, minute, half = match.groups()
    number = _MONTH_NUMBERS.get(month)
    hour12 = int(hour)
    if number is None or not 1 <= hour12 <= 12:
        return None
    try:
        moment = datetime(int(year), number, int(day), hour12 % 12 + (12 if half == "PM" else 0),
                          int(minute), tzinfo=tz)
    except ValueError:
        return None
    return moment if format_report_datetime(moment) == text else None


_FILTER_FIELD = re.compile(r'name="(\w+:\w+?)_operator"')
_DAY_DATETIME = re.compile(r"([A-Z][a-z]+), (\d{1,2}) ([A-Z][a-z]+) (\d{4}), (\d{1,2}):(\d{2}) (AM|PM)")
_MONTH_NUMBERS = {name: index + 1 for index, name in enumerate(_MONTHS)}


@dataclass(frozen=True)
class _ListAnswer:
    reports: tuple[Report, ...]


@dataclass(frozen=True)
class _Row:
    columns: tuple[str | None, ...]


@dataclass(frozen=True)
class _Data:
    headers: tuple[str, ...]
    rows: tuple[_Row, ...]
    totalrowcount: int


@dataclass(frozen=True)
class _RetrieveAnswer:
    details: Report
    data: _Data
