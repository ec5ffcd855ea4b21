"""Plans and rosters as the companion stored them: what scheduled and queued jobs work from."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.plan import Plan, load_plan
from rules.problems import InputError, Problem
from rules.roster import load_roster

from ...config import Settings
from ...db import session_scope
from ...models import AuditLog, StoredPlan, StoredRoster
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
    with session_scope(settings.database_url) as session:
        roster_id = session.scalar(select(StoredRoster.id).order_by(StoredRoster.id.desc()).limit(1))
        if roster_id is None:
            return []
        return [(stored.id, roster_id) for stored, plan in newest_plans(session, applied=False)
                if plan.period.start <= today <= plan.period.end]


def due_years(settings: Settings, today: dt.date) -> list[int]:
    """The years applied to Moodle whose plan period (and a month after it, while the records are
    still being completed) includes ``today``."""
    with session_scope(settings.database_url) as session:
        return [plan.year for _stored, plan in newest_plans(session, applied=True)
                if plan.period.start <= today <= plan.period.end + dt.timedelta(days=31)]


def due_harvests(settings: Settings, today: dt.date) -> list[tuple[int, bool]]:
    """(year, full) of the harvests due ``today``: every year under way (``due_years``), read in full
    on Sundays (which catches what no learner activity signals, such as an admin's override) and
    incrementally on other days."""
    return [(year, today.weekday() == 6) for year in due_years(settings, today)]


def newest_plans(session: Session, *, applied: bool) -> Iterator[tuple[StoredPlan, Plan]]:
    """Each year's newest stored plan (or newest applied one), loaded, in year order. A plan that no
    longer loads (it was valid when stored; a newer rule may refuse it) is passed over."""
    query = select(StoredPlan.year).distinct()
    if applied:
        query = query.where(StoredPlan.applied_at.is_not(None))
    for year in sorted(session.scalars(query)):
        stored = applied_plan(session, year) if applied else session.scalar(
            select(StoredPlan).where(StoredPlan.year == year).order_by(StoredPlan.id.desc()).limit(1))
        if stored is None:
            continue
        try:
            yield stored, load_plan(stored.text, stored.filename)
        except InputError:
            continue


def applied_plan(session: Session, year: int) -> StoredPlan | None:
    """The plan last applied to Moodle for ``year``: what its courses, classes and records follow."""
    return session.scalar(select(StoredPlan)
                          .where(StoredPlan.year == year, StoredPlan.applied_at.is_not(None))
                          .order_by(StoredPlan.applied_at.desc(), StoredPlan.id.desc()).limit(1))


@dataclass(frozen=True)
class StoredRosterInfo:
    id: int
    filename: str
    sha256: str
    cadres: int
    new: bool  # False: the same file was stored before
    warnings: tuple[Problem, ...]


def store_roster(session: Session, data: bytes, filename: str, *, actor: str) -> StoredRosterInfo:
    """Stores a roster for the next apply of a plan, once per content (audited when new); raises
    ``InputError`` with every problem, having stored nothing, when it is not a valid roster."""
    roster = load_roster(data, filename)
    digest = hashlib.sha256(data).hexdigest()
    row = session.scalar(select(StoredRoster).where(StoredRoster.sha256 == digest))
    new = row is None
    if row is None:
        row = StoredRoster(filename=filename, sha256=digest, content=data, cadres=len(roster.cadres))
        session.add(row)
        session.flush()
        session.add(AuditLog(actor=actor, action="roster:upload", target=filename,
                             detail={"roster_id": row.id, "cadres": len(roster.cadres), "sha256": digest}))
    return StoredRosterInfo(row.id, row.filename, digest, row.cadres, new, roster.warnings)
