"""core_grades and gradereport_overview: the gradebook's items, direct grade writes, course totals.

``core_grades_update_grades`` writes straight into an activity's gradebook item (answer 0 = done,
1 = failed); the recorded 5.1 site ignored the ``str_feedback`` sent with it. The assignment itself
(``mod_assign_get_grades``) does not see grades written this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ProtocolError
from ..results import parse, parse_list
from ._base import Area, MoodleWarning, warnings_of

GRADE_UPDATE_OK = 0
GRADE_UPDATE_FAILED = 1


@dataclass(frozen=True)
class GradebookItem:
    """A gradebook item of a course (course total and categories left out); ``id`` is sent as text."""

    id: int
    itemname: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class GradebookItems:
    items: tuple[GradebookItem, ...]
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class NewGrade:
    """One learner's grade for ``update_grades``; ``feedback`` is sent as ``str_feedback``."""

    studentid: int
    grade: float
    feedback: str | None = None


@dataclass(frozen=True)
class GradeUpdate:
    status: int

    @property
    def ok(self) -> bool:
        return self.status == GRADE_UPDATE_OK


@dataclass(frozen=True)
class CourseGrade:
    """A course total: ``grade`` as displayed (``85.50`` or ``-``), ``rawgrade`` as stored or null."""

    courseid: int
    grade: str | None = None
    rawgrade: str | None = None
    rank: int | None = None

    @property
    def value(self) -> float | None:
        try:
            return None if self.rawgrade in (None, "") else float(self.rawgrade)
        except ValueError:
            return None


@dataclass(frozen=True)
class CourseGrades:
    grades: tuple[CourseGrade, ...]
    warnings: tuple[MoodleWarning, ...] = ()


class CoreGrades(Area):
    def get_gradeitems(self, courseid: int) -> GradebookItems:
        """Calls core_grades_get_gradeitems (read)."""
        fn = "core_grades_get_gradeitems"
        data = self._read(fn, {"courseid": courseid})
        raw = data.get("gradeItems") if isinstance(data, dict) else None
        return GradebookItems(tuple(parse_list(GradebookItem, raw, fn, "gradeItems")),
                              warnings_of(data, fn))

    def update_grades(self, *, source: str, courseid: int, component: str, activityid: int,
                      itemnumber: int = 0, grades: Sequence[NewGrade] = ()) -> GradeUpdate:
        """Calls core_grades_update_grades (write).

        ``activityid`` is the course module id; ``component`` e.g. ``mod_assign``. All grades go in one
        call: Moodle's answer is one status for the whole set, so splitting it would hide which part
        failed.
        """
        fn = "core_grades_update_grades"
        params = {
            "source": source, "courseid": courseid, "component": component, "activityid": activityid,
            "itemnumber": itemnumber,
            "grades": [{"studentid": g.studentid, "grade": g.grade, "str_feedback": g.feedback}
                       for g in grades],
        }
        data = self._write(fn, params)
        try:
            return GradeUpdate(int(data))
        except (TypeError, ValueError):
            raise ProtocolError(f"expected a status number, got {type(data).__name__}",
                                wsfunction=fn) from None


class GradereportOverview(Area):
    def get_course_grades(self, userid: int | None = None) -> CourseGrades:
        """Calls gradereport_overview_get_course_grades (read).

        The course totals of every course the user is enrolled in; ``userid`` left out means the caller.
        """
        fn = "gradereport_overview_get_course_grades"
        data = self._read(fn, {"userid": userid})
        return CourseGrades(parse(_GradesAnswer, data, fn).grades, warnings_of(data, fn))


@dataclass(frozen=True)
class _GradesAnswer:
    grades: tuple[CourseGrade, ...]
