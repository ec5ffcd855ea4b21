"""Trainings as their readers see them: the year's trainings (filtered, paged) with how many of their
attendees the reader sees, one training with those attendees, and a cadre's offline hours of a year with
their source. Every console role sees the trainings themselves (a lecture's name and day are no one's
personal data); attendees only within the reader's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from rules.wording import Sentence

from ...models import Cadre, LearningRecordRow, OfflineAttendance, OfflineClaim, OfflineTraining
from .errors import NotFound
from .who import ADMIN, Actor, acts_for, scope_for

PER_PAGE = 50


@dataclass(frozen=True)
class TrainingLine:
    id: int
    year: int
    name: str
    held_on: dt.date
    hours: float
    organiser: str
    attendees: int  # of the reader's scope
    attendees_total: int
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TrainingPage:
    rows: list[TrainingLine]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Attendee:
    employee_no: str
    name: str
    department: str
    recorded_by: str
    recorded_at: dt.datetime
    claim_id: int | None  # recorded by approving this claim
    removable: bool  # the reader may remove it


@dataclass(frozen=True)
class TrainingDetail:
    training: TrainingLine
    attendees: list[Attendee]  # of the reader's scope, by department and employee number
    hidden: int  # attendees outside the reader's scope
    deletable: bool
    claims: int  # claims referring to it


@dataclass(frozen=True)
class OfflineLine:
    """One source of a cadre's offline hours, as their record counted it."""

    source: str  # "training:<id>" or "claim:<id>"
    kind: str  # training claim
    ref: int
    title: str
    on: dt.date
    hours: float


@dataclass(frozen=True)
class CadreOffline:
    """A cadre's offline hours of a year: what their record counts (``lines``, earned and counted, the
    cap) and their claims."""

    lines: list[OfflineLine]
    earned: float
    counted: float
    cap: float | None  # None: the plan counts none for the cadre's tier
    computed: bool  # the record has offline hours in it (computed since they were introduced)


def trainings(session: Session, actor: Actor, year: int, *, q: str = "", page: int = 1,
              per_page: int = PER_PAGE) -> TrainingPage:
    """The year's trainings, newest day first, with their attendee counts."""
    where = [OfflineTraining.year == year]
    if q.strip():
        where.append(OfflineTraining.name.contains(q.strip(), autoescape=True))
    total = int(session.scalar(select(func.count()).select_from(OfflineTraining).where(*where)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    chosen = list(session.scalars(select(OfflineTraining).where(*where)
                                  .order_by(OfflineTraining.held_on.desc(), OfflineTraining.id.desc())
                                  .limit(per_page).offset((page - 1) * per_page)))
    counts = _counts(session, actor, year, [t.id for t in chosen])
    return TrainingPage([_line(t, *counts.get(t.id, (0, 0))) for t in chosen], total, page, pages)


def training(session: Session, actor: Actor, training_id: int) -> TrainingDetail:
    found = session.get(OfflineTraining, training_id)
    if found is None:
        raise NotFound(Sentence("no training %(id)s", id=training_id))
    scope = scope_for(session, actor, found.year)
    rows = session.execute(select(OfflineAttendance, Cadre.name, Cadre.department)
                           .join(Cadre, Cadre.employee_no == OfflineAttendance.employee_no, isouter=True)
                           .where(OfflineAttendance.training_id == found.id)
                           .order_by(Cadre.department, OfflineAttendance.employee_no)).all()
    visible = [(a, name or "", department or "") for a, name, department in rows
               if department is not None and scope.allows(department, a.employee_no)]
    attendees = [Attendee(a.employee_no, name, department, a.recorded_by, a.recorded_at, a.claim_id,
                          actor.records and a.claim_id is None) for a, name, department in visible]
    claims = int(session.scalar(select(func.count()).select_from(OfflineClaim)
                                .where(OfflineClaim.training_id == found.id)) or 0)
    deletable = not claims and (actor.role == ADMIN or (
        found.created_by == actor.name and len(visible) == len(rows)
        and all(acts_for(session, actor, a.employee_no, found.year) for a, _n, _d in visible)))
    return TrainingDetail(_line(found, len(visible), len(rows)), attendees, len(rows) - len(visible),
                          deletable, claims)


def cadre_offline(session: Session, employee_no: str, year: int) -> CadreOffline:
    """The offline hours of the cadre's stored record of ``year``, each with its source."""
    row = session.scalar(select(LearningRecordRow).where(LearningRecordRow.year == year,
                                                        LearningRecordRow.employee_no == employee_no))
    return offline_of(row.detail if row is not None else {})


def offline_of(detail: Mapping[str, Any]) -> CadreOffline:
    """The offline hours a stored record's ``detail`` counts, each with its source."""
    lines = []
    for item in detail.get("offline", []):
        kind, _sep, ref = str(item["source"]).partition(":")
        lines.append(OfflineLine(item["source"], kind, int(ref) if ref.isdigit() else 0, item["title"],
                                 dt.date.fromisoformat(item["on"]), float(item["hours"])))
    return CadreOffline(lines, float(detail.get("offline_hours_earned") or 0.0),
                        float(detail.get("offline_hours") or 0.0), detail.get("offline_max"),
                        "offline_hours" in detail)


def _line(training: OfflineTraining, visible: int, total: int) -> TrainingLine:
    return TrainingLine(training.id, training.year, training.name, dt.date.fromisoformat(training.held_on),
                        training.hours, training.organiser, visible, total, training.created_by,
                        training.created_at)


def _counts(session: Session, actor: Actor, year: int, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Training id -> (attendees the reader sees, attendees in all)."""
    if not ids:
        return {}
    scope = scope_for(session, actor, year)
    seen = func.sum(case((scope.condition(), 1), else_=0))
    query = (select(OfflineAttendance.training_id, seen, func.count())
             .join(Cadre, Cadre.employee_no == OfflineAttendance.employee_no, isouter=True)
             .where(OfflineAttendance.training_id.in_(ids)).group_by(OfflineAttendance.training_id))
    return {training_id: (int(visible or 0), int(total))
            for training_id, visible, total in session.execute(query)}
