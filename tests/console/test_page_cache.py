"""The dashboard's and reports' numbers are kept while the data stands and recomputed as soon as a
harvest (or anything else that moves them) writes."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import select, update

from plugin_service.db import session_scope
from plugin_service.models import LearningRecordRow, utcnow
from plugin_service.services.read_models.dashboard import dashboard
from plugin_service.services.read_models.reports import ReportFilters, report

from ..harvest.world import Year


def test_a_harvest_that_changes_a_record_changes_the_pages(harvested: tuple[Year, Flask]) -> None:
    year, _app = harvested
    with session_scope(year.database_url) as session:
        before = dashboard(session, 2026)
        again = dashboard(session, 2026)
        assert again.statuses == before.statuses
        first = report(session, ReportFilters(2026, "tier"))
        one = session.scalar(select(LearningRecordRow).where(LearningRecordRow.year == 2026,
                                                             LearningRecordRow.status == "behind").limit(1))
        assert one is not None
        # What a harvest does when a cadre finishes: a new status, computed now.
        session.execute(update(LearningRecordRow).where(LearningRecordRow.id == one.id)
                        .values(status="complete", computed_at=utcnow() + dt.timedelta(seconds=1)))
        session.commit()
        after = dashboard(session, 2026)
        assert after.statuses["behind"] == before.statuses["behind"] - 1
        assert after.statuses["complete"] == before.statuses["complete"] + 1
        moved = report(session, ReportFilters(2026, "tier"))
        assert moved.total.complete == first.total.complete + 1
        session.execute(update(LearningRecordRow).where(LearningRecordRow.id == one.id)
                        .values(status="behind", computed_at=utcnow() + dt.timedelta(seconds=2)))
        session.commit()
