"""Reminders (督促) and announcements (分类推送): deciding on their date who gets what, into the outbox.

Each dated item of the plan **fires once**: on the first run on or after its date (within
``rules.reminders.GRACE_DAYS``) the recipients are computed and every message is enqueued under its
key, and the firing is recorded. Reminders judge learning records, so they wait for records computed
for the day before their date at the latest (a failed nightly harvest delays them, it does not make
them judge stale numbers). An item still unfired after its grace has expired: it is recorded as such,
and the run says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules.plan_model import Plan
from rules.reminders import Outgoing, announcement_messages, has_expired, is_due, reminder_messages

from ...models import EngagementFiring
from .outbox import enqueue
from .standing import fresh_for, names_and_userids, records_day, standings


@dataclass
class Firing:
    kind: str  # reminder announcement
    key: str
    due_on: dt.date
    state: str  # fired, waiting (records not fresh), expired, already (fired earlier), future
    messages: list[Outgoing] = field(default_factory=list)
    note: str = ""


def _fired(session: Session, year: int, kind: str) -> dict[str, EngagementFiring]:
    return {row.key: row for row in session.scalars(select(EngagementFiring).where(
        EngagementFiring.year == year, EngagementFiring.kind == kind))}


def plan_firings(session: Session, plan: Plan, today: dt.date, kinds: Sequence[str]) -> list[Firing]:
    """What firing would happen today, without changing anything (the dry run shows this)."""
    found: list[Firing] = []
    cadres = None
    names: dict[str, str] = {}
    items = ([("reminder", r.key, r.on) for r in plan.reminders if "reminder" in kinds]
             + [("announcement", a.key, a.on) for a in plan.announcements if "announcement" in kinds])
    fired = {kind: _fired(session, plan.year, kind) for kind in ("reminder", "announcement")}
    for kind, key, on in sorted(items, key=lambda item: (item[2], item[0], item[1])):
        earlier = fired[kind].get(key)
        if earlier is not None:
            found.append(Firing(kind, key, on, "already",
                                note=f"{earlier.status} on {earlier.fired_on}, {earlier.messages} messages"))
            continue
        if on > today:
            found.append(Firing(kind, key, on, "future"))
            continue
        if has_expired(on, today):
            found.append(Firing(kind, key, on, "expired",
                                note=f"not sent within the grace after {on.isoformat()}"))
            continue
        assert is_due(on, today)
        if kind == "reminder" and not fresh_for(session, plan.year, on):
            day = records_day(session, plan.year)
            found.append(Firing(kind, key, on, "waiting", note=(
                f"the learning records were last computed for {day.isoformat() if day else 'no day'}; "
                f"the reminder waits for a harvest on or after {(on - dt.timedelta(days=1)).isoformat()}")))
            continue
        if cadres is None:
            cadres = standings(session, plan)
            names, _userids = names_and_userids(session)
        if kind == "reminder":
            reminder = next(r for r in plan.reminders if r.key == key)
            messages = reminder_messages(plan, reminder, cadres, names)
        else:
            announcement = next(a for a in plan.announcements if a.key == key)
            messages = announcement_messages(plan, announcement, cadres)
        found.append(Firing(kind, key, on, "fired", messages))
    return found


def fire(session: Session, plan: Plan, today: dt.date, kinds: Sequence[str],
         run_id: int | None) -> list[Firing]:
    """Fires what is due: enqueues the messages and records each firing (or expiry) in one transaction
    per item, so that an item is either wholly enqueued and recorded or not at all."""
    firings = plan_firings(session, plan, today, kinds)
    _names, userids = names_and_userids(session)
    for firing in firings:
        if firing.state not in ("fired", "expired"):
            continue
        added = 0
        if firing.state == "fired":
            added = enqueue(session, plan.year, firing.messages, userids, run_id)
        session.add(EngagementFiring(year=plan.year, kind=firing.kind, key=firing.key,
                                     due_on=firing.due_on.isoformat(), fired_on=today.isoformat(),
                                     status=firing.state, messages=added, run_id=run_id))
        try:
            session.commit()
        except IntegrityError:  # fired by another run at the same moment: its messages stand
            session.rollback()
            firing.state, firing.note = "already", "fired by another run at the same time"
    return firings
