"""Which plan year offline hours of a day count for, and what today is, from the applied plans
(``rules.offline.plan_year_of``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.offline import day_problem, plan_year_of
from rules.plan_model import Plan

from ...models import StoredPlan
from ..documents.document_values import local_today, plan_of
from .errors import OfflineError


def applied_plans(session: Session) -> list[Plan]:
    """Every applied year's plan, newest year first."""
    years = session.scalars(select(StoredPlan.year).where(StoredPlan.applied_at.is_not(None)).distinct())
    plans = [plan for year in years if (plan := plan_of(session, year)) is not None]
    return sorted(plans, key=lambda plan: -plan.year)


def today(plans: list[Plan]) -> dt.date:
    """Today where the plans are (the newest plan's timezone)."""
    return local_today(plans[0]) if plans else dt.date.today()


def year_of(session: Session, day: dt.date, field: str = "day") -> int:
    """The plan year hours of ``day`` count for; OfflineError naming ``field`` when none does (yet)."""
    plans = applied_plans(session)
    problem = day_problem(day, today(plans), plans)
    if problem is not None:
        raise OfflineError(problem, field=field)
    year = plan_year_of(day, plans)
    assert year is not None  # day_problem said so
    return year
