"""How fast the console answers with a year of 10,000 harvested cadres: the dashboard, the report by
department and a cadre's page, each asked by 8 signed-in clients at once, served as deployed.

Prints one JSON object (``--json``) with, for each page (``dashboard``, ``department_report``,
``cadre_page``):
- ``<page>_p50_ms`` / ``<page>_p95_ms`` / ``<page>_max_ms``: the time from sending a request to the end of
  its answer, over ``--requests`` requests per page (target: p95 under 300 ms);
- ``<page>_sql_queries``: the SQL statements one request of the page runs (sign-in check included),
  counted in this process through Flask's test client with a SQLAlchemy ``before_cursor_execute``
  listener, and ``<page>_bytes``: the size of its answer;
- ``clients``, ``requests_per_page``, ``errors`` (answers other than 200), ``wall_s`` and
  ``requests_per_s`` over the whole load; ``server``, ``web_workers`` and ``web_threads``.
The console is served by the web process of the deployed process set (``plugin_service.deploy``: gunicorn
with ``plugin_service.gunicorn_conf`` and its defaults for this machine), configured through ``CADRE_*``
variables, on loopback; the clients are threads of this process, each with its own ``requests.Session``
signed in as an admin (who sees everything: the largest pages). Pages are asked in a shuffled order, each
client its own. The cadre pages are of cadres drawn over the whole year. Set-up (the sample plan stored as
applied, the cadres, their progress, reflections, posts and records as a harvest leaves them, a finished
harvest run, the admin) is timed apart (``setup_s``). ``--quick`` is the test's smoke run (300 cadres, 8
requests per page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

YEAR = 2026
PASSWORD = "benchmark password 2026"
STARTUP_SECONDS = 180.0
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = {"dashboard": f"/?year={YEAR}", "department_report": f"/reports/?year={YEAR}&group_by=department",
         "cadre_page": "/cadres/{employee_no}?year=" + str(YEAR)}


def setup(database_url: str, cadres: int) -> list[str]:
    """The harvested year, a finished harvest run and the admin; returns the cadres' employee numbers."""
    from plugin_service.db import session_scope
    from plugin_service.models import HarvestRun
    from plugin_service.services.platform.console_users import create_user
    from tests.documents.seed import seed_year

    seeded = seed_year(database_url, year=YEAR, cadres=cadres, prefix="C")
    with session_scope(database_url) as session:
        finished = dt.datetime(YEAR, 12, 30, 19, 0)
        session.add(HarvestRun(year=YEAR, mode="full", path="report", status="done", today=str(seeded.today),
                               started_at=finished - dt.timedelta(minutes=4), finished_at=finished,
                               moodle_calls=412, rows_read=cadres * len(seeded.plan.courses),
                               changes=cadres, seconds=240.0))
        create_user(session, "bench-admin", PASSWORD, role="admin", actor="benchmark")
    return sorted(seeded.profiles)


