"""A delivery run killed while sending, as the engagement tests stage it."""

from __future__ import annotations

from sqlalchemy import select, update

from plugin_service.db import session_scope
from plugin_service.models import EngagementRun, OutboxMessage

from ..harvest.world import Year


def kill_while_sending(year: Year, run_id: int | None) -> tuple[int, int]:
    """As if run ``run_id`` had died after claiming its messages: the first half went out before it died and
    read "sending", the other half were claimed and never reached Moodle; its run record still says
    running. Returns how many went out and how many never did."""
    with session_scope(year.database_url) as session:
        rows = [(m.id, m.msgid) for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        gone, never = rows[: len(rows) // 2], rows[len(rows) // 2:]
        session.execute(update(OutboxMessage).values(status="sending", msgid=None))
        session.execute(update(EngagementRun).where(EngagementRun.id == run_id).values(status="running"))
    unsent = {msgid for _id, msgid in never}
    with year.site.lock:
        for message in [m for m in year.site.db["messages"] if m["id"] in unsent]:
            year.site.db["messages"].delete(message)
    return len(gone), len(never)
