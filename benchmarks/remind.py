"""How fast the reminders go out: the sample plan's ``autumn-laggards`` reminder (2026-10-15, hours below 35,
to the learners and their supervising leaders) for 10,000 cadres against the fake Moodle.

Prints one JSON object (``--json``) with, for the run at ``batch_size`` (500, as provisioning uses at 10k):
- ``total_s``: wall time of one ``remind(client, settings, year=2026, today=2026-10-15)`` (the firing:
  standings, recipients, texts, the outbox filled; then the delivery through Moodle), the fake answering
  every call after ``--latency-ms`` (20) (target: under 30 s); ``per_s``: messages sent per second;
- ``firing_s``: of it, the time before the first delivery call (the rule judged on the stored records,
  the texts written, the outbox filled), and ``delivery_s`` the rest (claiming, sending, recording);
- ``calls``: the Moodle calls it made (``client.call_count()``), ``calls_by_function`` as the fake counted
  them, ``items_by_function`` (messages and users the calls carried), and ``phases``: per function, its
  calls, items and the seconds from its first call to its last answer;
- ``messages`` (sent: reminders and digests), ``reminders``, ``digests`` (one or more parts per supervising
  leader, split at Moodle's length limit), ``leaders`` (leaders sent a digest), ``concerned`` (cadres the
  rule concerns, counted apart from the service), ``refused`` / ``skipped``;
- ``max_digest_chars`` / ``max_digest_bytes``: the longest digest, in characters and in bytes of UTF-8, and
  ``digests_over_moodle_bytes``: how many digests are longer than the 4,096 bytes a real Moodle accepts
  (the fake, like the service, counts characters);
- ``delivered_once``: every message the service user sent in Moodle belongs to one outbox row, and every
  sent row to one message (read back with ``core_message_get_messages`` after the timing);
- ``second_run_s`` / ``second_run_calls`` / ``second_run_sent``: the same remind again (it sends nothing);
- ``peak_rss_mb``: peak resident memory of the process that runs both reminds (a process of its own, as the
  CLI or a Celery worker; the fake and the set-up run in other processes);
- ``by_batch_size``: the same numbers for every ``--batch-sizes`` value (500 and 100), each against a fresh
  fake and a fresh copy of the database.
Set-up is timed apart (``setup_s``): the fake gets the year's category and courses and the cadres'
accounts (created over web services, 500 a call); the companion database (SQLite in a temp dir) gets the
sample plan stored as applied with a generated roster (``cadres`` cadres among them ``leaders`` school
leaders, each cadre's department supervised by one of them), the cadres' Moodle ids, a finished
provisioning run, course progress as a harvest stores it and the learning records computed from it by the
harvest's own ``compute_records`` for the day before the reminder. Nearly every cadre is below 35 hours.
``--quick`` is the test's smoke run (300 cadres).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from provision import (  # noqa: E402
    CallLog,
    Fake,
    emit,
    fake_moodle,
)
from provision import make_roster as provision_roster  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402

from moodle_bridge import MoodleClient  # noqa: E402
from moodle_bridge.areas.core_course import NewCategory, NewCourse  # noqa: E402
from moodle_bridge.areas.core_user import NewUser  # noqa: E402
from plugin_service.config import Settings  # noqa: E402
from plugin_service.db import session_scope, upgrade  # noqa: E402
from plugin_service.models import (  # noqa: E402
    Cadre,
    CourseProgress,
    LearningRecordRow,
    OutboxMessage,
    ProvisionRun,
    YearCourse,
    utcnow,
)
from plugin_service.services.engagement import remind  # noqa: E402
from plugin_service.services.engagement.outbox import plain  # noqa: E402
from plugin_service.services.harvest.context import load_context  # noqa: E402
from plugin_service.services.harvest.records import compute_records  # noqa: E402
from plugin_service.services.provisioning.provision import check_inputs, store_inputs  # noqa: E402
from rules.desired import category_idnumber, course_idnumber, username  # noqa: E402
from rules.plan import Plan  # noqa: E402

YEAR = 2026
TODAY = dt.date(YEAR, 10, 15)  # the autumn-laggards reminder's date
RULE = "autumn-laggards"
THRESHOLD = 35.0  # its hours_below
PLAN_FILE = ROOT / "examples" / "plan-2026.yaml"
FALLBACK_REVIEWER = "T19880"  # the sample plan's reviewers.fallback: the first leader
ON_TARGET = 0.02  # the share of cadres who studied past the threshold
#: Moodle refuses a message whose text is longer than this many bytes (PHP ``strlen`` of the UTF-8 text,
#: ``core_message\api::MESSAGE_MAX_LENGTH``); the fake counts characters.
MOODLE_MESSAGE_BYTES = 4096
PER_BATCH_KEYS = ("setup_s", "total_s", "firing_s", "delivery_s", "calls", "messages", "per_s", "peak_rss_mb",
                  "second_run_s", "second_run_calls", "delivered_once", "calls_by_function")


# -- the scenario -----------------------------------------------------------------------------------

def make_roster(cadres: int, leaders: int, seed: int = 2026) -> bytes:
    """The provisioning benchmark's roster with ``leaders`` school leaders numbered from T19880 (the
    sample plan's fallback reviewer first), the other cadres from T20000."""
    leaders = max(2, min(leaders, cadres - 1))
    return provision_roster(cadres, seed, leaders=leaders,
                            number=lambda n: f"T{19880 + n}" if n < leaders else f"T{20000 + n - leaders}")


