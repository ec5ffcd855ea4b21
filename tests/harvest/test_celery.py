"""A real Celery worker on a real Redis harvests a year, as it does at night in production: the task
reports PROGRESS while it runs and returns the run's figures; the beat job queues a harvest of every
year whose plan period is under way, and of no other. The worker, its Redis database and its
configuration come from the provisioning's worker test (``CADRE_*`` variables only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from moodle_bridge.fake import RunningFake, fixed, serve
from plugin_service.db import session_scope
from plugin_service.models import HarvestRun, LearningRecordRow
from plugin_service.services.harvest.run import STEPS
from plugin_service.tasks import harvest_due_years, harvest_year

from ..provisioning import test_celery as provisioning_worker
from ..provisioning.processes import wait_until
from .world import Year, assert_matches, library_site, provision, small_roster, spread

pytestmark = pytest.mark.integration

Worker = provisioning_worker.Worker
redis_db = provisioning_worker.redis_db
worker = provisioning_worker.worker
TASK_TIMEOUT = provisioning_worker.TASK_TIMEOUT


@pytest.fixture
def library_fake() -> Iterator[RunningFake]:
    """The course library with the completion report, a little slow so that PROGRESS is seen."""
    with serve(library_site(), latency=fixed(20)) as running:
        yield running


def finished_run(worker: Worker, year: int) -> HarvestRun | None:
    assert worker.process.poll() is None, f"the worker died:\n{worker.log_tail()}"
    with session_scope(worker.settings.database_url) as session:
        run = session.scalar(select(HarvestRun).where(HarvestRun.year == year, HarvestRun.status != "running")
                             .order_by(HarvestRun.id.desc()).limit(1))
        if run is not None:
            session.expunge(run)
        return run


def test_the_worker_harvests_a_year_reporting_progress(worker: Worker, library_fake: RunningFake) -> None:
    year = provision(library_fake, worker.settings.database_url, roster=small_roster())
    spread(year)
    seen: list[tuple[str, Any]] = []

    def note(state: str, info: Any) -> None:
        if not seen or seen[-1] != (state, info):
            seen.append((state, info))

    value = worker.wait(worker.celery.tasks[harvest_year.name].delay(2026, False), on_state=note)

    assert value.keys() == {"run_id", "year", "mode", "path", "resumed", "calls", "rows", "changes",
                            "seconds"}
    assert (value["year"], value["mode"], value["path"], value["resumed"]) == (2026, "incremental", "report",
                                                                            False)
    assert value["calls"] > 0 and value["changes"] > 0
    progress = [info for state, info in seen if state == "PROGRESS"]
    assert len(progress) >= 3, f"PROGRESS was seen {len(progress)} times: {seen}"
    assert {info["step"] for info in progress} <= {*STEPS, "completion report"}, progress
    assert all(info["done"] >= 0 and (info["done"] <= info["total"] or info["total"] == 0)
               for info in progress), progress
    with session_scope(worker.settings.database_url) as session:
        run = session.get(HarvestRun, value["run_id"])
        assert run is not None and run.status == "done" and run.moodle_calls == value["calls"]
        today = dt.date.fromisoformat(run.today)
    assert_matches(year, year.truth(today), precision=60)


def test_the_beat_job_queues_a_harvest_of_the_years_under_way(worker: Worker,
                                                               library_fake: RunningFake) -> None:
    today = dt.date.today()
    due = provision(library_fake, worker.settings.database_url, roster=small_roster(),
                    plan_text=provisioning_worker.plan_for_year(today.year, covering=today))
    later = Year(library_fake, due.settings, provisioning_worker.plan_for_year(today.year + 1), due.roster,
                 {}, {})
    later.apply()

    queued = worker.wait(worker.celery.tasks[harvest_due_years.name].delay())

    assert queued == [today.year]
    run = wait_until(lambda: finished_run(worker, today.year), timeout=TASK_TIMEOUT,
                     what="the queued harvest", every=0.05)
    assert run is not None and run.status == "done", worker.log_tail()
    assert run.mode == ("full" if today.weekday() == 6 else "incremental")
    with session_scope(worker.settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(LearningRecordRow)
                              .where(LearningRecordRow.year == today.year)) == len(due.rows())
        assert session.scalars(select(HarvestRun.year)).all() == [today.year]
