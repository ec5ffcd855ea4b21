"""The outbox: every message to a cadre or leader goes out through here, at most once.

Sending a message in Moodle cannot be made idempotent (``FINDINGS.md``: a failed call may already have
delivered some of its messages), so the guarantee is built here:

1. A message is **enqueued** under its key (rule, period, person); a key already in the outbox is never
   added again, whoever tries (a second run, a concurrent one, a retry).
2. A run **claims** a batch (pending -> sending) in a committed transaction before calling Moodle; only
   the run that changed the status sends it.
3. The answer is recorded at once: sent (with Moodle's message id) or refused (with the reason).
4. A message left "sending" (the run died, or the call failed after Moodle may have delivered it) is
   **checked in Moodle** before anything is sent again: found among the messages the service user sent
   that person since it was claimed, it is marked sent; not found, it goes back to pending.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_message import FORMAT_PLAIN, InstantMessage, MessageDeliveryError
from moodle_bridge.errors import MoodleError
from rules.reminders import Outgoing

from ...db import session_scope
from ...models import AuditLog, EngagementRun, OutboxMessage, utcnow
from .errors import EngagementError

#: How many of a person's newest messages from the service user are searched for one in doubt.
SEARCH_DEPTH = 200
#: A message claimed outside any recorded run is in doubt only when its claim is this old: a live sender
#: records the answer within its call's timeout.
STALE_CLAIM = dt.timedelta(hours=1)
SEND = "core_message_send_instant_messages"


@dataclass
class Delivery:
    sent: int = 0
    refused: int = 0
    confirmed: int = 0  # in doubt, found delivered in Moodle
    requeued: int = 0  # in doubt, not found: sent again

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "refused": self.refused, "confirmed": self.confirmed,
                "requeued": self.requeued}

    def plus(self, other: Delivery) -> Delivery:
        """Both deliveries of one run counted together (a daily job delivers its kinds in turns)."""
        return Delivery(self.sent + other.sent, self.refused + other.refused,
                        self.confirmed + other.confirmed, self.requeued + other.requeued)


def enqueue(session: Session, year: int, messages: Sequence[Outgoing], userids: Mapping[str, int],
            run_id: int | None) -> int:
    """Adds the messages whose key is new; returns how many were added. A recipient without a Moodle
    account is recorded as skipped, so that the outbox still says who was not reached and why."""
    known: set[str] = set()
    keys = [m.key for m in messages]
    for start in range(0, len(keys), 500):
        known.update(session.scalars(select(OutboxMessage.key).where(
            OutboxMessage.key.in_(keys[start:start + 500]))))
    now = utcnow()
    rows = []
    for message in messages:
        if message.key in known:
            continue
        known.add(message.key)
        userid = userids.get(message.recipient)
        rows.append({"key": message.key, "year": year, "kind": message.kind, "source": message.source,
                     "recipient": message.recipient, "moodle_userid": userid, "text": message.text,
                     "about": list(message.about), "status": "pending" if userid else "skipped",
                     "error": None if userid else "no Moodle account for this employee number",
                     "created_at": now, "run_id": run_id})
    for start in range(0, len(rows), 1000):
        session.execute(_insert_new(session), rows[start:start + 1000])
    session.flush()
    return len(rows)


def _insert_new(session: Session) -> Any:
    """INSERT that skips a key another run added meanwhile (the unique key decides, not this run)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"])
    if dialect == "sqlite":
        return sqlite.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"])
    raise EngagementError(f"the outbox needs PostgreSQL or SQLite, not {dialect}")


def plain(text: str) -> str:
    """Text as a reader sees it, for comparing what was sent with what Moodle shows."""
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", text)))


def deliver(client: MoodleClient, database_url: str, year: int, *, sender: int, run_id: int | None,
            actor: str, progress: Callable[[int, int], None] | None = None,
            only: Iterable[str] | None = None) -> Delivery:
    """Sends the year's pending messages (or those of the kinds in ``only``) in batches."""
    delivery = Delivery()
    kinds = tuple(only) if only is not None else None
    _settle_in_doubt(client, database_url, year, sender, delivery, kinds)
    with session_scope(database_url) as session:
        total = _count_pending(session, year, kinds)
    done = 0
    while True:
        with session_scope(database_url) as session:
            batch = _claim(session, year, client.batch_size, run_id, kinds)
        if not batch:
            break
        _send(client, database_url, batch, delivery, run_id, actor, sender)
        done += len(batch)
        if progress is not None:
            progress(done, total)
    return delivery


def unsent_messages(session: Session, year: int, kinds: tuple[str, ...]) -> int:
    """How many of the year's messages of ``kinds`` are still to send or in doubt: whether a run has
    anything to ask Moodle."""
    query = select(func.count(OutboxMessage.id)).where(OutboxMessage.year == year,
                                                       OutboxMessage.status.in_(("pending", "sending")))
    return int(session.scalar(_filtered(query, kinds)) or 0)


def _filtered(query: Any, kinds: tuple[str, ...] | None) -> Any:
    return query if kinds is None else query.where(OutboxMessage.kind.in_(kinds))


def _count_pending(session: Session, year: int, kinds: tuple[str, ...] | None) -> int:
    query = select(func.count(OutboxMessage.id)).where(OutboxMessage.year == year,
                                                       OutboxMessage.status == "pending")
    return int(session.scalar(_filtered(query, kinds)) or 0)


