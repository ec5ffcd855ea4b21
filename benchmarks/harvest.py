"""How fast a plan year is harvested: 10,000 cadres x 20 courses (200,000 records) against the fake Moodle.

Prints one JSON object (``--json``) with:
- ``bulk_full_s`` / ``bulk_calls`` / ``bulk_calls_per_1000``: a full harvest on the completion-report path
  (targets: under 60 s, at most 5 calls per 1,000 records, counted without the study time step, which
  reads each cadre's SCORM tracks one call at a time: ``bulk_without_study_s`` and
  ``bulk_calls_per_1000`` leave it out, ``bulk_full_s`` and ``bulk_calls`` hold it);
- ``incremental_s`` / ``incremental_calls`` / ``incremental_changes``: the next night's harvest after 1% of
  the records changed in Moodle (``changed_records``: cadres opened a course and completed it that day);
  it reads only the completion report's rows dated since the full harvest began, less the margin
  (``incremental_read``: how; ``incremental_report_calls`` / ``incremental_report_rows`` /
  ``incremental_report_s``: the report read alone; targets: the report read in at most 20 calls, the
  harvest under 3 s); ``incremental_agrees``: a full harvest of a copy of the database taken before it,
  run on the same Moodle, stores the same progress and records (null with ``--no-check``);
- ``per_user_full_s`` / ``per_user_calls`` / ``per_user_calls_per_1000``: a full harvest asking Moodle once
  per cadre and course, on a copy of the same database, with ``per_user_workers`` calls at once (16: the
  fake at 20 ms is bound by latency; a real site by its PHP workers) (target: under 10 minutes);
- ``peak_rss_mb``: the highest peak resident memory of a harvesting process (each harvest runs in a
  process of its own, as from the CLI or a Celery worker: ``bulk_`` / ``incremental_`` / ``check_`` /
  ``per_user_peak_rss_mb``; the fake and the provisioning run in processes of their own too; target:
  under 300 MB on every path);
- ``study_calls`` / ``study_s`` / ``study_cadres`` / ``study_courses``: the study time step of the full
  harvest (SCORM attempts and tracks of every cadre of the courses whose template holds SCORM courseware:
  calls, seconds, cadre-course figures read, courses), and ``incremental_study_calls`` /
  ``incremental_study_s`` / ``incremental_study_cadres``: the same step in the next harvest, which reads
  only the cadres whose course changed; ``incremental_batched_calls`` / ``incremental_batched_s``: the
  incremental harvest without its two steps that read a cadre and course a call (study time, whose calls
  grow with the change, and activity detail, up to its budget a night; target: at most 20 calls);
- ``records`` (cadre-course records harvested), ``agree`` (both paths stored the same completions and
  hours), and ``steps`` / ``incremental_steps`` / ``per_user_steps``: calls, rows, changes and seconds per
  step.
Every call is answered after ``--latency-ms`` (20). Set-up (provisioning with ``cadre plan apply`` and the
fake's ``simulate_progress``) is timed apart (``setup_s``). Moodle's clock (the fake's) stands two days
after the simulated progress for the full harvest, one hour later for the changes, and a day later for
the incremental harvest. ``--quick`` is the test's smoke run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from provision import (  # noqa: E402
    CLASSES_PER_TIER,
    TEMPLATES,
    TIERS,
    YEAR,
    Fake,
    _groups,
    emit,
    fake_moodle,
    make_roster,
)
from sqlalchemy import func, select  # noqa: E402

from moodle_bridge import MoodleClient  # noqa: E402
from moodle_bridge.fake.control import FakeControl  # noqa: E402
from plugin_service.config import Settings  # noqa: E402
from plugin_service.db import session_scope  # noqa: E402
from plugin_service.models import Cadre, CourseProgress, LearningRecordRow, YearCourse  # noqa: E402
from plugin_service.services.harvest import HarvestResult, harvest  # noqa: E402
from rules.desired import category_idnumber  # noqa: E402

TODAY = dt.date(YEAR, 9, 15)
# Templates that hold a reflection assignment in the demo's course library.
WITH_ASSIGNMENT = {"TPL-THOUGHT", "TPL-POLICY"}


def make_plan(courses: int) -> str:
    """The provisioning benchmark's tiers and classes, with ``courses`` courses every cadre takes: the
    first third required of all, the rest elective for all, each copied from a template; the courses
    whose template holds an assignment carry a reflection; two discussion topics."""
    lines = [f"year: {YEAR}", f"title: {YEAR} 年度干部在线学习计划（采集基准）",
             "organisation: 中共示范职业技术学院委员会组织部",
             f"period: {{start: {YEAR}-03-01, end: {YEAR}-12-15}}",
             f"moodle: {{category: {YEAR} 干部在线学习（采集基准）,",
             "          learner_role: student, reviewer_role: teacher}",
             "hours: {target: 50, required_min: 30, elective_max: 24}", "tiers:"]
    for key, name, match, _ in TIERS:
        lines.append(f"  - {{key: {key}, name: {name}, match: {match}}}")
    lines += ["excluded: {match: {status: [离岗, 离职]}}", "classes:"]
    for key, name, _, departments in TIERS:
        if departments is None:
            lines.append(f"  - {{key: {key}, tier: {key}, name: {YEAR} {name}班}}")
            continue
        for index, group in enumerate(_groups(departments, CLASSES_PER_TIER[key])):
            lines.append(f"  - {{key: {key}-{index + 1:02d}, tier: {key}, name: {YEAR} {name}{index + 1}班, "
                         f"match: {{department: [{', '.join(group)}]}}}}")
    lines.append("courses:")
    required = max(1, courses // 3)
    thought = None
    for index in range(courses):
        template = TEMPLATES[index % len(TEMPLATES)]
        who = "required: all" if index < required else "elective: all"
        hours = max(6, -(-36 // required)) if index < required else 3
        reflection = (f", reflection: {{title: 学习心得, due: {YEAR}-11-30, min_chars: 800}}"
                      if template in WITH_ASSIGNMENT else "")
        key = f"c{index + 1:02d}"
        if template == "TPL-THOUGHT" and thought is None:
            thought = key
        lines.append(f"  - {{key: {key}, name: 专题课程 {index + 1}, hours: {hours}, {who}, "
                     f"template: {template}{reflection}}}")
    lines += ["reviewers: {by: supervising_leader, fallback: T100000}", "discussions:",
              f"  - {{key: spring, course: {thought}, title: 学习交流一, opens: {YEAR}-04-01,",
              f"     closes: {YEAR}-04-30,",
              "     points: {per_post: 1, max: 5}}",
              f"  - {{key: autumn, course: {thought}, title: 学习交流二, opens: {YEAR}-09-01,",
              f"     closes: {YEAR}-09-10,",
              "     points: {per_post: 1, max: 5}}", ""]
    return "\n".join(lines)


def unix(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(12), dt.UTC).timestamp())


def provision(fake: Fake, workdir: Path, cadres: int, courses: int, database_url: str) -> float:
    """``cadre plan apply`` in its own process (its memory is not the harvest's)."""
    (workdir / "roster.csv").write_bytes(make_roster(cadres))
    (workdir / "plan.yaml").write_text(make_plan(courses), "utf-8")
    env = dict(os.environ, CADRE_MOODLE_URL=fake.url, CADRE_MOODLE_TOKEN=fake.token,
               CADRE_DATABASE_URL=database_url, CADRE_MOODLE_BATCH_SIZE="500", CADRE_MOODLE_MAX_WORKERS="4",
               CADRE_MOODLE_TIMEOUT="600")
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "cadre"), "plan", "apply", str(workdir / "plan.yaml"),
                    "--roster", str(workdir / "roster.csv")], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def course_ids(database_url: str) -> dict[str, int]:
    """Course key -> Moodle id, as provisioning stored them."""
    with session_scope(database_url) as session:
        return {key: courseid for key, courseid in session.execute(
            select(YearCourse.key, YearCourse.moodle_courseid).where(YearCourse.year == YEAR))
            if courseid is not None}


