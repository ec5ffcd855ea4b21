"""A real Celery worker on a real Redis applies stored plans, as it does in production.

The worker is ``celery -A plugin_service.worker worker`` in its own process, configured only through
``CADRE_*`` variables like a deployment; it reaches the fake Moodle this test serves over loopback.
What it proves: the tasks run inside the Flask app context, report PROGRESS while they run, return the
run's counts, write nothing the second time, and the beat job queues the plans whose period is under
way. Each test claims a Redis database of its own (its ``celery`` queue, results and bindings), so
parallel runs and anything else on that Redis never meet.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
import redis
from celery import Celery
from celery.result import AsyncResult
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select

from moodle_bridge.fake import RunningFake, fixed, serve, stock_site
from moodle_bridge.fake.seed import seed_course_library
from plugin_service import create_app
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import AuditLog, ProvisionRun
from plugin_service.services.provisioning.provision import check_inputs, store_inputs
from plugin_service.tasks import apply_due_plans, apply_plan

from ..conftest import TOKEN
from .expected import EXAMPLES, expected
from .moodle_snapshot import cadre_users, duplicates, snapshot, write_calls
from .processes import child_env, started, wait_until

pytestmark = pytest.mark.integration

REDIS_URL = urlsplit(os.environ.get("CADRE_TEST_REDIS", "redis://127.0.0.1:6379"))
REDIS_HOST, REDIS_PORT = REDIS_URL.hostname or "127.0.0.1", REDIS_URL.port or 6379
CLAIM_KEY = "cadre-test:claimed-by"
CELERY = str(Path(sys.executable).parent / "celery")
QUEUE = "celery"  # where ``delay`` sends every task, the beat job's own too; the claimed database is ours
TASK_TIMEOUT = 120.0


def _redis(db: int = 0) -> redis.Redis:
    """A client that says at once when Redis is not there (redis-py retries with backoff by default)."""
    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=5, socket_connect_timeout=2,
                       retry=Retry(NoBackoff(), 0))


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the worker test must run there)")
    pytest.skip(reason)


@pytest.fixture
def redis_db() -> Iterator[int]:
    """A Redis database number (15 down to 1) that was empty when this test claimed it, flushed after."""
    probe = _redis()
    try:
        probe.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    finally:
        probe.close()
    claim = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    for db in range(15, 0, -1):
        client = _redis(db)
        try:
            if client.set(CLAIM_KEY, claim, nx=True, ex=3600):
                if client.dbsize() == 1:
                    break
                client.delete(CLAIM_KEY)  # someone's data lives here without a claim: leave it alone
        except redis.ResponseError:  # a Redis configured with fewer databases
            pass
        client.close()
    else:
        _unavailable("no empty Redis database among 1-15 to claim for the worker test")
    try:
        yield db
    finally:
        if client.get(CLAIM_KEY) == claim.encode():
            client.flushdb()
        client.close()


@pytest.fixture
def library_fake() -> Iterator[RunningFake]:
    """The content team's library of template courses, with a little latency so PROGRESS is seen."""
    site = stock_site(tokens={"wsbot": TOKEN})
    seed_course_library(site)
    with serve(site, latency=fixed(10)) as running:
        yield running


@dataclass
class Worker:
    """The running worker and the test's own handle on the same broker and result backend."""

    process: subprocess.Popen[Any]
    log: Path
    celery: Celery
    settings: Settings

    def log_tail(self) -> str:
        return self.log.read_text("utf-8", errors="replace")[-4000:]

    def wait(self, result: AsyncResult, *, timeout: float = TASK_TIMEOUT,
             on_state: Callable[[str, Any], None] | None = None) -> Any:
        """The task's return value; fails with the worker's log if the worker dies or the task fails."""
        deadline = time.monotonic() + timeout
        while not result.ready():
            if on_state is not None:
                meta = result.backend.get_task_meta(result.id)  # state and info read together
                on_state(meta["status"], meta["result"])
            assert self.process.poll() is None, f"the worker died:\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"task {result.id} still {result.state}:\n{self.log_tail()}"
            time.sleep(0.01)
        assert result.successful(), f"task {result.id} {result.state}: {result.info!r}\n{self.log_tail()}"
        return result.get(timeout=5)


@pytest.fixture
def worker(redis_db: int, library_fake: RunningFake, database_url: str, tmp_path: Path) -> Iterator[Worker]:
    """``celery -A plugin_service.worker worker`` as deployed (solo pool), stopped at the end."""
    upgrade(database_url)
    broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}"
    settings = Settings(moodle_url=library_fake.url, moodle_token=TOKEN, database_url=database_url,
                        secret_key="test-" + secrets.token_hex(8), broker_url=broker,
                        moodle_batch_size=50, documents_dir=str(tmp_path / "documents"))
    env = child_env(CADRE_SECRET_KEY=settings.secret_key, CADRE_BROKER_URL=broker,
                    CADRE_DATABASE_URL=database_url, CADRE_MOODLE_URL=library_fake.url,
                    CADRE_MOODLE_TOKEN=TOKEN, CADRE_MOODLE_BATCH_SIZE="50",
                    CADRE_DOCUMENTS_DIR=settings.documents_dir)
    yield from run_worker(settings, env, tmp_path / "worker.log")