def prepare_moodle(fake: Fake, plan: Plan, roster: list[tuple[str, str]]) -> tuple[dict[str, int],
                                                                                   dict[str, int]]:
    """The year's category and courses, and an account per cadre (username and idnumber from the
    employee number, as provisioning makes them); returns (employee number -> user id, course key ->
    course id). The stock service user holds every capability, ``moodle/site:readallmessages``
    included, so it may message every cadre without sharing a course with them."""
    with MoodleClient(fake.url, fake.token, batch_size=500, timeout=600) as client:
        category = client.core_course.create_categories([NewCategory(
            name=plan.moodle.category, parent=0, idnumber=category_idnumber(YEAR))])[0]
        created = client.core_course.create_courses([NewCourse(
            fullname=course.name, shortname=f"{YEAR}-{course.key}", categoryid=category.id,
            idnumber=course_idnumber(YEAR, course.key), enablecompletion=True) for course in plan.courses])
        courses = {course.key: made.id for course, made in zip(plan.courses, created, strict=True)}
        users = client.core_user.create_users([NewUser(
            username=username(number), password="Cadre-2026!", firstname=name[1:], lastname=name[:1],
            email=f"{number.lower()}@college.example", idnumber=number) for number, name in roster])
    return {number: user.id for (number, _name), user in zip(roster, users, strict=True)}, courses


def prepare_database(database_url: str, plan_text: str, roster: bytes, userids: dict[str, int],
                     courseids: dict[str, int], seed: int) -> dict[str, int]:
    """The companion's database as provisioning and the nightly harvest of 14 October leave it;
    returns how many cadres the reminder concerns (from the records, not through the service)."""
    upgrade(database_url)
    inputs = check_inputs(plan_text, PLAN_FILE.name, roster, "roster-2026.csv")
    plan = inputs.plan
    with session_scope(database_url) as session:
        plan_row, roster_row = store_inputs(session, inputs)
        plan_row.applied_at = utcnow()
        session.add(ProvisionRun(year=YEAR, plan_id=plan_row.id, roster_id=roster_row.id, status="done",
                                 finished_at=utcnow()))
        session.execute(update(Cadre), [{"employee_no": no, "moodle_userid": userid}
                                        for no, userid in userids.items()])
        for key, courseid in courseids.items():
            session.execute(update(YearCourse).where(YearCourse.year == YEAR, YearCourse.key == key)
                            .values(moodle_courseid=courseid))
    rng = random.Random(seed)
    computed_for = TODAY - dt.timedelta(days=1)
    rows: list[dict[str, Any]] = []
    with session_scope(database_url) as session:
        context = load_context(session, YEAR, "")
        for number, member in sorted(context.members.items()):
            if member.tier_key is None or member.excluded is not None:
                continue
            rows.extend(progress_of(plan, number, member.tier_key, rng))
        for start in range(0, len(rows), 2000):
            session.execute(insert(CourseProgress), rows[start:start + 2000])
        session.flush()
        compute_records(session, context, computed_for, run_id=0)
    with session_scope(database_url) as session:
        members = session.scalar(select(func.count()).select_from(LearningRecordRow)
                                 .where(LearningRecordRow.year == YEAR)) or 0
        concerned = session.scalar(select(func.count()).select_from(LearningRecordRow).where(
            LearningRecordRow.year == YEAR, LearningRecordRow.tier_key.is_not(None),
            LearningRecordRow.status != "excluded",
            LearningRecordRow.total_hours < THRESHOLD - 1e-9)) or 0
    return {"members": members, "concerned": concerned}


