"""How fast the console answers with a year of 10,000 harvested cadres: the dashboard, the report by
department and a cadre's page, each asked by 8 signed-in clients at once.

Prints one JSON object (``--json``) with, for each page (``dashboard``, ``department_report``,
``cadre_page``):
- ``<page>_p50_ms`` / ``<page>_p95_ms`` / ``<page>_max_ms``: the time from sending a request to the end of
  its answer, over ``--requests`` requests per page (target: p95 under 300 ms);
- ``<page>_sql_queries``: the SQL statements one request of the page runs (counted in the serving process
  with a SQLAlchemy ``before_cursor_execute`` listener, sign-in check included), and
  ``<page>_bytes``: the size of its answer;
- ``clients``, ``requests_per_page``, ``errors`` (answers other than 200), ``wall_s`` and
  ``requests_per_s`` over the whole load.
The console (``create_app``) runs in a process of its own, served by werkzeug's threaded WSGI server on
loopback; the clients are threads of this process, each with its own ``requests.Session`` signed in as an
admin (who sees everything: the largest pages). Pages are asked in a shuffled order, each client its own.
The cadre pages are of cadres drawn over the whole year. Set-up (the sample plan stored as applied,
the cadres, their progress, reflections, posts and records as a harvest leaves them, a finished harvest
run, the admin) is timed apart (``setup_s``). ``--quick`` is the test's smoke run (300 cadres, 8 requests
per page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import random
import re
import statistics
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
QUERY_HEADER = "X-Benchmark-SQL-Queries"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = {"dashboard": f"/?year={YEAR}", "department_report": f"/reports/?year={YEAR}&group_by=department",
         "cadre_page": "/cadres/{employee_no}?year=" + str(YEAR)}


def setup(database_url: str, cadres: int) -> list[str]:
    """The harvested year, a finished harvest run and the admin; returns the cadres' employee numbers."""
    from plugin_service.db import session_scope
    from plugin_service.models import HarvestRun
    from plugin_service.services.console_users import create_user
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


def serve(database_url: str, workdir: str, ready: Any) -> None:
    """The console in this process on a free loopback port (sent through ``ready``), with every
    request's SQL statements counted and returned in a header."""
    from flask import Response
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from werkzeug.serving import WSGIRequestHandler, make_server

    from plugin_service import create_app
    from plugin_service.config import Settings

    counts = threading.local()

    def count(*_args: Any) -> None:
        counts.n = getattr(counts, "n", 0) + 1

    event.listen(Engine, "before_cursor_execute", count)
    settings = Settings(database_url=database_url, secret_key="console-benchmark", broker_url="memory://",
                        ratelimit_storage="memory://", documents_dir=str(Path(workdir) / "documents"))
    app = create_app(settings)

    def counted(response: Response) -> Response:
        response.headers[QUERY_HEADER] = str(getattr(counts, "n", 0))
        return response

    def reset(environ: dict[str, Any], start_response: Any) -> Any:
        counts.n = 0
        return inner(environ, start_response)

    app.after_request(counted)
    inner = app.wsgi_app
    app.wsgi_app = reset  # type: ignore[method-assign]
    class Quiet(WSGIRequestHandler):
        def log_request(self, *_args: Any) -> None:
            """Thousands of requests: no line each."""

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    ready.send(server.server_port)
    server.serve_forever()


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
    queries: dict[str, list[int]] = {page: [] for page in PAGES}
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
                queries[page].append(int(answer.headers.get(QUERY_HEADER, "-1")))
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
                    f"{page}_sql_queries": max(queries[page]),
                    f"{page}_bytes": round(statistics.mean(sizes[page]))})
    return out


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database_url = f"sqlite:///{workdir / 'console.sqlite3'}"
    out: dict[str, Any] = {"cadres": args.cadres}
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with context.Pool(1) as pool:  # the set-up's memory stays out of the serving process
        numbers: list[str] = pool.apply(setup, (database_url, args.cadres))
    out["setup_s"] = round(time.perf_counter() - started, 2)
    receiver, sender = context.Pipe(duplex=False)
    server = context.Process(target=serve, args=(database_url, str(workdir), sender), daemon=True)
    server.start()
    try:
        if not receiver.poll(120):
            raise SystemExit("the console did not start within 120 s")
        base = f"http://127.0.0.1:{receiver.recv()}"
        out.update(load(base, numbers, args.clients, args.requests))
    finally:
        server.terminate()
        server.join(timeout=10)
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
