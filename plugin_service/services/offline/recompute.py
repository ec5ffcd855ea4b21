"""Computing cadres' learning records again when their offline hours change (a training recorded, an
attendee removed, a claim approved), so that the console, the reports and the documents show it at once
rather than after the next harvest.

Each record is judged for the day it was last judged for (the harvest's day, so that it stays in step
with the year's other records and the reminders that wait for them); a cadre without a record yet is
judged for the day of the year's newest records, or today in the plan's timezone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import LearningRecordRow, Membership
from ..documents.document_values import local_today, plan_of
from ..harvest.context import YearContext
from ..harvest.records import compute_for
from ..provisioning.stored import applied_plan


def recompute(session: Session, year: int, employee_nos: Collection[str]) -> int:
    """Computes the records of the cadres of ``year`` among ``employee_nos`` again; returns how many
    changed. Nothing happens for a year no plan was applied for, or for cadres not in its membership."""
    stored, plan = applied_plan(session, year), plan_of(session, year)
    wanted = sorted(set(employee_nos))
    if stored is None or plan is None or not wanted:
        return 0
    members = {m.employee_no: m for m in session.scalars(
        select(Membership).where(Membership.year == year, Membership.employee_no.in_(wanted)))}
    if not members:
        return 0
    # Only what computing a record reads: the plan, the members and the timezone (no Moodle ids).
    context = YearContext(plan, stored.id, "", {}, {}, {}, {}, {}, members, {})
    judged = dict(session.execute(select(LearningRecordRow.employee_no, LearningRecordRow.computed_for)
                                  .where(LearningRecordRow.year == year,
                                         LearningRecordRow.employee_no.in_(list(members)))).all())
    newest = session.scalar(select(func.max(LearningRecordRow.computed_for))
                            .where(LearningRecordRow.year == year))
    fallback = newest or local_today(plan).isoformat()
    by_day: dict[str, set[str]] = defaultdict(set)
    for employee_no in members:
        by_day[judged.get(employee_no) or fallback].add(employee_no)
    return sum(compute_for(session, context, cadres, dt.date.fromisoformat(day))
               for day, cadres in sorted(by_day.items()))
