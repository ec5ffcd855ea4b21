"""Bulletins (通报): on its date, each bulletin of the plan is computed from the stored learning records,
stored with its ranked figures, and its messages are put in the outbox, once.

A bulletin fires like a reminder (``messaging``): on the first run on or after its date, within
``rules.reminders.GRACE_DAYS`` (later it is recorded as expired, not sent), and only on records computed
for the day before its date at the latest (a failed nightly harvest delays it; it never ranks stale
numbers). Its firing is an ``EngagementFiring`` of kind ``bulletin``, written in the same transaction as
the bulletin, its lines and its outbox messages: a bulletin is either wholly issued or not at all, and a
second run (or one racing this one) finds it issued and sends nothing new. Sending, and settling what a
killed run left in doubt, is the outbox's (``outbox.deliver``); writing the files is ``bulletin_files``'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules.bulletins import (
    Earlier,
    Participant,
    Recipient,
    Standing,
    audience_counts,
    bulletin_messages,
    headless,
    recipients,
    standing,
)
from rules.plan_model import Bulletin as PlannedBulletin
from rules.plan_model import Plan
from rules.reminders import Outgoing, has_expired
from rules.roster import Roster
from rules.vocabulary import LEADER_RANK

from ...models import AuditLog, Cadre, EngagementFiring, LearningRecordRow
from ...models import Bulletin as StoredBulletin
from ..read_models.scope import roster_from_store
from .bulletin_store import earlier, earlier_of, latest, store_standing
from .outbox import enqueue
from .standing import fresh_for, names_and_userids, records_day

KIND = "bulletin"
LR = LearningRecordRow


@dataclass
class BulletinFiring:
    """What happens to one bulletin of the plan today."""

    key: str
    due_on: dt.date
    title: str
    state: str  # fired, waiting (records not fresh), expired, already (issued earlier), future
    table: Standing | None = None
    readers: dict[str, int] = field(default_factory=dict)  # audience -> people it reaches
    messages: list[Outgoing] = field(default_factory=list)
    headless: list[str] = field(default_factory=list)  # ranked departments whose figures reach no head
    records_for: dt.date | None = None
    previous: str | None = None  # the key of the bulletin it is compared with
    bulletin_id: int | None = None
    note: str = ""


@dataclass
class _Inputs:
    """What the bulletins firing today are computed from; ``before`` moves on as each one is computed."""

    people: list[Participant]
    roster: Roster
    before: Earlier | None
    before_key: str | None


def participants(session: Session, plan: Plan) -> list[Participant]:
    """Every cadre taking part in the year (in a tier, not excluded), with their record as last computed."""
    query = (select(LR.employee_no, Cadre.name, Cadre.department, Cadre.rank, LR.tier_key, LR.status,
                    LR.total_hours, LR.target_hours, LR.required_hours)
             .join(Cadre, Cadre.employee_no == LR.employee_no)
             .where(LR.year == plan.year, LR.tier_key.is_not(None), LR.status != "excluded")
             .order_by(LR.employee_no))
    found = []
    for no, name, department, rank, tier_key, status, total, target, required in session.execute(query):
        key = str(tier_key)  # the query takes records with a tier only
        tier = plan.tier(key)
        found.append(Participant(no, name, department, key, status, float(total), float(target),
                                 float(required), tier.hours.required_min if tier is not None else 0.0,
                                 leader=rank == LEADER_RANK))
    return found


def _fired(session: Session, year: int) -> dict[str, EngagementFiring]:
    return {row.key: row for row in session.scalars(select(EngagementFiring).where(
        EngagementFiring.year == year, EngagementFiring.kind == KIND))}


def plan_firings(session: Session, plan: Plan, today: dt.date) -> list[BulletinFiring]:
    """What each bulletin of the plan does today, with the figures and messages of those that fire, and
    without changing anything (the dry run shows this). Bulletins firing together are compared with each
    other in date order."""
    fired = _fired(session, plan.year)
    found: list[BulletinFiring] = []
    inputs: _Inputs | None = None
    for bulletin in sorted(plan.bulletins, key=lambda b: (b.on, b.key)):
        firing = BulletinFiring(bulletin.key, bulletin.on, bulletin.title, "fired")
        earlier_row = fired.get(bulletin.key)
        if earlier_row is not None:
            firing.state = "already"
            firing.note = f"{earlier_row.status} on {earlier_row.fired_on}, {earlier_row.messages} messages"
        elif bulletin.on > today:
            firing.state = "future"
        elif has_expired(bulletin.on, today):
            firing.state = "expired"
            firing.note = f"not sent within the grace after {bulletin.on.isoformat()}"
        elif not fresh_for(session, plan.year, bulletin.on):
            day = records_day(session, plan.year)
            firing.state = "waiting"
            computed = day.isoformat() if day else "no day"
            firing.note = (f"the learning records were last computed for {computed}; "
                           "the bulletin waits for a harvest on or after "
                           f"{(bulletin.on - dt.timedelta(days=1)).isoformat()}")
        else:
            if inputs is None:
                stored = latest(session, plan.year)
                inputs = _Inputs(participants(session, plan), roster_from_store(session),
                                 earlier(session, stored.id) if stored is not None else None,
                                 stored.key if stored is not None else None)
            _compute(session, plan, bulletin, firing, inputs)
            assert firing.table is not None
            inputs.before, inputs.before_key = earlier_of(firing.table), bulletin.key
        found.append(firing)
    return found


def _compute(session: Session, plan: Plan, bulletin: PlannedBulletin, firing: BulletinFiring,
             inputs: _Inputs) -> None:
    day = records_day(session, plan.year)
    assert day is not None  # fresh records were found
    table = standing(inputs.people, {t.key: t.name for t in plan.tiers}, inputs.before)
    readers: list[Recipient] = recipients(bulletin, inputs.roster, inputs.people, table)
    firing.table, firing.records_for, firing.previous = table, day, inputs.before_key
    firing.readers = audience_counts(bulletin, readers)
    firing.messages = bulletin_messages(plan, bulletin, table, readers, inputs.people, day)
    firing.headless = headless(bulletin, table, readers)


def issue(session: Session, plan: Plan, today: dt.date, run_id: int | None,
          actor: str) -> list[BulletinFiring]:
    """Issues what is due: for each bulletin, its figures, its messages and its firing in one transaction
    (or its expiry recorded). Returns every bulletin's fate today."""
    firings = plan_firings(session, plan, today)
    _names, userids = names_and_userids(session)
    by_key = {b.key: b for b in plan.bulletins}
    for firing in firings:
        if firing.state not in ("fired", "expired"):
            continue
        added = 0
        if firing.state == "fired":
            added = _store(session, plan, by_key[firing.key], firing, userids, today, run_id, actor)
        session.add(EngagementFiring(year=plan.year, kind=KIND, key=firing.key,
                                     due_on=firing.due_on.isoformat(), fired_on=today.isoformat(),
                                     status=firing.state, messages=added, run_id=run_id))
        try:
            session.commit()
        except IntegrityError:  # issued by another run at the same moment: its bulletin stands
            session.rollback()
            firing.state, firing.bulletin_id = "already", None
            firing.note = "issued by another run at the same time"
    return firings