def progress_of(plan: Plan, number: str, tier: str, rng: random.Random) -> list[dict[str, Any]]:
    """One cadre's course progress as a harvest stores it: the required courses first, electives after,
    each completed or merely started; all but ``ON_TARGET`` of the cadres stay under the threshold."""
    required = [c for c in plan.courses if tier in c.required]
    electives = [c for c in plan.courses if tier in c.elective]
    rng.shuffle(electives)
    finisher = rng.random() < ON_TARGET
    goal = 1e9 if finisher else rng.uniform(0, THRESHOLD - 1)
    done = 0.0
    rows = []
    for course in required + electives:
        day = plan.period.start + dt.timedelta(days=rng.randint(5, (TODAY - plan.period.start).days - 5))
        moment = dt.datetime.combine(day, dt.time(rng.randint(1, 13)))  # 09:00-21:00 in Shanghai, as UTC
        completes = finisher or (done + course.hours < min(goal, THRESHOLD) and rng.random() < 0.8)
        started = completes or rng.random() < 0.3
        if not started:
            continue
        done += course.hours if completes else 0.0
        rows.append({"year": YEAR, "employee_no": number, "course_key": course.key,
                     "started_at": moment - dt.timedelta(days=2), "last_access_at": moment,
                     "first_completed_at": moment if completes else None,
                     "completed_at": moment if completes else None, "activities_stale": False,
                     "fingerprint": "", "updated_at": moment})
    return rows


# -- measuring ---------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _remind_once(url: str, token: str, database_url: str, batch_size: int, workers: int) -> dict[str, Any]:
    """One remind, as ``cadre remind`` runs it, in the pool's process."""
    settings = Settings(moodle_url=url, moodle_token=token, database_url=database_url, secret_key="benchmark",
                        moodle_batch_size=batch_size, moodle_max_workers=workers)
    log = CallLog()
    with MoodleClient(url, token, timeout=600, batch_size=batch_size, max_workers=workers) as client:
        log.attach(client)
        started = time.perf_counter()
        result = remind(client, settings, year=YEAR, today=TODAY, actor="benchmark")
        seconds = time.perf_counter() - started
        calls = client.call_count()
    return {"seconds": seconds, "calls": calls, "run_calls": result.calls, **result.delivery.as_dict(),
            "firings": {f.key: f.state for f in result.firings}, "peak_rss_mb": peak_rss_mb(),
            "log": log.calls, "started": started}


def firing_s(first: dict[str, Any]) -> float | None:
    """Seconds from the start to the first call after the preflight's: the firing (standings, recipients,
    texts, the outbox filled), before delivery begins."""
    starts = sorted(start for _name, _write, start, _end in first["log"])
    return round(starts[1] - first["started"], 2) if len(starts) > 1 else None


def outbox_counts(database_url: str) -> dict[str, Any]:
    with session_scope(database_url) as session:
        by = Counter({(kind, status): n for kind, status, n in session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, func.count()).where(OutboxMessage.year == YEAR)
            .group_by(OutboxMessage.kind, OutboxMessage.status))})
        leaders = session.scalar(select(func.count(func.distinct(OutboxMessage.recipient))).where(
            OutboxMessage.kind == "digest", OutboxMessage.status == "sent")) or 0
        texts = list(session.scalars(select(OutboxMessage.text).where(OutboxMessage.kind == "digest")))
    sizes = [(len(text), len(text.encode("utf-8"))) for text in texts]
    return {"reminders": by["reminder", "sent"], "digests": by["digest", "sent"], "leaders": leaders,
            "outbox": {f"{kind}:{status}": n for (kind, status), n in sorted(by.items())},
            "max_digest_chars": max((chars for chars, _bytes in sizes), default=0),
            "max_digest_bytes": max((size for _chars, size in sizes), default=0),
            "digests_over_moodle_bytes": sum(1 for _chars, size in sizes if size > MOODLE_MESSAGE_BYTES)}


def delivered_once(fake: Fake, database_url: str) -> dict[str, Any]:
    """Every message the service user sent, read back from Moodle, against the outbox's sent rows."""
    with session_scope(database_url) as session:
        sent = {msgid: (userid, plain(text)) for msgid, userid, text in session.execute(
            select(OutboxMessage.msgid, OutboxMessage.moodle_userid, OutboxMessage.text)
            .where(OutboxMessage.year == YEAR, OutboxMessage.status == "sent"))}
    with MoodleClient(fake.url, fake.token, timeout=600) as client:
        sender = client.core_webservice.get_site_info().userid
        found = client.core_message.get_messages(0, useridfrom=sender, type="conversations", read=2).messages
    seen = Counter((m.useridto, plain(m.fullmessage or m.text)) for m in found)
    matched = sum(1 for m in found if sent.get(m.id) == (m.useridto, plain(m.fullmessage or m.text)))
    return {"moodle_messages": len(found), "duplicates": sum(n - 1 for n in seen.values() if n > 1),
            "delivered_once": matched == len(found) == len(sent) and all(n == 1 for n in seen.values())}


