"""The demo: a fake Moodle on loopback seeded like a college's site, checked, then provisioned with the
2026 sample plan and roster (diff, apply, and a second apply that writes nothing); the cadres then study
in the fake Moodle (a realistic spread of progress, reflections, reviews and discussion posts), and the
year is harvested into learning records, summarised per tier, with one cadre's record shown. It ends with
the admin console on http://127.0.0.1:5000 over the demo's database, signed in as a demo admin whose
password it prints."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from moodle_bridge.fake.control import FakeControl
from rules.plan import load_plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
#: The day the demo's year stands at: the sample plan's autumn, with its first reflections due.
AS_OF = "2026-09-30"
ENGAGE_ON = "2026-10-15"  # the autumn reminder's day
CONSOLE_HOST, CONSOLE_PORT = "127.0.0.1", 5000
CONSOLE_URL = f"http://{CONSOLE_HOST}:{CONSOLE_PORT}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the fake Moodle stopped (exit {process.returncode})")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"the fake Moodle did not answer at {url} within {seconds:g} s")


def run_steps(steps: list[tuple[str, list[str]]], env: dict[str, str]) -> int:
    """Runs each ``cadre`` command with its title; the exit code of the first that fails, else 0."""
    for title, args in steps:
        print(f"\n== {title}\n", flush=True)
        result = subprocess.run([str(BIN / "cadre"), *args], env=env, check=False)
        if result.returncode != 0:
            print(f"\n== {args[0]} exited with {result.returncode}")
            return result.returncode
    return 0


def simulate_year(url: str, database: Path, plan_file: Path, as_of: str) -> str:
    """The fake's learners do the year's work in the plan's courses up to ``as_of``, in the topics
    opened by then included."""
    from sqlalchemy import select

    from plugin_service.db import session_scope
    from plugin_service.models import YearCourse
    from rules.desired import category_idnumber

    plan = load_plan(plan_file.read_text("utf-8"), plan_file.name)
    with session_scope(f"sqlite:///{database}") as session:
        courseids = dict(session.execute(select(YearCourse.key, YearCourse.moodle_courseid)
                                         .where(YearCourse.year == plan.year)).all())

    def midnight(day: object) -> int:
        return int(time.mktime(time.strptime(str(day), "%Y-%m-%d")))

    topics = [{"courseid": courseids[d.course], "subject": d.title, "opens": midnight(d.opens),
               "closes": midnight(d.closes) + 86399} for d in plan.discussions
              if courseids.get(d.course) and str(d.opens) <= as_of]
    surveys = [{"courseid": courseid, "share": 0.7} for courseid in courseids.values() if courseid]
    answer = FakeControl(url, timeout=600).site_action("simulate_progress", {
        "category_idnumber": category_idnumber(plan.year), "seed": plan.year,
        "start": midnight(plan.period.start), "end": midnight(as_of) - 3600, "discussions": topics,
        "surveys": surveys,
        "rates": {"not_started": 0.05, "started": 0.07, "completed": 0.88}, "ground_truth": False,
        "short_below": max((c.reflection.min_chars for c in plan.courses if c.reflection), default=800)})
    counts = answer["counts"]
    return (f"{counts['learners']} cadre-course enrolments: {counts['completed']} completed, "
            f"{counts['started']} started, {counts['not_started']} not started; "
            f"{counts['submitted']} reflections submitted ({counts['graded']} reviewed, "
            f"{counts['regraded']} reviewed twice); {counts['posts']} discussion posts; "
            f"{counts['survey_answers']} training-needs surveys answered")


def issue_documents(env: dict[str, str], database: Path, artifacts: Path) -> int:
    """The year's certificates of study hours, learning archives and registration forms, as they stand on
    ``ENGAGE_ON``; one certificate shown; where the files are."""
    from sqlalchemy import select

    from plugin_service.db import session_scope
    from plugin_service.models import Certificate

    documents = ROOT / "instance" / "demo-documents"
    shutil.rmtree(documents, ignore_errors=True)
    env["CADRE_DOCUMENTS_DIR"] = str(documents)
    steps = [
        ("cadre certificates issue: a certificate of study hours (学时证明书) for every cadre whose record "
         "meets the plan", ["certificates", "issue", "--year", "2026", "--today", ENGAGE_ON]),
        ("cadre certificates issue again: the same facts give the same certificates",
         ["certificates", "issue", "--year", "2026", "--today", ENGAGE_ON]),
        ("cadre archives build: a learning archive (学习档案) and a registration form (登记表) per cadre",
         ["archives", "build", "--year", "2026", "--today", ENGAGE_ON]),
        ("cadre export certificates: the register of certificates as a spreadsheet",
         ["export", "certificates", "--year", "2026", "-o", str(artifacts / "certificates-2026.xlsx")]),
    ]
    if run_steps(steps, env):
        return 1
    with session_scope(f"sqlite:///{database}") as session:
        serial = session.scalar(select(Certificate.serial).where(Certificate.status == "valid")
                                .order_by(Certificate.employee_no).limit(1))
    if serial is not None and run_steps([("cadre certificate show: one certificate, by its serial",
                                          ["certificate", "show", serial])], env):
        return 1
    print(f"\n== The documents: {documents / '2026'} (certificates/, archives/, registration/ and the ZIPs "
          f"{', '.join(p.name for p in sorted((documents / '2026').glob('*.zip')))})")
    print("== Anyone holding a certificate checks it at the address its QR code holds: /verify/<serial> "
          "(`flask --app plugin_service.worker run` serves it)")
    return 0


def serve_console(env: dict[str, str]) -> int:
    """A demo admin with a fresh password, then the console on ``CONSOLE_URL`` against the demo's database
    and the fake Moodle until Ctrl-C. Its jobs run inside the request that starts them (no Celery worker
    is needed); with ``CADRE_DEMO_NO_CONSOLE=1`` the demo ends before serving."""
    password = secrets.token_urlsafe(12)
    print("\n== cadre user add: the console's first admin, demo-admin\n", flush=True)
    made = subprocess.run([str(BIN / "cadre"), "user", "add", "demo-admin", "--role", "admin",
                           "--password-stdin"], input=password + "\n", env=env, text=True, check=False)
    if made.returncode != 0:
        print(f"\n== user add exited with {made.returncode}")
        return 1
    if os.environ.get("CADRE_DEMO_NO_CONSOLE") == "1":
        print("== CADRE_DEMO_NO_CONSOLE=1: the console is not started")
        return 0
    from dataclasses import replace

    from werkzeug.serving import run_simple

    from plugin_service import create_app
    from plugin_service.config import load_settings

    settings = replace(load_settings(env), broker_url="memory://", ratelimit_storage="memory://")
    app = create_app(settings)
    app.extensions["celery"].conf.update(task_always_eager=True, broker_url="memory://",
                                         result_backend="cache+memory://")
    print(f"\n== The console: {CONSOLE_URL}  sign in as demo-admin with the password {password}")
    print("== (the fake Moodle keeps running, so uploads, diffs, applies and harvests work; Ctrl-C ends "
          "the demo)\n", flush=True)
    try:
        run_simple(CONSOLE_HOST, CONSOLE_PORT, app, threaded=True)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"== the console could not listen on {CONSOLE_URL}: {exc}")
        return 1
    return 0


def main() -> int:
    token = secrets.token_hex(16)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"== Starting a fake Moodle on {url} (seeded with a course library of template courses)")
    fake = subprocess.Popen(
        [sys.executable, "-m", "moodle_bridge.fake", "--port", str(port), "--token", token,
         "--sitename", "示范职业技术学院 干部网络学院 (demo)", "--seed", "demo"],
        cwd=ROOT, text=True)
    try:
        wait_until_up(url, fake)
        database = ROOT / "instance" / "demo.sqlite3"
        database.parent.mkdir(exist_ok=True)
        for stale in database.parent.glob("demo.sqlite3*"):
            stale.unlink()
        env = dict(os.environ, CADRE_MOODLE_URL=url, CADRE_MOODLE_TOKEN=token,
                   CADRE_DATABASE_URL=f"sqlite:///{database}", CADRE_SECRET_KEY=secrets.token_urlsafe(32))
        report = ROOT / "artifacts" / "doctor.html"
        report.parent.mkdir(exist_ok=True)
        plan, roster = str(EXAMPLES / "plan-2026.yaml"), str(EXAMPLES / "roster-2026.csv")
        steps = [
            ("cadre doctor: is the site ready for Cadre Companion?", ["doctor", "--html", str(report)]),
            ("cadre roster check: the HR roster", ["roster", "check", roster]),
            ("cadre plan check: the 2026 plan against the roster",
             ["plan", "check", plan, "--roster", roster]),
            ("cadre explain: why a cadre is where they are", ["explain", "T20408", "--plan", plan,
                                                             "--roster", roster]),
            ("cadre plan diff: what Moodle must change (first 25 of them)",
             ["plan", "diff", plan, "--roster", roster, "--limit", "25"]),
            ("cadre plan apply: make it so", ["plan", "apply", plan, "--roster", roster]),
            ("cadre plan diff again: nothing left to do", ["plan", "diff", plan, "--roster", roster]),
            ("cadre plan apply again: writes nothing", ["plan", "apply", plan, "--roster", roster]),
        ]
        if run_steps(steps, env):
            return 1
        print(f"\n== The cadres study in Moodle from March to {AS_OF}: progress, reflections, reviews, "
              "posts\n")
        print(simulate_year(url, database, Path(plan), AS_OF), flush=True)
        harvest_steps = [
            (f"cadre harvest: read the year from Moodle into learning records (pace judged on {AS_OF})",
             ["harvest", "--full", "--today", AS_OF]),
            ("cadre record: one cadre's learning record", ["record", "T20408"]),
            ("cadre harvest again: only what changed is read, nothing is written",
             ["harvest", "--today", AS_OF]),
        ]
        if run_steps(harvest_steps, env):
            return 1
        print(f"\n== {ENGAGE_ON}: the night's harvest, then the morning's engagement job, by hand")
        FakeControl(url).set_clock(time.mktime(time.strptime(f"{ENGAGE_ON} 07:30", "%Y-%m-%d %H:%M")))
        artifacts = ROOT / "artifacts"
        engagement_steps = [
            (f"cadre harvest: the records as of {ENGAGE_ON}", ["harvest", "--today", ENGAGE_ON]),
            ("cadre discussions sync: the spring topic was posted by hand (adopted, locked after its "
             "window); the autumn one opened on 8 October while the service was down (caught up)",
             ["discussions", "sync", "--today", ENGAGE_ON]),
            ("cadre remind --dry-run: who the reminders due today would reach", [
                "remind", "--dry-run", "--today", ENGAGE_ON, "--show", "5"]),
            ("cadre remind: the autumn reminder to the laggards and one digest to each of their "
             "supervising leaders", ["remind", "--today", ENGAGE_ON]),
            ("cadre remind again: nobody gets a reminder twice", ["remind", "--today", ENGAGE_ON]),
            ("cadre commend: the commendation list as the records stand",
             ["commend", "--year", "2026", "-o", str(artifacts / "commendation-2026.xlsx")]),
            ("cadre survey summary: the training-needs survey by tier and department",
             ["survey", "summary", "--year", "2026", "-o", str(artifacts / "survey-2026.xlsx")]),
        ]
        if run_steps(engagement_steps, env):
            return 1
        if issue_documents(env, database, artifacts):
            return 1
        print(f"\n== Done. The doctor's report for the Moodle admin: {report}")
        print(f"== The companion's database (plans, journal, audit log, learning records): {database}")
        return serve_console(env)
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