def discussions(courseid: int) -> list[dict[str, Any]]:
    return [{"courseid": courseid, "subject": "学习交流一", "opens": unix(dt.date(YEAR, 4, 1)),
             "closes": unix(dt.date(YEAR, 4, 30))},
            {"courseid": courseid, "subject": "学习交流二", "opens": unix(dt.date(YEAR, 9, 1)),
             "closes": unix(dt.date(YEAR, 9, 10))}]


def change_one_percent(control: FakeControl, database_url: str, records: int, seed: int) -> int:
    """1% of the records change in Moodle, now (Moodle's clock): cadres open courses they had not
    completed and complete them."""
    with session_scope(database_url) as session:
        open_pairs = session.execute(
            select(Cadre.moodle_userid, YearCourse.moodle_courseid)
            .join(CourseProgress, CourseProgress.employee_no == Cadre.employee_no)
            .join(YearCourse, (YearCourse.key == CourseProgress.course_key) & (YearCourse.year == YEAR))
            .where(CourseProgress.year == YEAR, CourseProgress.first_completed_at.is_(None))).all()
    chosen = random.Random(seed).sample(open_pairs, min(len(open_pairs), max(1, records // 100)))
    for userid, courseid in chosen:
        control.site_action("view_course", {"userid": userid, "courseid": courseid})
    control.site_action("mark_course_complete", {"pairs": [[u, c] for u, c in chosen]})
    return len(chosen)


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its write-ahead log included)."""
    import sqlite3

    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed_harvest(fake: Fake, settings: Settings, *, path: str,
                  full: bool) -> tuple[HarvestResult, float, float]:
    """One harvest in a process of its own, as the CLI or a Celery worker runs it: its result, its
    seconds and its peak resident memory (MB), untouched by the other harvests of the benchmark."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result, seconds, peak = pool.apply(_harvest_once, (fake.url, fake.token, settings, path, full))
    return result, seconds, peak


def _harvest_once(url: str, token: str, settings: Settings, path: str,
                  full: bool) -> tuple[HarvestResult, float, float]:
    with MoodleClient(url, token, timeout=600, max_workers=settings.moodle_max_workers,
                      batch_size=settings.moodle_batch_size) as client:
        started = time.perf_counter()
        result = harvest(client, settings, year=YEAR, full=full, path=path, today=TODAY)
        return result, time.perf_counter() - started, peak_rss_mb()


def stored_facts(database_url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every cadre-course's progress and every learning record, as a full and an incremental harvest
    must both store them."""
    with session_scope(database_url) as session:
        progress = sorted(tuple(row) for row in session.execute(select(
            CourseProgress.employee_no, CourseProgress.course_key, CourseProgress.first_completed_at,
            CourseProgress.completed_at, CourseProgress.started_at, CourseProgress.last_access_at,
            CourseProgress.reset_seen_at)).all())
        records = sorted(tuple(row) for row in session.execute(select(
            LearningRecordRow.employee_no, LearningRecordRow.status, LearningRecordRow.required_hours,
            LearningRecordRow.elective_hours, LearningRecordRow.total_hours)).all())
    return progress, records


def stored_outcome(database_url: str) -> tuple[int, int, float]:
    """(records, completed records, sum of total hours): what two harvests must agree on."""
    with session_scope(database_url) as session:
        records = session.scalar(select(func.count()).select_from(CourseProgress)) or 0
        completed = session.scalar(select(func.count()).select_from(CourseProgress)
                                   .where(CourseProgress.first_completed_at.is_not(None))) or 0
        hours = session.scalar(select(func.sum(LearningRecordRow.total_hours))) or 0.0
    return records, completed, round(float(hours), 2)


def steps_of(result: HarvestResult) -> dict[str, Any]:
    return result.steps


def study_of(result: HarvestResult, prefix: str = "") -> dict[str, Any]:
    """The study time step's calls, seconds, figures read and courses, under ``prefix``."""
    step = result.steps.get("study") or {}
    return {f"{prefix}study_calls": step.get("calls", 0), f"{prefix}study_s": step.get("seconds", 0.0),
            f"{prefix}study_cadres": step.get("rows", 0),
            f"{prefix}study_courses": step.get("checkpoints", 0)}


#: The steps that read one cadre and course a call: study time, and activity detail (within its budget).
PER_CADRE_STEPS = ("study", "activities")


def apart_from_per_cadre(result: HarvestResult, seconds: float) -> dict[str, Any]:
    """The incremental harvest's calls and seconds without the steps that read a cadre a call (the
    report read and the batched steps: what the change's size does not multiply)."""
    steps = [result.steps.get(name) or {} for name in PER_CADRE_STEPS]
    return {"incremental_batched_calls": result.moodle_calls - sum(int(s.get("calls", 0)) for s in steps),
            "incremental_batched_s": round(seconds - sum(float(s.get("seconds", 0.0)) for s in steps), 2)}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    bulk_db = workdir / "bulk.sqlite3"
    per_user_db = workdir / "per_user.sqlite3"
    out: dict[str, Any] = {"cadres": args.cadres, "courses": args.courses, "latency_ms": args.latency_ms,
                           "workers": args.workers, "per_user_workers": args.per_user_workers}
    with fake_moodle(["--seed", "demo", "--latency-ms", str(args.latency_ms)]) as fake:
        control = FakeControl(fake.url, timeout=3600)
        started = time.perf_counter()
        provision_s = provision(fake, workdir, args.cadres, args.courses, f"sqlite:///{bulk_db}")
        simulated = control.site_action("simulate_progress", {
            "category_idnumber": category_idnumber(YEAR), "seed": 2026, "start": unix(dt.date(YEAR, 3, 1)),
            "end": unix(TODAY) - 86400, "ground_truth": False,
            "discussions": discussions(course_ids(f"sqlite:///{bulk_db}")["c01"])})
        out["setup_s"] = round(time.perf_counter() - started, 1)
        out["provision_s"] = round(provision_s, 1)
        out["simulated"] = simulated["counts"]
        shutil.copyfile(bulk_db, per_user_db)

        def settings_for(database: Path, workers: int = args.workers) -> Settings:
            return Settings(moodle_url=fake.url, moodle_token=fake.token, database_url=f"sqlite:///{database}",
                            secret_key="benchmark", moodle_max_workers=workers, moodle_batch_size=500,
                            harvest_activity_calls=args.activity_calls)

        moment = unix(TODAY) + 2 * 86400  # Moodle's clock: two days after the simulated progress
        control.set_clock(moment)
        bulk, bulk_s, bulk_rss = timed_harvest(fake, settings_for(bulk_db), path="report", full=True)
        records = stored_outcome(f"sqlite:///{bulk_db}")[0]
        study = bulk.steps.get("study") or {}
        out.update(records=records, bulk_full_s=round(bulk_s, 2), bulk_calls=bulk.moodle_calls,
                   bulk_without_study_s=round(bulk_s - float(study.get("seconds", 0.0)), 2),
                   bulk_calls_per_1000=round(
                       1000.0 * (bulk.moodle_calls - int(study.get("calls", 0))) / max(1, records), 3),
                   waiting_activities=bulk.waiting_activities, steps=steps_of(bulk), **study_of(bulk),
                   bulk_peak_rss_mb=round(bulk_rss, 1))
        check_db = workdir / "check.sqlite3"
        if args.check:
            _copy_database(bulk_db, check_db)
        control.set_clock(moment + 3600)
        out["changed_records"] = change_one_percent(control, f"sqlite:///{bulk_db}", records, seed=7)
        control.set_clock(moment + 86400)  # the next night
        incremental, incremental_s, incremental_rss = timed_harvest(fake, settings_for(bulk_db),
                                                                   path="report", full=False)
        report_step = incremental.steps.get("report", {})
        out.update(incremental_s=round(incremental_s, 2), incremental_calls=incremental.moodle_calls,
                   incremental_changes=incremental.changes, incremental_steps=steps_of(incremental),
                   **study_of(incremental, "incremental_"),
                   **apart_from_per_cadre(incremental, incremental_s),
                   incremental_read=incremental.report_read,
                   incremental_report_calls=report_step.get("calls"),
                   incremental_report_rows=report_step.get("rows"),
                   incremental_report_s=report_step.get("seconds"))
        check_rss = None
        if args.check:
            _check, _check_s, check_rss = timed_harvest(fake, settings_for(check_db), path="report",
                                                        full=True)
            out["incremental_agrees"] = stored_facts(f"sqlite:///{bulk_db}") == stored_facts(
                f"sqlite:///{check_db}")
        else:
            out["incremental_agrees"] = None
        if args.per_user:
            per_user, per_user_s, per_user_rss = timed_harvest(
                fake, settings_for(per_user_db, args.per_user_workers), path="per_user", full=True)
            out.update(per_user_full_s=round(per_user_s, 2), per_user_calls=per_user.moodle_calls,
                       per_user_calls_per_1000=round(1000.0 * per_user.moodle_calls / max(1, records), 3),
                       per_user_steps=steps_of(per_user))
            # the per-user run saw Moodle after the 1% change: compare it with the bulk path after it
            out["agree"] = stored_outcome(f"sqlite:///{bulk_db}") == stored_outcome(f"sqlite:///{per_user_db}")
        else:
            out.update(per_user_full_s=None, per_user_calls=None, per_user_calls_per_1000=None, agree=None)
    out["incremental_peak_rss_mb"] = round(incremental_rss, 1)
    out["check_peak_rss_mb"] = round(check_rss, 1) if check_rss is not None else None
    out["per_user_peak_rss_mb"] = round(per_user_rss, 1) if args.per_user else None
    paths = ("bulk_peak_rss_mb", "incremental_peak_rss_mb", "check_peak_rss_mb", "per_user_peak_rss_mb")
    out["peak_rss_mb"] = max(out[key] for key in paths if out[key] is not None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cadres", type=int, default=10_000)
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=8, help="the client's pool for fan-out reads")
    parser.add_argument("--per-user-workers", type=int, default=16,
                        help="the client's pool on the per-user path (one call per cadre and course)")
    parser.add_argument("--activity-calls", type=int, default=300, help="harvest_activity_calls")
    parser.add_argument("--no-per-user", dest="per_user", action="store_false",
                        help="skip the per-user path (the longest part)")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip the full harvest that checks the incremental one")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 cadres, 6 courses")
    parser.add_argument("--keep", help="keep the generated plan, roster and databases in this directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.cadres, args.courses = min(args.cadres, 200), min(args.courses, 6)
    random.seed(2026)
    with tempfile.TemporaryDirectory(prefix="cadre-harvest-") as temp:
        workdir = Path(args.keep) if args.keep else Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = run(args, workdir)
    emit(results, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
