"""Reading course grades: the course total of each cadre, from the user grade report.

One call returns every student of a course (``userid`` 0), which is what a full harvest uses; it also
tells which grade items the course has. An incremental harvest re-reads a course only for the cadres
whose grade can have changed: those whose reflection was graded, and, where the course has graded
items besides the reflection (a quiz), those whose progress changed. One call each when they are
few, the whole course in one call when they are many. (A graded item added to a course later is
known from the next full harvest.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient

from ...models import CourseProgress
from .context import YearContext

#: Above this many cadres to re-read in a course, one call for the whole course is cheaper.
WHOLE_COURSE_OVER = 40


def harvest_grades(client: MoodleClient, session: Session, context: YearContext, course_key: str,
                   cadres: set[str] | None) -> tuple[int, int, list[str] | None]:
    """Stores the course totals of ``cadres`` (None: everyone) in one course.

    Returns (users read, records changed, the course's grade items when the whole course was read).
    """
    courseid = context.courses[course_key]
    if cadres is not None and not cadres:
        return 0, 0, None
    if cadres is None or len(cadres) > WHOLE_COURSE_OVER:
        answers = [client.gradereport_user.course_totals(courseid, 0)]
    else:
        userids = [context.userid_of[no] for no in sorted(cadres) if no in context.userid_of]
        answers = client.fan_out(lambda userid: client.gradereport_user.course_totals(courseid, userid),
                                 userids)
    whole = cadres is None or len(cadres) > WHOLE_COURSE_OVER
    items = sorted(answers[0].items) if whole and answers else None
    totals: dict[str, tuple[float | None, float | None]] = {}
    users = 0
    for answer in answers:
        for userid, total in answer.by_user.items():
            users += 1
            employee_no = context.cadre_by_userid.get(userid)
            if employee_no is not None and (cadres is None or employee_no in cadres):
                totals[employee_no] = (total.graderaw, total.grademax)
    stored = session.execute(select(CourseProgress.id, CourseProgress.employee_no, CourseProgress.grade,
                                    CourseProgress.grade_max)
                             .where(CourseProgress.year == context.year,
                                    CourseProgress.course_key == course_key))
    updates: list[dict[str, Any]] = []
    for row_id, employee_no, grade, grade_max in stored:
        if employee_no in totals and totals[employee_no] != (grade, grade_max):
            new_grade, new_max = totals[employee_no]
            updates.append({"id": row_id, "grade": new_grade, "grade_max": new_max})
    if updates:
        session.execute(update(CourseProgress), updates)
    return users, len(updates), items