def _claim(session: Session, year: int, size: int, run_id: int | None,
           kinds: tuple[str, ...] | None) -> list[tuple[int, int, str]]:
    """Claims up to ``size`` pending messages; returns (id, Moodle user id, text) of those this call
    moved to "sending" (another run may have claimed some of them first)."""
    query = (select(OutboxMessage.id).where(OutboxMessage.year == year, OutboxMessage.status == "pending")
             .order_by(OutboxMessage.id).limit(size))
    ids = list(session.scalars(_filtered(query, kinds)))
    if not ids:
        return []
    token = utcnow()
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
                    .values(status="sending", claimed_at=token, run_id=run_id)
                    .execution_options(synchronize_session=False))
    session.commit()
    return [(row.id, int(row.moodle_userid or 0), row.text) for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending",
                                    OutboxMessage.claimed_at == token))]


def _send(client: MoodleClient, database_url: str, batch: list[tuple[int, int, str]], delivery: Delivery,
          run_id: int | None, actor: str, sender: int) -> None:
    messages = [InstantMessage(userid, text, textformat=FORMAT_PLAIN, clientmsgid=f"outbox-{rowid}")
                for rowid, userid, text in batch]
    ids = {f"outbox-{rowid}": rowid for rowid, _u, _t in batch}
    failure: MessageDeliveryError | None = None
    try:
        results = client.core_message.send_instant_messages(messages, sender=sender)
    except MessageDeliveryError as exc:
        failure, results = exc, list(exc.results)
    now = utcnow()
    with session_scope(database_url) as session:
        sent = [{"id": ids[r.clientmsgid or ""], "status": "sent", "msgid": r.msgid, "sent_at": now,
                 "error": None} for r in results if r.sent]
        refused = [{"id": ids[r.clientmsgid or ""], "status": "refused",
                    "error": (r.errormessage or "refused")[:2000]} for r in results if not r.sent]
        for rows in (sent, refused):
            if rows:  # one executemany by primary key per kind of answer
                session.execute(update(OutboxMessage), rows)
        delivery.sent += len(sent)
        delivery.refused += len(refused)
        if failure is not None:
            not_sent = [ids[m.clientmsgid or ""] for m in failure.not_sent if m.clientmsgid in ids]
            if not_sent:
                session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(not_sent))
                                .values(status="pending", claimed_at=None))
        session.add(AuditLog(actor=actor, action=f"moodle:{SEND}", target=f"{len(batch)} messages",
                             outcome="ok" if failure is None else "unknown",
                             detail={"engagement_run": run_id, "messages": [rowid for rowid, _u, _t in batch],
                                     "sent": sum(1 for r in results if r.sent),
                                     "refused": sum(1 for r in results if not r.sent),
                                     "in_doubt": len(failure.in_doubt) if failure is not None else 0,
                                     "error": failure.cause.message if failure is not None else None}))
    if failure is not None:
        raise EngagementError(
            f"sending messages failed ({failure.cause.errorcode or failure.cause.message}): "
            f"{len(failure.in_doubt)} may have been delivered and will be checked in Moodle before the "
            f"next run sends anything; {len(failure.not_sent)} were not sent and stay queued") from failure


def _settle_in_doubt(client: MoodleClient, database_url: str, year: int, sender: int, delivery: Delivery,
                     kinds: tuple[str, ...] | None) -> None:
    """Decides every message left "sending" by a run that ended (its run is no longer running, or no
    run recorded it and its claim is stale): delivered, or to send again. A message a live run is
    sending is left to that run."""
    with session_scope(database_url) as session:
        ended = select(EngagementRun.id).where(EngagementRun.status != "running")
        query = (select(OutboxMessage.id, OutboxMessage.moodle_userid, OutboxMessage.text)
                 .where(OutboxMessage.year == year, OutboxMessage.status == "sending",
                        or_(OutboxMessage.run_id.in_(ended),
                            OutboxMessage.run_id.is_(None)
                            & (OutboxMessage.claimed_at < utcnow() - STALE_CLAIM))))
        stuck = list(session.execute(_filtered(query, kinds)))
    for rowid, userid, text in stuck:
        with session_scope(database_url) as session:
            known = {msgid for msgid in session.scalars(select(OutboxMessage.msgid).where(
                OutboxMessage.moodle_userid == userid, OutboxMessage.msgid.is_not(None),
                OutboxMessage.id != rowid)) if msgid is not None}
        try:
            found = _find_sent(client, int(userid or 0), sender, text, known)
        except MoodleError as exc:
            raise EngagementError(
                f"message {rowid} may or may not have been delivered, and Moodle's messages cannot be "
                f"read to check ({exc.errorcode or exc.message}); nothing more is sent until this "
                "works again") from exc
        with session_scope(database_url) as session:
            row = session.get(OutboxMessage, rowid)
            assert row is not None
            if found is not None:
                row.status, row.msgid, row.sent_at, row.error = "sent", found, utcnow(), None
                delivery.confirmed += 1
            else:
                row.status, row.claimed_at = "pending", None
                delivery.requeued += 1


def _find_sent(client: MoodleClient, userid: int, sender: int, text: str, known: set[int]) -> int | None:
    """Moodle's id of a message ``sender`` sent ``userid`` with ``text`` that no other outbox message
    accounts for (the texts hold the rule's date and the person's numbers: two messages of different
    keys practically never read the same, and if they did, each would still be matched to one)."""
    wanted = plain(text)
    for seen, message in enumerate(client.core_message.iter_messages(userid, useridfrom=sender,
                                                                     newestfirst=True, page_size=50)):
        if seen >= SEARCH_DEPTH:
            return None
        same = plain(message.text) == wanted or plain(message.fullmessage) == wanted
        if same and message.id not in known:
            return message.id
    return None
