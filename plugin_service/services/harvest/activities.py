"""Reading activity completion: how many of a course's tracked activities a cadre has done.

Moodle answers it one cadre and course per call, so it is read only where it can have changed (the
cadre did something in a course they have not completed: ``activities_stale``) and at most
``budget`` calls a harvest, oldest first; what the budget leaves waits for the next harvest. Course
completion, which earns the hours, never waits: it comes from the completion step.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moodle_bridge import AccessDeniedError, InvalidTokenError, MoodleClient, MoodleError, TransientError
from moodle_bridge.areas.core_completion import ActivitiesCompletion

from ...models import CourseProgress
from .context import HarvestError, YearContext

log = logging.getLogger(__name__)


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
