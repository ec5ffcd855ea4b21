"""Bulletins (通报) as the console and ``cadre bulletin`` read them: the plan's schedule, the history of
what was issued (date, whom it reached, how its messages fared), and one bulletin's ranked tables.

A bulletin is circulated in full to the school leaders, and each department head is told their own
department's line; so the full tables are for those who see everything (an admin, a school leader who
reviews), and a department officer is shown the lines of their departments only, each with its rank
among all, as its head was told — not the tiers or the school's total, which span other departments.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.bulletins import Ranked, Standing
from rules.reminders import GRACE_DAYS

from ...models import Bulletin, Cadre, EngagementFiring, OutboxMessage
from ..documents.document_values import plan_of
from ..engagement.bulletin_store import find, load_standing

KIND = "bulletin"


@dataclass(frozen=True)
class Delivery:
    """How a bulletin's messages fared, by outbox status."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return self.counts.get("sent", 0)

    @property
    def waiting(self) -> int:
        return self.counts.get("pending", 0) + self.counts.get("sending", 0)

    @property
    def unreached(self) -> int:
        return self.counts.get("refused", 0) + self.counts.get("skipped", 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def state(self) -> str:
        """delivered (every message sent), sending (some still to go), incomplete (all tried, some could
        not be delivered), none (nobody to tell)."""
        if not self.total:
            return "none"
        if self.waiting:
            return "sending"
        return "incomplete" if self.unreached else "delivered"


@dataclass(frozen=True)
class Issued:
    """One bulletin as issued."""

    id: int
    year: int
    key: str
    title: str
    due_on: dt.date
    issued_on: dt.date
    records_for: dt.date
    audiences: tuple[str, ...]
    readers: dict[str, int]
    messages: int
    delivery: Delivery
    has_pdf: bool
    has_xlsx: bool
    previous: str | None  # the key of the bulletin its changes are against
    headless: tuple[str, ...]  # departments no head in post was found for


@dataclass(frozen=True)
class Scheduled:
    """A bulletin of the plan that was not issued: when it is due and what became of it."""

    key: str
    on: dt.date
    title: str
    audiences: tuple[str, ...]
    state: str  # future, due (goes with the next daily job), expired (its grace passed unsent)


@dataclass(frozen=True)
class Unreached:
    employee_no: str
    name: str
    status: str  # refused skipped
    reason: str


@dataclass(frozen=True)
class BulletinView:
    issued: Issued
    departments: tuple[Ranked, ...]
    tiers: tuple[Ranked, ...]
    total: Standing | None  # None when the reader may not see the school's total
    out_of: int  # departments ranked in all
    full: bool  # the reader sees the whole bulletin
    unreached: tuple[Unreached, ...] = ()


def _deliveries(session: Session, year: int) -> dict[str, Delivery]:
    counts: dict[str, Counter[str]] = {}
    for source, status, count in session.execute(
            select(OutboxMessage.source, OutboxMessage.status, func.count())
            .where(OutboxMessage.year == year, OutboxMessage.kind == KIND)
            .group_by(OutboxMessage.source, OutboxMessage.status)):
        counts.setdefault(source, Counter())[status] = int(count)
    return {source: Delivery(dict(found)) for source, found in counts.items()}


def _issued(row: Bulletin, delivery: Delivery, keys: dict[int, str]) -> Issued:
    headless = tuple(department for note in row.notes or [] if isinstance(note, dict)
                     for department in note.get("headless", []))
    return Issued(row.id, row.year, row.key, row.title, dt.date.fromisoformat(row.due_on),
                  dt.date.fromisoformat(row.issued_on), dt.date.fromisoformat(row.records_for),
                  tuple(row.audiences), dict(row.readers), row.messages, delivery,
                  row.pdf_sha256 is not None, row.xlsx_sha256 is not None,
                  keys.get(row.previous_id) if row.previous_id is not None else None, headless)


def history(session: Session, year: int) -> list[Issued]:
    """The year's bulletins, newest first."""
    rows = list(session.scalars(select(Bulletin).where(Bulletin.year == year).order_by(Bulletin.id.desc())))
    keys = {row.id: row.key for row in rows}
    deliveries = _deliveries(session, year)
    return [_issued(row, deliveries.get(row.key, Delivery()), keys) for row in rows]


def schedule(session: Session, year: int, today: dt.date | None = None) -> list[Scheduled]:
    """The plan's bulletins not issued yet (or expired), in date order; ``today`` defaults to today in the
    plan's timezone."""
    plan = plan_of(session, year)
    if plan is None:
        return []
    today = today or dt.datetime.now(ZoneInfo(plan.moodle.timezone)).date()
    issued = set(session.scalars(select(Bulletin.key).where(Bulletin.year == year)))
    expired = set(session.scalars(select(EngagementFiring.key).where(
        EngagementFiring.year == year, EngagementFiring.kind == KIND, EngagementFiring.status == "expired")))
    found = []
    for bulletin in sorted(plan.bulletins, key=lambda b: (b.on, b.key)):
        if bulletin.key in issued:
            continue
        late = today > bulletin.on + dt.timedelta(days=GRACE_DAYS)
        state = ("expired" if bulletin.key in expired or late else "due" if bulletin.on <= today
                 else "future")
        found.append(Scheduled(bulletin.key, bulletin.on, bulletin.title, bulletin.to, state))
    return found


def issued_one(session: Session, year: int, key: str) -> Issued | None:
    row = find(session, year, key)
    if row is None:
        return None
    previous = session.get(Bulletin, row.previous_id) if row.previous_id is not None else None
    keys = {previous.id: previous.key} if previous is not None else {}
    return _issued(row, _deliveries(session, year).get(row.key, Delivery()), keys)


def view(session: Session, year: int, key: str,
         departments: frozenset[str] | None = None) -> BulletinView | None:
    """One bulletin's tables; ``departments`` limits them to those departments' lines (None: all)."""
    issued = issued_one(session, year, key)
    if issued is None:
        return None
    table = load_standing(session, issued.id)
    if departments is None:
        return BulletinView(issued, table.departments, table.tiers, table, len(table.departments), True,
                            _unreached(session, year, key))
    lines = tuple(line for line in table.departments if line.key in departments)
    return BulletinView(issued, lines, (), None, len(table.departments), False)


def _unreached(session: Session, year: int, key: str) -> tuple[Unreached, ...]:
    rows = session.execute(
        select(OutboxMessage.recipient, Cadre.name, OutboxMessage.status, OutboxMessage.error)
        .outerjoin(Cadre, Cadre.employee_no == OutboxMessage.recipient)
        .where(OutboxMessage.year == year, OutboxMessage.kind == KIND, OutboxMessage.source == key,
               OutboxMessage.status.in_(("refused", "skipped")))
        .order_by(OutboxMessage.recipient))
    return tuple(Unreached(no, name or "", status, error or "") for no, name, status, error in rows)
