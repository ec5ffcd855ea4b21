"""The demo: a fake Moodle on loopback seeded like a college's site, checked, then provisioned with the
2026 sample plan and roster (diff, apply, and a second apply that writes nothing); the cadres then study
in the fake Moodle (a realistic spread of progress, reflections, reviews and discussion posts), and the
year is harvested into learning records, summarised per tier, with one cadre's record shown."""

from __future__ import annotations

import os
import secrets
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
    answer = FakeControl(url, timeout=600).site_action("simulate_progress", {
        "category_idnumber": category_idnumber(plan.year), "seed": plan.year,
        "start": midnight(plan.period.start), "end": midnight(as_of) - 3600, "discussions": topics,
        "rates": {"not_started": 0.05, "started": 0.07, "completed": 0.88}, "ground_truth": False,
        "short_below": max((c.reflection.min_chars for c in plan.courses if c.reflection), default=800)})
    counts = answer["counts"]
    return (f"{counts['learners']} cadre-course enrolments: {counts['completed']} completed, "
            f"{counts['started']} started, {counts['not_started']} not started; "
            f"{counts['submitted']} reflections submitted ({counts['graded']} reviewed, "
            f"{counts['regraded']} reviewed twice); {counts['posts']} discussion posts")


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
                   CADRE_DATABASE_URL=f"sqlite:///{database}")
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
        print(f"\n== Done. The doctor's report for the Moodle admin: {report}")
        print(f"== The companion's database (plans, journal, audit log, learning records): {database}")
        return 0
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
