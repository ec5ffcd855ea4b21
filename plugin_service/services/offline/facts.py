"""The offline hours approved for cadres, as the facts their learning records are computed from: each
recorded attendance at a training of the year ("training:<id>"), and each approved claim of the year for
study held elsewhere ("claim:<id>"). A claim for a recorded training becomes an attendance when it is
approved, so its hours are the training's and count once."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.hours import OfflineHours

from ...models import OfflineAttendance, OfflineClaim, OfflineTraining


def offline_facts(session: Session, year: int, only: Collection[str] | None = None
                  ) -> dict[str, list[OfflineHours]]:
    """Employee number -> their approved offline hours of ``year`` (``only`` some cadres: None for all)."""
    found: dict[str, list[OfflineHours]] = defaultdict(list)
    attended = (select(OfflineAttendance.employee_no, OfflineTraining.id, OfflineTraining.name,
                       OfflineTraining.held_on, OfflineTraining.hours)
                .join(OfflineTraining, OfflineTraining.id == OfflineAttendance.training_id)
                .where(OfflineTraining.year == year))
    claimed = (select(OfflineClaim.employee_no, OfflineClaim.id, OfflineClaim.title, OfflineClaim.held_on,
                      OfflineClaim.hours)
               .where(OfflineClaim.year == year, OfflineClaim.state == "approved",
                      OfflineClaim.training_id.is_(None)))
    if only is not None:
        attended = attended.where(OfflineAttendance.employee_no.in_(sorted(only)))
        claimed = claimed.where(OfflineClaim.employee_no.in_(sorted(only)))
    for kind, query in (("training", attended), ("claim", claimed)):
        for employee_no, key, title, held_on, hours in session.execute(query):
            found[employee_no].append(OfflineHours(f"{kind}:{key}", title, dt.date.fromisoformat(held_on),
                                                   float(hours)))
    return dict(found)


def offline_changed_since(session: Session, year: int, since: dt.datetime) -> set[str]:
    """Cadres whose offline hours of ``year`` were recorded or decided since ``since`` (removals compute
    their records at once and leave nothing to find)."""
    changed = set(session.scalars(
        select(OfflineAttendance.employee_no)
        .join(OfflineTraining, OfflineTraining.id == OfflineAttendance.training_id)
        .where(OfflineTraining.year == year, OfflineAttendance.recorded_at >= since)))
    changed.update(session.scalars(select(OfflineClaim.employee_no).where(
        OfflineClaim.year == year, OfflineClaim.decided_at.is_not(None), OfflineClaim.decided_at >= since)))
    return changed