def run_worker(settings: Settings, env: dict[str, str], log: Path) -> Iterator[Worker]:
    """``celery -A plugin_service.worker worker`` (solo pool) configured by ``env``, until the caller is
    done with it; ``settings`` are the test's own handle on the same broker."""
    command = [CELERY, "-A", "plugin_service.worker", "worker", "--pool=solo", "--concurrency=1",
               "-Q", QUEUE, "--hostname", f"cadre-test-{secrets.token_hex(4)}@%h", "--without-gossip",
               "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    celery: Celery = create_app(settings).extensions["celery"]
    try:
        with log.open("w") as output, started(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                              grace=15) as process:
            running = Worker(process, log, celery, settings)
            wait_until(lambda: process.poll() is not None or re.search(r"\bready\.", log.read_text()),
                       timeout=60, what="the worker to be ready", every=0.05)
            assert process.poll() is None, f"the worker did not start:\n{running.log_tail()}"
            yield running
    finally:
        celery.close()


def sample_texts() -> tuple[str, bytes]:
    return (EXAMPLES / "plan-2026.yaml").read_text("utf-8"), (EXAMPLES / "roster-2026.csv").read_bytes()


def store(database_url: str, plan_text: str, roster: bytes,
          plan_name: str = "plan-2026.yaml") -> tuple[int, int]:
    """Keeps a plan and roster the way the console's upload does; returns their ids."""
    inputs = check_inputs(plan_text, plan_name, roster, "roster-2026.csv")
    with session_scope(database_url) as session:
        plan_row, roster_row = store_inputs(session, inputs)
        return plan_row.id, roster_row.id


def plan_for_year(year: int, *, covering: dt.date | None = None) -> str:
    """The sample plan moved to ``year`` (its names and dates too), its period stretched to include
    ``covering`` if given."""
    text = sample_texts()[0].replace("2026", str(year))
    if covering is not None:
        start = min(dt.date(year, 3, 1), covering)
        end = max(dt.date(year, 12, 15), covering)
        text, replaced = re.subn(r"^period: .*$", f"period: {{start: {start}, end: {end}}}", text, count=1,
                                 flags=re.MULTILINE)
        assert replaced == 1
    return text


def test_the_worker_applies_a_stored_plan_reporting_progress_then_writes_nothing(
        worker: Worker, library_fake: RunningFake) -> None:
    plan_text, roster = sample_texts()
    plan_id, roster_id = store(worker.settings.database_url, plan_text, roster)
    task = worker.celery.tasks[apply_plan.name]
    result = task.delay(plan_id, roster_id)
    seen: list[tuple[str, Any]] = []

    def note(state: str, info: Any) -> None:
        if not seen or seen[-1] != (state, info):
            seen.append((state, info))

    value = worker.wait(result, on_state=note)

    want = expected(2026)
    assert value["counts"] == {
        "create_category": 1, "create_user": len(want["users"]), "create_class": len(want["classes"]),
        "copy_course": 10, "create_course": 1,
        "add_member": sum(len(members) for members in want["classes"].values()),
        "enrol": sum(len(roles) for roles in want["enrolments"].values())}
    total = sum(value["counts"].values())
    progress = [info for state, info in seen if state == "PROGRESS"]
    assert len(progress) >= 3, f"PROGRESS was seen {len(progress)} times: {seen}"
    assert all(info["total"] == total and 0 < info["done"] <= total for info in progress), progress
    assert [info["done"] for info in progress] == sorted(info["done"] for info in progress)
    assert {info["kind"] for info in progress} <= set(value["counts"])
    with session_scope(worker.settings.database_url) as session:
        run = session.get(ProvisionRun, value["run_id"])
        assert run is not None and run.status == "done" and run.ops_done == total

    site = library_fake.site
    got = snapshot(site, 2026)
    assert {k: v["members"] for k, v in got["classes"].items()} == want["classes"]
    assert set(got["courses"]) == want["courses"]
    assert {k: set(roles) for k, (roles, _) in got["enrolments"].items()} == want["enrolments"]
    assert want["users"] <= set(cadre_users(site))
    assert duplicates(site) == {}

    site.calls.clear()
    again = worker.wait(task.delay(plan_id, roster_id))
    assert again["counts"] == {} and again["run_id"] != value["run_id"]
    assert write_calls(site) == {}
    assert snapshot(site, 2026) == got


def test_the_beat_job_queues_the_plans_whose_period_is_under_way(worker: Worker) -> None:
    today = dt.date.today()
    _, roster = sample_texts()
    due_id, roster_id = store(worker.settings.database_url, plan_for_year(today.year, covering=today), roster,
                              f"plan-{today.year}.yaml")
    store(worker.settings.database_url, plan_for_year(today.year + 1), roster, f"plan-{today.year + 1}.yaml")

    queued = worker.wait(worker.celery.tasks[apply_due_plans.name].delay())
    assert queued == [due_id]

    # The queued apply runs on the same worker, for the plan due, with the newest roster, as "schedule".
    def finished_run() -> ProvisionRun | None:
        assert worker.process.poll() is None, f"the worker died:\n{worker.log_tail()}"
        with session_scope(worker.settings.database_url) as session:
            return session.scalar(select(ProvisionRun).where(ProvisionRun.plan_id == due_id,
                                                             ProvisionRun.status != "running"))

    run = wait_until(finished_run, timeout=TASK_TIMEOUT, what="the queued apply", every=0.05)
    assert run is not None
    assert (run.status, run.roster_id, run.year) == ("done", roster_id, today.year), worker.log_tail()
    with session_scope(worker.settings.database_url) as session:
        actors = session.scalars(select(AuditLog.actor).where(AuditLog.run_id == run.id)).all()
    assert actors and set(actors) == {"schedule"}, actors