def environment(database_url: str, workdir: Path, bind: str = "") -> dict[str, str]:
    """The settings the console runs with: this environment without the developer's ``CADRE_*`` (but
with the web process's tuning, ``CADRE_WEB_WORKERS`` and ``CADRE_WEB_THREADS``, where set)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CADRE_") or key in ("CADRE_WEB_WORKERS", "CADRE_WEB_THREADS")}
    env.update(CADRE_DATABASE_URL=database_url, CADRE_SECRET_KEY="console-benchmark",
               CADRE_BROKER_URL="memory://", CADRE_RATELIMIT_STORAGE="memory://",
               CADRE_DOCUMENTS_DIR=str(workdir / "documents"), CADRE_LOG_FORMAT="json")
    if bind:
        env["CADRE_WEB_BIND"] = bind
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(database_url: str, workdir: Path, log: Any) -> tuple[subprocess.Popen[bytes], str]:
    """The deployed web process (gunicorn) on a free loopback port; returns it and its base URL once it
    answers ``/healthz``."""
    from plugin_service import deploy

    port = free_port()
    program, *args = deploy.BY_NAME["web"].command
    process = subprocess.Popen([str(Path(sys.executable).parent / program), *args], cwd=workdir,
                               env=environment(database_url, workdir, f"127.0.0.1:{port}"), stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn stopped (exit {process.returncode}); see {log.name}")
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    return process, base
            except requests.RequestException:
                pass  # not listening yet, or its workers still starting
            time.sleep(0.2)
        raise SystemExit(f"the console did not answer within {STARTUP_SECONDS:g} s")
    except BaseException:
        stop(process)
        raise


def stop(process: subprocess.Popen[bytes]) -> None:
    """Asks gunicorn to stop (it lets its workers finish their requests), kills it if it has not."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sql_statements(database_url: str, workdir: Path, numbers: list[str]) -> dict[str, int]:
    """The SQL statements one (warm) request of each page runs, sign-in check included."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from plugin_service import create_app
    from plugin_service.config import load_settings

    app = create_app(load_settings(environment(database_url, workdir)))
    client = app.test_client()
    found = TOKEN_FIELD.search(client.get("/login").get_data(as_text=True))
    assert found, "no CSRF token on the sign-in page"
    client.post("/login", data={"username": "bench-admin", "password": PASSWORD,
                                "csrf_token": found.group(1)})
    counted = [0]

    def count(*_args: Any) -> None:
        counted[0] += 1

    out = {}
    for page, path in PAGES.items():
        url = path.format(employee_no=numbers[0])
        client.get(url)  # warm: templates compiled, the page cache filled
        event.listen(Engine, "before_cursor_execute", count)
        try:
            counted[0] = 0
            answer = client.get(url)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: HTTP {answer.status_code} in the test client")
        out[page] = counted[0]
    return out


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    found = TOKEN_FIELD.search(session.get(f"{base}/login", timeout=30).text)
    assert found, "no CSRF token on the sign-in page"
    answer = session.post(f"{base}/login", data={"username": "bench-admin", "password": PASSWORD,
                                                  "csrf_token": found.group(1)},
                          allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise SystemExit(f"signing in failed: HTTP {answer.status_code}")
    return session


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def load(base: str, numbers: list[str], clients: int, per_page: int) -> dict[str, Any]:
    """``per_page`` requests of each page spread over ``clients`` signed-in clients asking at once."""
    sessions = [signed_in(base) for _ in range(clients)]
    rng = random.Random(2026)
    work: list[list[tuple[str, str]]] = [[] for _ in range(clients)]
    for page, path in PAGES.items():
        for i in range(per_page):
            url = path.format(employee_no=rng.choice(numbers)) if "{" in path else path
            work[i % clients].append((page, url))
    for items in work:
        rng.shuffle(items)
    for session in sessions:  # warm: templates compiled, connections open, caches filled
        for path in PAGES.values():
            session.get(base + path.format(employee_no=numbers[0]), timeout=60)
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    sizes: dict[str, list[int]] = {page: [] for page in PAGES}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(session: requests.Session, items: list[tuple[str, str]]) -> None:
        start.wait()
        for page, url in items:
            began = time.perf_counter()
            answer = session.get(base + url, timeout=60)
            elapsed = (time.perf_counter() - began) * 1000.0
            with lock:
                times[page].append(elapsed)
                sizes[page].append(len(answer.content))
                if answer.status_code != 200:
                    errors.append(f"{url}: HTTP {answer.status_code}")

    threads = [threading.Thread(target=client, args=(s, w)) for s, w in zip(sessions, work, strict=True)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    out: dict[str, Any] = {"clients": clients, "requests_per_page": per_page, "errors": len(errors),
                           "error_examples": errors[:5], "wall_s": round(wall, 2),
                           "requests_per_s": round(sum(map(len, times.values())) / wall, 1)}
    for page in PAGES:
        out.update({f"{page}_p50_ms": round(statistics.median(times[page]), 1),
                    f"{page}_p95_ms": round(percentile(times[page], 0.95), 1),
                    f"{page}_max_ms": round(max(times[page]), 1),
                    f"{page}_bytes": round(statistics.mean(sizes[page]))})
    return out


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database_url = f"sqlite:///{workdir / 'console.sqlite3'}"
    out: dict[str, Any] = {"cadres": args.cadres}
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with context.Pool(1) as pool:  # the set-up's memory stays out of this process
        numbers: list[str] = pool.apply(setup, (database_url, args.cadres))
    out["setup_s"] = round(time.perf_counter() - started, 2)
    from plugin_service import gunicorn_conf

    out.update(server="gunicorn", web_workers=gunicorn_conf.workers, web_threads=gunicorn_conf.threads)
    with (workdir / "gunicorn.log").open("wb") as log:
        server, base = serve(database_url, workdir, log)
        try:
            out.update(load(base, numbers, args.clients, args.requests))
        finally:
            stop(server)
    for page, count in sql_statements(database_url, workdir, numbers).items():
        out[f"{page}_sql_queries"] = count
    out["target_ms"] = 300
    out["met"] = all(out[f"{page}_p95_ms"] < 300 for page in PAGES)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cadres", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 cadres, 8 requests a page")
    parser.add_argument("--keep", help="keep the database in this directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.cadres, args.requests = 300, 8
    with tempfile.TemporaryDirectory(prefix="cadre-console-") as temp:
        workdir = Path(args.keep) if args.keep else Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = run(args, workdir)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        for key, value in results.items():
            print(f"{key:>28}: {value}")
    return 0 if results["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
