"""Reading activity completion: how many of a course's tracked activities a cadre has done.

Moodle answers it one cadre and course per call, so it is read only where it can have changed (the
cadre did something in a course they have not completed: ``activities_stale``) and at most
``budget`` calls a harvest, oldest first; what the budget leaves waits for the next harvest. Course
completion, which earns the hours, never waits: it comes from the completion step.

That a cadre did something is seen in the completion step (the course was accessed, or the report
shows it started) and in their reflection (``mark_worked``): a reflection submitted, written as a
draft or graded is work in the course even where Moodle shows no start (its "time started" waits for
cron) and no access (the assignment opened from a link, or submitted for them).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from moodle_bridge import AccessDeniedError, InvalidTokenError, MoodleClient, MoodleError, TransientError
from moodle_bridge.areas.core_completion import ActivitiesCompletion

from ...models import CourseProgress, ReflectionRecord, utcnow
from .context import HarvestError, YearContext

log = logging.getLogger(__name__)


def mark_worked(session: Session, context: YearContext, since: datetime | None) -> int:
    """Marks as started, with its activity detail to read, each course a cadre has not completed and
    whose reflection shows work: submitted, a draft or graded. ``since``: only reflections that changed
    from then on (this run's); None (a full harvest): every such reflection whose course is still shown
    as not started or whose activity detail was never read. Returns how many courses were marked.

    The course starts when the reflection was first submitted or graded. The run is not marked on the
    row: no record depends on it (the reflection that changed already has its record computed again)."""
    progress, reflection = CourseProgress, ReflectionRecord
    query = (select(progress.id, progress.started_at, progress.activities_stale, reflection.submitted_at,
                    reflection.graded_at)
             .join(reflection, and_(reflection.year == progress.year,
                                    reflection.employee_no == progress.employee_no,
                                    reflection.course_key == progress.course_key))
             .where(progress.year == context.year, progress.completed_at.is_(None),
                    or_(reflection.status != "new", reflection.grade.is_not(None))))
    if since is not None:
        query = query.where(reflection.updated_at >= since)
    else:
        query = query.where(or_(progress.started_at.is_(None), progress.activities_total.is_(None)))
    updates: list[dict[str, Any]] = []
    for row_id, started_at, stale, submitted_at, graded_at in session.execute(query):
        moments = [moment for moment in (submitted_at, graded_at) if moment is not None]
        values: dict[str, Any] = {}
        if started_at is None:
            values["started_at"] = min(moments) if moments else utcnow()
        if not stale:
            values["activities_stale"] = True
        if values:
            updates.append({"id": row_id, **values})
    if updates:
        session.execute(update(CourseProgress), updates)
    return len(updates)


def harvest_activities(client: MoodleClient, session: Session, context: YearContext,
                       budget: int) -> tuple[int, int, int]:
    """Returns (cadre-courses asked, records changed, still waiting)."""
    stale = session.execute(
        select(CourseProgress.id, CourseProgress.employee_no, CourseProgress.course_key)
        .where(CourseProgress.year == context.year, CourseProgress.activities_stale.is_(True))
        .order_by(CourseProgress.updated_at, CourseProgress.id)).all()
    work = [(row_id, context.courses[course], context.userid_of[no]) for row_id, no, course in stale
            if course in context.courses and no in context.userid_of][:max(budget, 0)]

    def one(item: tuple[int, int, int]) -> ActivitiesCompletion | MoodleError:
        try:
            return client.core_completion.get_activities_completion_status(item[1], item[2])
        except (TransientError, InvalidTokenError, AccessDeniedError):
            raise  # the site or the token: the next harvest tries again
        except MoodleError as exc:
            # This cadre and course cannot be read (not enrolled any more, deleted meanwhile): the
            # detail is left as it was rather than failing every harvest on it.
            log.info("activity completion of user %s in course %s: %s", item[2], item[1], exc)
            return exc

    try:
        answers = client.fan_out(one, work)
    except MoodleError as exc:
        raise HarvestError(f"activity completion could not be read: {exc}") from exc
    updates: list[dict[str, Any]] = []
    for (row_id, _courseid, _userid), answer in zip(work, answers, strict=True):
        if isinstance(answer, MoodleError):
            updates.append({"id": row_id, "activities_stale": False})
            continue
        tracked = [status for status in answer.statuses if status.tracking]
        updates.append({"id": row_id, "activities_stale": False,
                        "activities_done": sum(1 for status in tracked if status.complete),
                        "activities_total": len(tracked)})
    if updates:
        session.execute(update(CourseProgress), updates)
    return len(work), len(updates), len(stale) - len(work)
