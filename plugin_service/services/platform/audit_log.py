"""The audit log: what is written to it (``record``), and how the console filters it: by who, what, on
what, outcome and day, newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import AuditLog

PER_PAGE = 100
OUTCOMES = ("ok", "failed", "unknown")


def record(session: Session, actor: str, action: str, target: str, *, outcome: str = "ok",
           **detail: Any) -> AuditLog:
    """One action in the log, in the session's transaction: it stands or falls with what it records."""
    row = AuditLog(actor=actor, action=action, target=target[:255], outcome=outcome, detail=detail)
    session.add(row)
    return row


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""  # a prefix: "console:" finds every console action
    target: str = ""  # contained
    outcome: str = ""
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditLog]
    total: int
    page: int
    pages: int


def search(session: Session, filters: AuditFilters, *, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    where = []
    if filters.actor:
        where.append(AuditLog.actor.contains(filters.actor, autoescape=True))
    if filters.action:
        where.append(AuditLog.action.startswith(filters.action, autoescape=True))
    if filters.target:
        where.append(AuditLog.target.contains(filters.target, autoescape=True))
    if filters.outcome:
        where.append(AuditLog.outcome == filters.outcome)
    if filters.since:
        where.append(AuditLog.at >= dt.datetime.combine(filters.since, dt.time()))
    if filters.until:
        where.append(AuditLog.at < dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time()))
    total = int(session.scalar(select(func.count()).select_from(AuditLog).where(*where)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = list(session.scalars(select(AuditLog).where(*where).order_by(AuditLog.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)))
    return AuditPage(rows, total, page, pages)


def actions(session: Session) -> list[str]:
    """The kinds of action recorded, for the filter's choices."""
    return list(session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))