def _store(session: Session, plan: Plan, planned: PlannedBulletin, firing: BulletinFiring,
           userids: dict[str, int], today: dt.date, run_id: int | None, actor: str) -> int:
    """The bulletin, its lines and its messages, in the caller's transaction; returns the messages queued."""
    assert firing.table is not None and firing.records_for is not None
    previous = latest(session, plan.year)
    row = StoredBulletin(
        year=plan.year, key=firing.key, title=firing.title, due_on=firing.due_on.isoformat(),
        issued_on=today.isoformat(), records_for=firing.records_for.isoformat(), audiences=list(planned.to),
        readers=dict(firing.readers), notes=[{"headless": firing.headless}] if firing.headless else [],
        previous_id=previous.id if previous is not None else None, actor=actor, run_id=run_id)
    session.add(row)
    session.flush()
    store_standing(session, row, firing.table)
    added = enqueue(session, plan.year, firing.messages, userids, run_id)
    row.messages = added
    firing.bulletin_id = row.id
    session.add(AuditLog(actor=actor, action="bulletin:issue", target=f"{plan.year}/bulletin/{firing.key}",
                         detail={"engagement_run": run_id, "bulletin": row.id, "messages": added,
                                 "readers": dict(firing.readers),
                                 "records_for": firing.records_for.isoformat()}))
    return added
