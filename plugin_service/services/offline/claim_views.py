"""Claims as their readers see them: one claim, a cadre's own claims, the claims someone may see (filtered
and paged) or decide, and a claim's evidence file for those allowed to open it. Plain values, no ORM
objects; a claim the reader may not see is not found, as one that does not exist."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session

from rules.wording import Sentence

from ...config import Settings
from ...models import Cadre, OfflineClaim
from ..read_models.scope import reviewers_of_year
from .errors import NotFound
from .evidence import located
from .who import ADMIN, LEARNER, OFFICER, Actor, decides, sees

PER_PAGE = 50


@dataclass(frozen=True)
class ClaimView:
    id: int
    year: int
    employee_no: str
    name: str
    department: str
    training_id: int | None  # a claim for a recorded training; None: study held elsewhere
    title: str
    held_on: dt.date
    hours: float
    description: str
    evidence_name: str
    evidence_type: str
    evidence_size: int
    state: str  # submitted approved rejected
    submitted_by: str
    submitted_at: dt.datetime  # naive UTC, as stored
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None


@dataclass(frozen=True)
class ClaimFilters:
    year: int | None = None
    state: str | None = None  # submitted approved rejected
    department: str | None = None
    q: str = ""  # part of a name, an employee number's start, or part of the title


@dataclass(frozen=True)
class ClaimPage:
    rows: list[ClaimView]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class EvidenceFile:
    path: Path
    media_type: str
    download_name: str


def _view(claim: OfflineClaim, name: str, department: str) -> ClaimView:
    return ClaimView(claim.id, claim.year, claim.employee_no, name, department, claim.training_id,
                     claim.title, dt.date.fromisoformat(claim.held_on), claim.hours, claim.description,
                     claim.evidence_name, claim.evidence_type, claim.evidence_size, claim.state,
                     claim.submitted_by, claim.submitted_at, claim.decided_by, claim.decided_at, claim.reason)


def _joined() -> Select[OfflineClaim, str, str]:
    return select(OfflineClaim, Cadre.name, Cadre.department).join(
        Cadre, Cadre.employee_no == OfflineClaim.employee_no)


def claim_view(session: Session, claim_id: int, actor: Actor | None = None) -> ClaimView | None:
    """The claim, if it exists and ``actor`` (when given) sees its cadre."""
    found = session.execute(_joined().where(OfflineClaim.id == claim_id)).first()
    if found is None:
        return None
    claim, name, department = found
    if actor is not None and not sees(session, actor, claim.employee_no, claim.year):
        return None
    return _view(claim, name, department)


def cadre_claims(session: Session, employee_no: str, year: int | None = None) -> list[ClaimView]:
    """A cadre's own claims (of ``year``, or every year), newest first: what their learner's page lists."""
    query = _joined().where(OfflineClaim.employee_no == employee_no)
    if year is not None:
        query = query.where(OfflineClaim.year == year)
    return [_view(claim, name, department)
            for claim, name, department in session.execute(query.order_by(OfflineClaim.id.desc()))]


def claims(session: Session, actor: Actor, filters: ClaimFilters = ClaimFilters(), *, page: int = 1,
           per_page: int = PER_PAGE) -> ClaimPage:
    """The claims ``actor`` sees, filtered, oldest waiting first among the submitted, else newest first."""
    where = [_visible(session, actor, filters.year)]
    if filters.year is not None:
        where.append(OfflineClaim.year == filters.year)
    if filters.state:
        where.append(OfflineClaim.state == filters.state)
    if filters.department:
        where.append(Cadre.department == filters.department)
    text = filters.q.strip()
    if text:
        where.append(or_(Cadre.name.contains(text, autoescape=True),
                         func.lower(Cadre.employee_no).startswith(text.lower(), autoescape=True),
                         OfflineClaim.title.contains(text, autoescape=True)))
    counted = (select(func.count()).select_from(OfflineClaim)
               .join(Cadre, Cadre.employee_no == OfflineClaim.employee_no).where(*where))
    total = int(session.scalar(counted) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    order = (OfflineClaim.id,) if filters.state == "submitted" else (OfflineClaim.id.desc(),)
    rows = session.execute(_joined().where(*where).order_by(*order).limit(per_page)
                           .offset((page - 1) * per_page))
    return ClaimPage([_view(claim, name, department) for claim, name, department in rows], total, page, pages)


def claims_to_decide(session: Session, decider: Actor, year: int | None = None) -> list[ClaimView]:
    """The submitted claims ``decider`` may approve or reject (an officer's departments', a reviewer's
    cadres', everyone's for an admin; never their own), oldest first."""
    found = claims(session, decider, ClaimFilters(year=year, state="submitted"), per_page=10_000).rows
    return [claim for claim in found if decides(session, decider, claim.employee_no, claim.year)]


def evidence_file(session: Session, settings: Settings, claim_id: int, actor: Actor) -> EvidenceFile:
    """The claim's evidence file for someone who sees the claim; NotFound otherwise, or when the file
    is gone from the evidence folder."""
    view = claim_view(session, claim_id, actor)
    claim = session.get(OfflineClaim, claim_id) if view is not None else None
    path = located(settings, claim.evidence_path) if claim is not None else None
    if view is None or path is None:
        raise NotFound(Sentence("no claim %(id)s", id=claim_id))
    return EvidenceFile(path, view.evidence_type, view.evidence_name)


def _visible(session: Session, actor: Actor, year: int | None) -> ColumnElement[bool]:
    """The claims ``actor`` sees, as a condition: a reviewer's cadres differ from year to year."""
    if actor.role == ADMIN:
        return OfflineClaim.id.is_not(None)
    if actor.role == OFFICER:
        return Cadre.department.in_(sorted(actor.departments)) if actor.departments else false()
    if actor.role == LEARNER:
        return OfflineClaim.employee_no == (actor.employee_no or "")
    years = [year] if year is not None else list(session.scalars(select(OfflineClaim.year).distinct()))
    parts = []
    for each in years:
        cadres = reviewers_of_year(session, each).get(actor.employee_no or "", frozenset())
        if cadres:
            parts.append((OfflineClaim.year == each) & OfflineClaim.employee_no.in_(sorted(cadres)))
    return or_(*parts) if parts else false()
