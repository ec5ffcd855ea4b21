"""Plans and rosters as the companion stored them: what scheduled and queued jobs work from."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from rules.plan import load_plan
from rules.problems import InputError

from ..config import Settings
from ..db import session_scope
from ..models import StoredPlan, StoredRoster
from .provision import Inputs, check_inputs


def inputs_from_store(settings: Settings, plan_id: int, roster_id: int) -> Inputs:
    with session_scope(settings.database_url) as session:
        plan = session.get(StoredPlan, plan_id)
        roster = session.get(StoredRoster, roster_id)
        if plan is None or roster is None:
            raise LookupError(f"no stored plan {plan_id} or roster {roster_id}")
        return check_inputs(plan.text, plan.filename, roster.content, roster.filename)


def due_plans(settings: Settings, today: dt.date) -> list[tuple[int, int]]:
    """(plan id, roster id) for the newest stored plan of each year whose period includes
    ``today``, paired with the newest stored roster."""
    due = []
    with session_scope(settings.database_url) as session:
        roster_id = session.scalar(select(StoredRoster.id).order_by(StoredRoster.id.desc()).limit(1))
        if roster_id is None:
            return []
        for year in sorted(session.scalars(select(StoredPlan.year).distinct())):
            stored = session.scalar(select(StoredPlan).where(StoredPlan.year == year)
                                    .order_by(StoredPlan.id.desc()).limit(1))
            if stored is None:
                continue
            try:
                plan = load_plan(stored.text, stored.filename)
            except InputError:
                continue  # a stored plan was valid when stored; a newer rule may refuse it
            if plan.period.start <= today <= plan.period.end:
                due.append((stored.id, roster_id))
    return due
