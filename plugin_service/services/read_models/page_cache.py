"""The dashboard's and the reports' numbers, computed once per state of the data and kept in the process.

Those numbers move only when a harvest writes (records, reflections, discussions), a plan is applied or
the roster changes; between those, every reader of the same year, scope and filters gets the same
answer. The state is read with a handful of cheap queries (maxima of primary keys and timestamps), so a
page costs those queries and its rendering, not a scan of every record. A harvest's every checkpoint
changes the state: a page is never older than the last checkpoint.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from ...models import Cadre, HarvestRun, HarvestStep, LearningRecordRow, Membership, StoredPlan

T = TypeVar("T")
LIMIT = 256  # answers kept per process (years x scopes x filters)

_answers: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def data_state(session: Session, year: int) -> tuple[Any, ...]:
    """What changes whenever the year's numbers can: harvests and their checkpoints, the records,
    the applied plan, the memberships and the cadres."""
    run = session.execute(select(HarvestRun.id, HarvestRun.status, HarvestRun.finished_at)
                          .where(HarvestRun.year == year).order_by(HarvestRun.id.desc()).limit(1)).first()
    return (
        tuple(run) if run is not None else None,
        session.scalar(select(func.max(HarvestStep.id))),
        tuple(session.execute(select(func.count(), func.max(LearningRecordRow.computed_at))
                              .where(LearningRecordRow.year == year)).one()),
        session.scalar(select(func.max(StoredPlan.applied_at)).where(StoredPlan.year == year)),
        tuple(session.execute(select(func.count(), func.max(Membership.id))
                              .where(Membership.year == year)).one()),
        session.scalar(select(func.max(Cadre.updated_at))),
    )


def cached(session: Session, year: int, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``'s answer for ``key`` in the year's current state, from the cache when it has one."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    database = engine.url.render_as_string(hide_password=True)
    full = (key, database, year, data_state(session, year))
    with _lock:
        if full in _answers:
            _answers.move_to_end(full)
            answer: T = _answers[full]
            return answer
    answer = compute()
    with _lock:
        _answers[full] = answer
        while len(_answers) > LIMIT:
            _answers.popitem(last=False)
    return answer


def forget() -> None:
    """Empties the cache (tests that rewrite the data behind the state's back)."""
    with _lock:
        _answers.clear()