def measure(args: argparse.Namespace, workdir: Path, batch_size: int, plan: Plan, plan_text: str,
            roster: bytes, people: list[tuple[str, str]]) -> dict[str, Any]:
    """The remind at ``batch_size``, against a fresh fake and a fresh database, twice."""
    database_url = f"sqlite:///{workdir / f'remind-{batch_size}.sqlite3'}"
    with fake_moodle(["--latency-ms", str(args.latency_ms)]) as fake:
        started = time.perf_counter()
        userids, courseids = prepare_moodle(fake, plan, people)
        expected = prepare_database(database_url, plan_text, roster, userids, courseids, args.seed)
        setup_s = time.perf_counter() - started
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            fake.reset_stats()
            first = pool.apply(_remind_once, (fake.url, fake.token, database_url, batch_size, args.workers))
            stats = fake.stats()
            fake.reset_stats()
            second = pool.apply(_remind_once, (fake.url, fake.token, database_url, batch_size, args.workers))
            second_stats = fake.stats()
        check = delivered_once(fake, database_url)
    counts = outbox_counts(database_url)
    fired_in = firing_s(first)
    return {
        "batch_size": batch_size, "setup_s": round(setup_s, 2), "total_s": round(first["seconds"], 2),
        "firing_s": fired_in,
        "delivery_s": round(first["seconds"] - fired_in, 2) if fired_in is not None else None,
        "calls": first["calls"], "messages": first["sent"], "reminders": counts["reminders"],
        "digests": counts["digests"], "leaders": counts["leaders"], "concerned": expected["concerned"],
        "members": expected["members"],
        "per_s": round(first["sent"] / first["seconds"], 1) if first["seconds"] else None,
        "refused": first["refused"], "skipped": counts["outbox"].get("reminder:skipped", 0)
        + counts["outbox"].get("digest:skipped", 0),
        "firings": first["firings"], "calls_by_function": dict(sorted(stats["calls"].items())),
        "items_by_function": dict(sorted(stats["items"].items())),
        "phases": CallLog(first["log"]).phases(first["started"], stats["items"]),
        "peak_rss_mb": round(max(first["peak_rss_mb"], second["peak_rss_mb"]), 1),
        "second_run_s": round(second["seconds"], 2), "second_run_calls": second["calls"],
        "second_run_sent": second["sent"],
        "second_run_calls_by_function": dict(sorted(second_stats["calls"].items())),
        "outbox": counts["outbox"], "max_digest_chars": counts["max_digest_chars"],
        "max_digest_bytes": counts["max_digest_bytes"],
        "digests_over_moodle_bytes": counts["digests_over_moodle_bytes"], **check,
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    plan_text = PLAN_FILE.read_text("utf-8")
    roster = make_roster(args.cadres, args.leaders, args.seed)
    inputs = check_inputs(plan_text, PLAN_FILE.name, roster, "roster-2026.csv")
    people = [(c.employee_no, c.name) for c in inputs.roster.cadres]
    reminder = next(r for r in inputs.plan.reminders if r.key == RULE)
    assert reminder.on == TODAY and "supervising_leader" in reminder.to, "the sample plan's rule changed"
    by_batch = {str(size): measure(args, workdir, size, inputs.plan, plan_text, roster, people)
                for size in args.batch_sizes}
    headline = by_batch[str(args.batch_sizes[0])]
    out: dict[str, Any] = {"cadres": args.cadres, "leaders": args.leaders, "latency_ms": args.latency_ms,
                           "workers": args.workers, "rule": RULE, "today": TODAY.isoformat()}
    out.update(headline)
    out["leaders_messaged"] = out.pop("leaders")
    out["leaders"] = args.leaders
    out["by_batch_size"] = {size: {key: value for key, value in numbers.items() if key in PER_BATCH_KEYS}
                            for size, numbers in by_batch.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cadres", type=int, default=10_000)
    parser.add_argument("--leaders", type=int, default=30, help="school leaders among the cadres")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--batch-sizes", default="500,100",
                        help="moodle_batch_size values, comma-separated; the first gives the headline")
    parser.add_argument("--workers", type=int, default=4, help="the client's pool (moodle_max_workers)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 cadres, 10 leaders")
    parser.add_argument("--keep", help="keep the databases in this directory")
    args = parser.parse_args(argv)
    args.batch_sizes = [int(size) for size in str(args.batch_sizes).split(",") if size.strip()]
    if args.quick:
        args.cadres, args.leaders = min(args.cadres, 300), min(args.leaders, 10)
    with tempfile.TemporaryDirectory(prefix="cadre-remind-") as temp:
        workdir = Path(args.keep) if args.keep else Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = run(args, workdir)
    emit(results, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
