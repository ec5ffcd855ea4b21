"""The real process set, as deployed (``plugin_service.deploy``: the commands and settings
``docker/compose.yaml`` runs), on this machine's PostgreSQL and Redis: the schema upgraded by ``cadre db
upgrade``, gunicorn serving the console, a Celery worker and beat. An admin made with ``cadre user add``
signs in over HTTP and queues a harvest of the year (provisioned beforehand in a fake Moodle on
loopback); the worker harvests it; ``/readyz`` then answers ready and ``/metrics`` counts the harvest
and the worker's Moodle calls; every log line is JSON and holds no secret; everything stops cleanly."""

from __future__ import annotations

import json
import re
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from moodle_bridge.fake import RunningFake, serve
from plugin_service import deploy
from plugin_service.db import session_scope
from plugin_service.models import HarvestRun

from ..conftest import TOKEN, _postgres_database
from ..harvest.world import library_site, provision, small_roster, spread
from ..provisioning import test_celery as provisioning_worker
from ..provisioning.processes import child_env, started, wait_until

pytestmark = pytest.mark.integration

redis_db = provisioning_worker.redis_db
BIN = Path(sys.executable).parent
PASSWORD = "a long console password 2026"
METRICS_TOKEN = "metrics-" + secrets.token_hex(8)
SECRET_KEY = "process-set-" + secrets.token_hex(16)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATE = re.compile(r'id="job-state" data-state="(\w+)"')
STARTUP_SECONDS = 120.0
HARVEST_SECONDS = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command(name: str) -> list[str]:
    """The deployed command of a process, with its program from this virtual environment."""
    program, *args = deploy.BY_NAME[name].command
    return [str(BIN / program), *args]


@contextmanager
def postgres() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def moodle() -> Iterator[RunningFake]:
    with serve(library_site()) as running:
        yield running


class ProcessSet:
    """The running processes, their logs, and the web process's address."""

    def __init__(self, workdir: Path, env: dict[str, str], base: str, database_url: str) -> None:
        self.workdir, self.env, self.base, self.database_url = workdir, env, base, database_url
        self.processes: dict[str, subprocess.Popen[Any]] = {}

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def tail(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name).read_text('utf-8', errors='replace')[-3000:]}"
                         for name in self.processes)

    def alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} stopped ({process.returncode}):\n{self.tail()}"

    def run(self, name: str, *extra: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command(name), *extra] if extra else command(name), env=self.env,
                              cwd=self.workdir, input=stdin, capture_output=True, text=True, timeout=120,
                              check=False)


