"""gradereport_user: the user grade report, for one learner or every student of a course at once.

``get_grade_items`` with ``userid=0`` returns every student (not teachers) of the course in one call:
the bulk way to read grades. In ``get_grades_table`` the graded item's cell is HTML-wrapped on 5.1 (an
action menu around the number) and plain (``85.50``) on 4.5: read it with ``GradeCell.text``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..errors import ProtocolError
from ..results import parse
from ._base import Area, MoodleWarning, warnings_of

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_MENU = re.compile(r"<div class=\"[^\"]*action-menu.*", re.S)


@dataclass(frozen=True)
class GradeItem:
    """One grade item for one user. ``graderaw`` is null until graded; the course total has
    ``itemtype`` ``course`` and no ``cmid``; ``weightraw`` only comes for items the user has a grade in."""

    id: int
    itemtype: str
    itemname: str | None = None
    itemmodule: str | None = None
    iteminstance: int | None = None
    itemnumber: int | None = None
    idnumber: str | None = None
    categoryid: int | None = None
    cmid: int | None = None
    locked: bool | None = None
    weightraw: float | None = None
    weightformatted: str | None = None
    graderaw: float | None = None
    gradedatesubmitted: int | None = None
    gradedategraded: int | None = None
    gradehiddenbydate: bool | None = None
    gradeneedsupdate: bool | None = None
    gradeishidden: bool | None = None
    gradeislocked: bool | None = None
    gradeisoverridden: bool | None = None
    gradeformatted: str | None = None
    grademin: float | None = None
    grademax: float | None = None
    rangeformatted: str | None = None
    percentageformatted: str | None = None
    feedback: str | None = None
    feedbackformat: int | None = None

    @property
    def is_course_total(self) -> bool:
        return self.itemtype == "course"

    @property
    def graded(self) -> bool:
        return self.graderaw is not None


@dataclass(frozen=True)
class GradeItemsForUser:
    courseid: int
    userid: int
    gradeitems: tuple[GradeItem, ...]
    courseidnumber: str | None = None
    userfullname: str = ""
    useridnumber: str | None = None
    maxdepth: int = 0

    @property
    def course_total(self) -> GradeItem | None:
        return next((item for item in self.gradeitems if item.is_course_total), None)

    def item_for_cm(self, cmid: int) -> GradeItem | None:
        return next((item for item in self.gradeitems if item.cmid == cmid), None)


@dataclass(frozen=True)
class GradeItemsReport:
    usergrades: tuple[GradeItemsForUser, ...]
    warnings: tuple[MoodleWarning, ...] = ()

    def for_user(self, userid: int) -> GradeItemsForUser | None:
        return next((user for user in self.usergrades if user.userid == userid), None)


@dataclass(frozen=True)
class GradeCell:
    content: str | None = None
    class_: str | None = None
    headers: str | None = None
    id: str | None = None
    colspan: int | None = None
    rowspan: int | None = None

    @property
    def text(self) -> str:
        """The cell as plain text: tags and 5.1's action menu dropped, entities decoded."""
        content = _MENU.sub("", self.content or "")
        return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", content))).strip()


@dataclass(frozen=True)
class GradesTableRow:
    parentcategories: tuple[int, ...] = ()
    itemname: GradeCell | None = None
    leader: GradeCell | None = None
    weight: GradeCell | None = None
    grade: GradeCell | None = None
    range: GradeCell | None = None
    percentage: GradeCell | None = None
    lettergrade: GradeCell | None = None
    rank: GradeCell | None = None
    average: GradeCell | None = None
    feedback: GradeCell | None = None
    contributiontocoursetotal: GradeCell | None = None


@dataclass(frozen=True)
class GradesTable:
    courseid: int
    userid: int
    tabledata: tuple[GradesTableRow, ...]
    userfullname: str = ""
    maxdepth: int = 0


@dataclass(frozen=True)
class GradesTables:
    tables: tuple[GradesTable, ...]
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class CourseTotal:
    """One user's course total: ``graderaw`` None until something is graded."""

    userid: int
    graderaw: float | None
    grademax: float | None
    gradedategraded: int | None = None


