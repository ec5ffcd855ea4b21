"""The dashboard: the year's progress at a glance, in a fixed handful of queries whatever its size.

Completion by tier and by department, how far the cadres are towards their hours, the reflections that
wait for a reviewer, the discussions, and the last harvest with its age (a stale harvest makes every
other number stale: the page says so).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ...models import Cadre, DiscussionRecord, LearningRecordRow, ReflectionRecord, StoredPlan, utcnow
from ..documents.document_values import plan_of
from .page_cache import cached
from .reports import (
    Bin,
    GroupLine,
    ReportFilters,
    by_status,
    distribution,
    excluded_count,
    group_lines,
    last_harvest,
    total_of,
)
from .scope import EVERYTHING, Scope

#: A harvest older than this is stale: the nightly one did not run.
STALE_AFTER = dt.timedelta(hours=36)


@dataclass(frozen=True)
class HarvestInfo:
    id: int
    status: str
    mode: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    age: dt.timedelta | None  # since it finished
    stale: bool


@dataclass(frozen=True)
class DiscussionLine:
    key: str
    title: str
    opens: dt.date
    closes: dt.date
    posts: int  # in the window
    cadres: int  # who posted in the window


@dataclass
class Dashboard:
    year: int | None
    years: list[int]
    plan_title: str = ""
    period: tuple[dt.date, dt.date] | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    total: GroupLine = field(default_factory=lambda: GroupLine("", ""))
    excluded: int = 0
    by_tier: list[GroupLine] = field(default_factory=list)
    by_department: list[GroupLine] = field(default_factory=list)
    distribution: list[Bin] = field(default_factory=list)
    reflections_awaiting: int = 0
    reflections_submitted: int = 0
    discussions: list[DiscussionLine] = field(default_factory=list)
    harvest: HarvestInfo | None = None


def applied_years(session: Session) -> list[int]:
    return list(session.scalars(select(StoredPlan.year).where(StoredPlan.applied_at.is_not(None))
                                .distinct().order_by(StoredPlan.year.desc())))


def dashboard(session: Session, year: int | None, scope: Scope = EVERYTHING,
              now: dt.datetime | None = None) -> Dashboard:
    """The year's dashboard for ``scope``; the numbers come from ``page_cache`` while the data stands,
    the harvest's age is always reckoned afresh."""
    if year is None:
        return Dashboard(None, applied_years(session))
    found = cached(session, year, ("dashboard", scope), lambda: _dashboard(session, year, scope, now))
    if found.harvest is not None:
        moment = now or utcnow()
        age = moment - found.harvest.finished_at if found.harvest.finished_at else None
        found = dataclasses.replace(found, harvest=dataclasses.replace(
            found.harvest, age=age, stale=age is None or age > STALE_AFTER))
    return found


def _dashboard(session: Session, year: int, scope: Scope, now: dt.datetime | None) -> Dashboard:
    years = applied_years(session)
    plan = plan_of(session, year)
    found = Dashboard(year, years)
    if plan is not None:
        found.plan_title, found.period = plan.title, (plan.period.start, plan.period.end)
    found.by_tier = group_lines(session, plan, ReportFilters(year, "tier"), scope, detailed=False)
    found.by_department = group_lines(session, plan, ReportFilters(year, "department"), scope,
                                      detailed=False)
    found.total = total_of(found.by_tier)
    found.statuses = by_status(found.by_tier)
    found.excluded = excluded_count(session, ReportFilters(year), scope)
    found.distribution = distribution(session, ReportFilters(year), scope)
    reflections = (
        select(func.count().filter(ReflectionRecord.grade.is_(None)), func.count())
        .select_from(ReflectionRecord)
        .join(LearningRecordRow, and_(LearningRecordRow.year == ReflectionRecord.year,
                                      LearningRecordRow.employee_no == ReflectionRecord.employee_no))
        .where(ReflectionRecord.year == year, ReflectionRecord.status == "submitted",
               LearningRecordRow.tier_key.is_not(None)))
    discussions = (select(DiscussionRecord.discussion_key, func.sum(DiscussionRecord.posts_in_window),
                          func.count().filter(DiscussionRecord.posts_in_window > 0))
                   .where(DiscussionRecord.year == year).group_by(DiscussionRecord.discussion_key))
    if not scope.everything:
        reflections = reflections.join(Cadre, Cadre.employee_no == ReflectionRecord.employee_no).where(
            scope.condition())
        discussions = discussions.join(Cadre, Cadre.employee_no == DiscussionRecord.employee_no).where(
            scope.condition())
    awaiting, submitted = session.execute(reflections).one()
    found.reflections_awaiting, found.reflections_submitted = int(awaiting or 0), int(submitted or 0)
    posts = {key: (int(total or 0), int(people or 0))
             for key, total, people in session.execute(discussions)}
    if plan is not None:
        found.discussions = [DiscussionLine(d.key, d.title, d.opens, d.closes, *posts.get(d.key, (0, 0)))
                             for d in plan.discussions]
    run = last_harvest(session, year)
    if run is not None:
        moment = now or utcnow()
        age = moment - run.finished_at if run.finished_at else None
        found.harvest = HarvestInfo(run.id, run.status, run.mode, run.started_at, run.finished_at, age,
                                    stale=age is None or age > STALE_AFTER)
    return found