@pytest.fixture
def process_set(redis_db: int, moodle: RunningFake, tmp_path: Path) -> Iterator[ProcessSet]:
    port = free_port()
    with ExitStack() as stack:
        database_url = stack.enter_context(postgres())
        env = child_env(**deploy.environment(
            CADRE_DATABASE_URL=database_url,
            CADRE_BROKER_URL=f"redis://{provisioning_worker.REDIS_HOST}:{provisioning_worker.REDIS_PORT}/{redis_db}",
            CADRE_SECRET_KEY=SECRET_KEY, CADRE_MOODLE_URL=moodle.url, CADRE_MOODLE_TOKEN=TOKEN,
            CADRE_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", CADRE_TRUSTED_PROXIES="0",
            CADRE_METRICS_TOKEN=METRICS_TOKEN, CADRE_WEB_BIND=f"127.0.0.1:{port}"))
        (tmp_path / "instance").mkdir()
        running = ProcessSet(tmp_path, env, f"http://127.0.0.1:{port}", database_url)
        migrated = running.run("migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert "schema upgraded from nothing" in migrated.stdout
        for name in ("web", "worker", "beat"):
            output = stack.enter_context(running.log(name).open("w"))
            running.processes[name] = stack.enter_context(started(
                command(name), env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT, grace=30))
        yield running


def sign_in(base: str) -> requests.Session:
    session = requests.Session()
    token = CSRF.search(session.get(f"{base}/login", timeout=30).text)
    assert token, "no CSRF token on the sign-in page"
    answer = session.post(f"{base}/login", data={"username": "admin", "password": PASSWORD,
                                                  "csrf_token": token.group(1)}, allow_redirects=False,
                          timeout=30)
    assert answer.status_code == 302, answer.text[:500]
    return session


def metrics(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
    assert answer.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def test_the_process_set_serves_harvests_reports_and_stops(process_set: ProcessSet,
                                                           moodle: RunningFake) -> None:
    running = process_set
    database_url = running.database_url
    year = provision(moodle, database_url, roster=small_roster())
    spread(year)
    made = subprocess.run([str(BIN / "cadre"), "user", "add", "admin", "--role", "admin", "--password-stdin"],
                          env=running.env, cwd=running.workdir, input=PASSWORD + "\n", capture_output=True,
                          text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr

    def web_up() -> bool:
        running.alive()
        try:
            return requests.get(f"{running.base}/healthz", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(web_up, timeout=STARTUP_SECONDS, what="gunicorn to answer /healthz", every=0.2)
    wait_until(lambda: re.search(r"\bready\.", running.log("worker").read_text("utf-8")),
               timeout=STARTUP_SECONDS, what="the worker to be ready", every=0.2)
    assert "beat: Starting" in running.log("beat").read_text("utf-8") or wait_until(
        lambda: "beat: Starting" in running.log("beat").read_text("utf-8"), timeout=STARTUP_SECONDS,
        what="beat to start", every=0.2)

    console = sign_in(running.base)
    jobs_page = console.get(f"{running.base}/jobs/", timeout=30)
    token = CSRF.search(jobs_page.text)
    assert jobs_page.status_code == 200 and token
    queued = console.post(f"{running.base}/jobs/start", data={"kind": "harvest", "year": "2026", "full": "0",
                                                              "csrf_token": token.group(1)},
                          allow_redirects=False, timeout=30)
    assert queued.status_code == 302 and "/jobs/requests/" in queued.headers["Location"], queued.text[:500]
    request_page = running.base + queued.headers["Location"]

    def finished() -> str | None:
        running.alive()
        state = STATE.search(console.get(request_page, timeout=30).text)
        assert state, "the job page shows no state"
        return state.group(1) if state.group(1) in ("done", "failed") else None

    outcome = wait_until(finished, timeout=HARVEST_SECONDS, what="the harvest", every=0.5)
    assert outcome == "done", running.tail()
    with session_scope(database_url) as session:
        run = session.scalars(select(HarvestRun)).one()
        assert (run.year, run.status) == (2026, "done") and run.moodle_calls > 0

    ready = requests.get(f"{running.base}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready" and ready.headers["Cache-Control"] == "no-store"
    assert requests.get(f"{running.base}/metrics", timeout=30).status_code == 401
    found = metrics(running.base)
    assert found[("cadre_jobs", (("kind", "harvest"), ("state", "done")))] == 1
    assert 0 <= found[("cadre_harvest_lag_seconds", (("year", "2026"),))] < HARVEST_SECONDS + 60
    worker_calls = found[("cadre_moodle_calls_total", (("function", "core_reportbuilder_retrieve_report"),))]
    assert worker_calls >= 1  # made by the worker process, reported by a web process

    for name in ("beat", "worker", "web"):
        process = running.processes[name]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, f"{name} did not stop cleanly:\n{running.tail()}"

    for name in ("web", "worker", "beat"):
        text = running.log(name).read_text("utf-8")
        for secret in (TOKEN, SECRET_KEY, METRICS_TOKEN, PASSWORD):
            assert secret not in text, f"a secret in the {name} log"
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines), name
    worker_lines = [json.loads(line) for line in running.log("worker").read_text("utf-8").splitlines()
                    if line.startswith("{")]
    assert any(line.get("job") == "cadre.harvest_year" for line in worker_lines), worker_lines[-5:]
