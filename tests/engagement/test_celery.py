"""A real Celery worker on a real Redis runs the daily engagement job of a year, as the morning beat job
does: the task returns the run's figures, the messages go out once even when the job is queued twice,
and the beat job queues the years under way. The worker, its Redis database and its configuration come
from the provisioning's worker test (``CADRE_*`` variables only)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from moodle_bridge.fake import RunningFake, serve
from plugin_service.celery_app import BEAT_SCHEDULE
from plugin_service.db import session_scope
from plugin_service.models import EngagementRun
from plugin_service.tasks import engage_due_years, engage_year

from ..harvest.world import library_site, moment, provision, small_roster
from ..provisioning import test_celery as provisioning_worker
from ..provisioning.processes import wait_until
from .calendar import below, counts

pytestmark = pytest.mark.integration

Worker = provisioning_worker.Worker
redis_db = provisioning_worker.redis_db
worker = provisioning_worker.worker
TASK_TIMEOUT = provisioning_worker.TASK_TIMEOUT


@pytest.fixture
def library_fake() -> Iterator[RunningFake]:
    with serve(library_site()) as running:
        yield running


def test_the_worker_runs_the_daily_job_once_per_message(worker: Worker, library_fake: RunningFake) -> None:
    year = provision(library_fake, worker.settings.database_url, roster=small_roster())
    day = dt.date(2026, 7, 1)
    year.at(moment(day.isoformat(), "03:00:00"))
    year.harvest("report", today=day)
    year.at(moment(day.isoformat(), "07:30:00"))
    task = worker.celery.tasks[engage_year.name]
    first, second = task.delay(2026, day.isoformat()), task.delay(2026, day.isoformat())
    values = [worker.wait(first), worker.wait(second)]

    assert {frozenset(v) for v in values} == {frozenset({"run_id", "year", "today", "counts", "calls",
                                                         "seconds"})}
    expected = below(year.truth(day), 20, frozenset(t.key for t in year.plan().tiers))
    assert counts(year, "低于本阶段应达到的 20 学时") == Counter({no: 1 for no in expected})
    assert values[0]["counts"]["sent"] > 0 and values[1]["counts"]["sent"] == 0
    assert values[0]["counts"]["topics"] == {"spring": "opened+locked"}
    # The mid-year bulletin goes with the morning's job, once, whichever of the two runs got it.
    issued = values[0]["counts"]["bulletins"]["2026-07-01"]
    assert issued > 0 and "bulletins" not in values[1]["counts"]
    assert sum(counts(year, "2026 年度干部在线学习上半年进展通报").values()) == issued
    with session_scope(worker.settings.database_url) as session:
        runs = session.scalars(select(EngagementRun).order_by(EngagementRun.id)).all()
        assert [(r.job, r.status, r.today) for r in runs] == [("daily", "done", "2026-07-01")] * 2


def test_the_beat_job_queues_the_years_under_way(worker: Worker, library_fake: RunningFake) -> None:
    assert BEAT_SCHEDULE["engagement-daily"]["task"] == engage_due_years.name
    today = dt.date.today()
    provision(library_fake, worker.settings.database_url, roster=small_roster(),
              plan_text=provisioning_worker.plan_for_year(today.year, covering=today))

    queued = worker.wait(worker.celery.tasks[engage_due_years.name].delay())

    assert queued == [today.year]

    def finished() -> EngagementRun | None:
        with session_scope(worker.settings.database_url) as session:
            run = session.scalar(select(EngagementRun).where(EngagementRun.status != "running"))
            if run is not None:
                session.expunge(run)
            return run

    run = wait_until(finished, timeout=TASK_TIMEOUT, what="the queued engagement job", every=0.05)
    in_plan = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the plan's timezone decides the day
    assert run is not None and (run.year, run.job, run.today) == (today.year, "daily", in_plan.isoformat())