@dataclass(frozen=True)
class CourseTotals:
    """The course totals by user id, and the course's other grade items as ``itemtype/module/instance``
    (``mod/assign/12``, ``manual//``): what a course total can change with."""

    by_user: dict[int, CourseTotal]
    items: frozenset[str]


class GradereportUser(Area):
    def get_grade_items(self, courseid: int, userid: int | None = None,
                        groupid: int | None = None) -> GradeItemsReport:
        """Calls gradereport_user_get_grade_items (read).

        ``userid`` 0 (or left out) reads every student of the course in one call, teachers excluded
        (needs ``moodle/grade:viewall``); ``groupid`` narrows that to a group.
        """
        fn = "gradereport_user_get_grade_items"
        data = self._read(fn, {"courseid": courseid, "userid": userid, "groupid": groupid})
        return GradeItemsReport(parse(_ItemsAnswer, data, fn).usergrades, warnings_of(data, fn))

    def course_totals(self, courseid: int, userid: int = 0) -> CourseTotals:
        """Calls gradereport_user_get_grade_items (read).

        Keeps each user's course total only, and which other grade items the course has. For every
        student of a big course (``userid`` 0) typing each grade item costs more than the call itself;
        this reads the course row of each user and checks just its fields.
        """
        fn = "gradereport_user_get_grade_items"
        data = self._read(fn, {"courseid": courseid, "userid": userid})
        users = data.get("usergrades") if isinstance(data, dict) else None
        if not isinstance(users, list):
            raise ProtocolError("the answer has no usergrades list", wsfunction=fn)
        totals: dict[int, CourseTotal] = {}
        kinds: set[str] = set()
        for user in users:
            items = user.get("gradeitems") if isinstance(user, dict) else None
            if not isinstance(items, list) or not isinstance(user.get("userid"), int):
                raise ProtocolError("a usergrades entry lacks userid or gradeitems", wsfunction=fn)
            item = None
            for entry in items:
                if not isinstance(entry, dict):
                    continue
                if entry.get("itemtype") == "course":
                    item = entry
                else:
                    kinds.add(f"{entry.get('itemtype') or ''}/{entry.get('itemmodule') or ''}/"
                              f"{entry.get('iteminstance') or ''}")
            graded = item.get("gradedategraded") if item is not None else None
            totals[user["userid"]] = CourseTotal(user["userid"], _number(item, "graderaw", fn),
                                                 _number(item, "grademax", fn),
                                                 graded if isinstance(graded, int) else None)
        return CourseTotals(totals, frozenset(kinds))

    def get_grades_table(self, courseid: int, userid: int | None = None,
                         groupid: int | None = None) -> GradesTables:
        """Calls gradereport_user_get_grades_table (read).

        Cells are HTML; ``GradeCell.text`` gives the plain value on 4.5 and 5.1 alike.
        """
        fn = "gradereport_user_get_grades_table"
        data = self._read(fn, {"courseid": courseid, "userid": userid, "groupid": groupid})
        if isinstance(data, dict):
            data = {**data, "tables": [_rename_class(table) for table in data.get("tables") or []]}
        return GradesTables(parse(_TablesAnswer, data, fn).tables, warnings_of(data, fn))


def _number(item: dict[str, object] | None, key: str, fn: str) -> float | None:
    value = item.get(key) if item is not None else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"the course total's {key} is {value!r}, not a number", wsfunction=fn)
    return float(value)


def _rename_class(table: object) -> object:
    """``class`` is a Python keyword: the cells carry it as ``class_``."""
    if not isinstance(table, dict):
        return table
    rows = []
    for row in table.get("tabledata") or []:
        if isinstance(row, dict):
            row = {key: ({("class_" if k == "class" else k): v for k, v in value.items()}
                         if isinstance(value, dict) else value) for key, value in row.items()}
        rows.append(row)
    return {**table, "tabledata": rows}


@dataclass(frozen=True)
class _ItemsAnswer:
    usergrades: tuple[GradeItemsForUser, ...]


@dataclass(frozen=True)
class _TablesAnswer:
    tables: tuple[GradesTable, ...]
