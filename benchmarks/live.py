"""What a plan year costs on a real Moodle: provisioning at the product's concurrency and with one writer,
a no-op apply, and a harvest by each path, against the site named by ``MOODLE_URL`` / ``MOODLE_TOKEN``.

The sample year of ``examples/`` is provisioned (``--cadres N``: a generated year of N cadres and
``--courses`` courses instead, made as ``benchmarks/provision.py`` makes one) in a namespace of the run's
own, twice: once at the product's settings (``--workers``, ``--batch-size``; by default the product's
defaults), once with one writer, each into a fresh database; everything made is removed afterwards (web
services cannot delete the two empty categories). Addresses are put in the namespace, since Moodle refuses
a second account with an address in use.

Prints one JSON object (``--json``) with:
- ``apply_s``: the first apply at the chosen concurrency; ``apply_serial_s``: the same year with one writer
  (``--skip-serial`` leaves it out); ``calls`` / ``write_calls``: the Moodle calls of the first apply;
- ``objects_written``: users, classes, courses, memberships and enrolments (and the category) it wrote;
- ``retries``: writes Moodle's database refused (a deadlock) that were re-read and sent again;
- ``noop_apply_s`` / ``noop_writes``: applying the same inputs again (no write call expected);
- ``harvest_per_user_s`` / ``harvest_report_s``: a full harvest of the provisioned year by each path, with
  their calls (``harvest_report_s`` is null when the token sees no completion report);
- ``site``: Moodle's release, and the run's settings.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from provision import emit, make_plan, make_roster  # noqa: E402  (benchmarks/provision.py, beside this file)
from sqlalchemy import func, select  # noqa: E402

from moodle_bridge import MoodleClient  # noqa: E402
from plugin_service.config import Settings  # noqa: E402
from plugin_service.db import session_scope, upgrade  # noqa: E402
from plugin_service.models import AuditLog  # noqa: E402
from plugin_service.services.harvest import find_completion_report, harvest  # noqa: E402
from plugin_service.services.provisioning.provision import Inputs, apply, check_inputs, preview  # noqa: E402

DEFAULTS = Settings()
YEAR = 2026


def sample_inputs(namespace: str, cadres: int, courses: int) -> Inputs:
    """The sample year, or a generated one, with its category and every address in the namespace."""
    if cadres:
        plan, roster = make_plan(courses), make_roster(cadres)
    else:
        plan = (ROOT / "examples" / f"plan-{YEAR}.yaml").read_text("utf-8")
        roster = (ROOT / "examples" / f"roster-{YEAR}.csv").read_bytes()
    plan = plan.replace("category: 2026 ", f"category: {namespace}2026 ", 1)
    return check_inputs(plan, f"plan-{YEAR}.yaml", namespaced_addresses(roster, namespace), "roster.csv")


def namespaced_addresses(roster: bytes, namespace: str) -> bytes:
    rows = list(csv.reader(io.StringIO(roster.decode("utf-8-sig"))))
    column = rows[0].index("邮箱")
    for row in rows[1:]:
        if len(row) > column and "@" in row[column]:
            row[column] = namespace.lower() + row[column]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def settings_for(database: Path, namespace: str, *, workers: int, batch_size: int) -> Settings:
    url = f"sqlite:///{database}"
    upgrade(url)
    return Settings(moodle_url=os.environ["MOODLE_URL"], moodle_token=os.environ["MOODLE_TOKEN"],
                    database_url=url, secret_key="benchmark", moodle_namespace=namespace,
                    moodle_batch_size=batch_size, moodle_max_workers=workers,
                    moodle_timezone=os.environ.get("MOODLE_TIMEZONE", ""))


def client_for(settings: Settings) -> MoodleClient:
    return MoodleClient(settings.moodle_url, settings.moodle_token, timeout=600,
                        batch_size=settings.moodle_batch_size, max_workers=settings.moodle_max_workers)


class Writes:
    """Counts the write calls a client makes."""

    def __init__(self, client: MoodleClient) -> None:
        self.count = 0
        original = client.call

        def counted(wsfunction: str, params: Any = None, *, write: bool) -> Any:
            if write:
                self.count += 1
            return original(wsfunction, params, write=write)

        client.call = counted  # type: ignore[method-assign]


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, round(time.perf_counter() - started, 2)


def refused(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return int(session.scalar(select(func.count()).select_from(AuditLog)
                                  .where(AuditLog.outcome == "refused")) or 0)


def remove(inputs: Inputs, settings: Settings) -> None:
    """Deletes what applying ``inputs`` made: its courses, classes and users."""
    with client_for(settings) as client:
        state = preview(client, inputs, settings).actual
        courses = sorted({c.id for c in [*state.courses.values(), *state.courses_by_shortname.values()]})
        if courses:
            client.core_course.delete_courses(courses)
        if state.classes:
            client.core_cohort.delete_cohorts([c.id for c in state.classes.values()])
        for chunk in client.batches([u.id for u in state.users.values()], 200):
            client.core_user.delete_users(list(chunk))


def provision(inputs: Inputs, settings: Settings) -> dict[str, Any]:
    with client_for(settings) as client:
        result, seconds = timed(lambda: apply(client, inputs, settings, actor="benchmark"))
        calls = client.call_count()
    writes = {"create_category", "create_user", "update_user", "create_class", "update_class",
              "copy_course", "create_course", "update_course", "add_member", "enrol", "remove_member",
              "suspend_enrolment"}
    return {"seconds": seconds, "calls": calls, "retries": refused(settings),
            "objects_written": sum(n for kind, n in result.counts.items() if kind in writes),
            "counts": dict(result.counts)}


def copy_database(source: Path, target: Path) -> None:
    """A copy of a SQLite database as it stands, its write-ahead log included."""
    with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as writing:
        reading.backup(writing)


def harvest_once(settings: Settings, path: str) -> tuple[float | None, int | None]:
    """A full harvest of the provisioned year by ``path``: its seconds and calls; (None, None) for the
    report path when the token sees no completion report."""
    with client_for(settings) as client:
        if path == "report":
            report = find_completion_report(client, os.environ.get("MOODLE_COMPLETION_REPORT", ""))
            if report is None:
                return None, None
            settings = replace(settings, harvest_report=str(report.id))
        done, seconds = timed(lambda: harvest(client, settings, year=YEAR, full=True, path=path))
        return seconds, done.moodle_calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cadres", type=int, default=0, help="a generated year of N cadres (0: the sample)")
    parser.add_argument("--courses", type=int, default=60, help="courses of a generated year")
    parser.add_argument("--workers", type=int, default=DEFAULTS.moodle_max_workers)
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.moodle_batch_size)
    parser.add_argument("--skip-serial", action="store_true", help="leave out the one-writer apply")
    parser.add_argument("--keep", action="store_true", help="leave the provisioned years on the site")
    args = parser.parse_args(argv)
    if not (os.environ.get("MOODLE_URL") and os.environ.get("MOODLE_TOKEN")):
        parser.error("set MOODLE_URL and MOODLE_TOKEN to a real site and its service user's token")
    run = secrets.token_hex(3)
    results: dict[str, Any] = {"cadres": args.cadres or "sample", "workers": args.workers,
                               "batch_size": args.batch_size}
    made: list[tuple[Inputs, Settings]] = []
    with tempfile.TemporaryDirectory(prefix="cadre-live-") as temp:
        try:
            namespace = f"ccbench-{run}-a-"
            settings = settings_for(Path(temp) / "a.sqlite3", namespace, workers=args.workers,
                                    batch_size=args.batch_size)
            inputs = sample_inputs(namespace, args.cadres, args.courses)
            made.append((inputs, settings))
            with client_for(settings) as client:
                results["site"] = client.core_webservice.get_site_info().release
            first = provision(inputs, settings)
            results.update(apply_s=first["seconds"], calls=first["calls"], retries=first["retries"],
                           objects_written=first["objects_written"], counts=first["counts"])
            with client_for(settings) as client:
                writes = Writes(client)
                _, results["noop_apply_s"] = timed(lambda: apply(client, inputs, settings, actor="benchmark"))
                results["noop_writes"] = writes.count
            for path in ("per_user", "report"):
                database = Path(temp) / f"harvest-{path}.sqlite3"
                copy_database(Path(temp) / "a.sqlite3", database)
                seconds, calls = harvest_once(replace(settings, database_url=f"sqlite:///{database}"), path)
                results[f"harvest_{path}_s"], results[f"harvest_{path}_calls"] = seconds, calls
            if not args.skip_serial:
                serial_namespace = f"ccbench-{run}-b-"
                serial = settings_for(Path(temp) / "b.sqlite3", serial_namespace, workers=1,
                                      batch_size=args.batch_size)
                serial_inputs = sample_inputs(serial_namespace, args.cadres, args.courses)
                made.append((serial_inputs, serial))
                one = provision(serial_inputs, serial)
                results.update(apply_serial_s=one["seconds"], serial_calls=one["calls"],
                               serial_retries=one["retries"])
        finally:
            if not args.keep:
                for inputs, settings in made:
                    remove(inputs, settings)
    emit(results, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
