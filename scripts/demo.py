"""The demo: a fake Moodle on loopback seeded like a college's site (template courses, some with SCORM
courseware), checked, then provisioned with the 2026 sample plan and roster (diff, apply, and a second
apply that writes nothing). The cadres then study in the fake Moodle, and the year is lived in parts:

- to 30 June, and on 1 July the first harvest and the mid-year bulletin (通报): sent, shown, its files
  named and its PDF copied under artifacts/;
- to 30 September: the harvest reads completions, grades, reflections, posts and the courseware's study
  time; one cadre's record; a second harvest that writes nothing. Offline study hours (线下学时): the
  party-school course's attendance sheet (examples/offline-2026.csv) imported, a cadre's claim with its
  evidence approved by a department officer and another rejected with its reason, and a record showing
  study time and offline hours;
- to 7 October, and on 15 October the night's harvest and the morning's engagement by hand: discussions
  (the autumn topic caught up), reminders, the third-quarter bulletin (with the changes since July);
- to the end of October, and the year's end on 15 December: the last harvest (complete cadres in every
  tier, the teaching and section tiers' with offline hours), the commendation list and survey summary,
  certificates, archives and registration forms.

It ends with the admin console on http://127.0.0.1:5000 over the demo's database, where a demo admin
signs in with the password it prints."""

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
#: The days the demo's year is lived to, in the sample plan's order: the mid-year bulletin's day, the
#: autumn (the first reflections due), the autumn reminder's and third-quarter bulletin's day, the year's end.
MID_YEAR = "2026-07-01"
AS_OF = "2026-09-30"
SERVICE_DOWN = "2026-10-08"  # the autumn topic's first day: the service is down, the topic waits for it
ENGAGE_ON = "2026-10-15"
STUDY_ENDS = "2026-10-31"  # the cadres' last study: the window the simulation draws every event in
YEAR_END = "2026-12-15"  # the plan period's last day: the last harvest, commendations and certificates
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


def midnight(day: object) -> int:
    return int(time.mktime(time.strptime(str(day), "%Y-%m-%d")))


def simulate_part(url: str, database: Path, plan_file: Path, after: str | None, until: str | None) -> str:
    """The fake's learners do the year's work in the plan's courses, drawn over the whole period to
    ``STUDY_ENDS``, and replayed from the evening before ``after`` to the evening before ``until`` (the year
    lived in parts between harvests)."""
    from sqlalchemy import select

    from plugin_service.db import session_scope
    from plugin_service.models import YearCourse
    from rules.desired import category_idnumber

    plan = load_plan(plan_file.read_text("utf-8"), plan_file.name)
    with session_scope(f"sqlite:///{database}") as session:
        courseids = dict(session.execute(select(YearCourse.key, YearCourse.moodle_courseid)
                                         .where(YearCourse.year == plan.year)).all())

    # every part is given every topic (the same draws); a topic's posts wait for the part it opens in
    topics = [{"courseid": courseids[d.course], "subject": d.title, "opens": midnight(d.opens),
               "closes": midnight(d.closes) + 86399} for d in plan.discussions if courseids.get(d.course)]
    surveys = [{"courseid": courseid, "share": 0.7} for courseid in courseids.values() if courseid]
    part = {"after": midnight(after) - 3600 if after else None,
            "until": midnight(until) - 3600 if until else None}
    answer = FakeControl(url, timeout=600).site_action("simulate_progress", {
        "category_idnumber": category_idnumber(plan.year), "seed": plan.year,
        "start": midnight(plan.period.start), "end": midnight(STUDY_ENDS) - 3600, **part,
        "discussions": topics, "surveys": surveys,
        "rates": {"not_started": 0.03, "started": 0.05, "completed": 0.92}, "ground_truth": False,
        "short_below": max((c.reflection.min_chars for c in plan.courses if c.reflection), default=800)})
    counts = answer["counts"]
    return (f"{counts['learners']} cadre-course enrolments: {counts['completed']} completed, "
            f"{counts['started']} started, {counts['not_started']} not started; in this part "
            f"{counts['scorm_sessions']} courseware (SCORM) sessions, {counts['submitted']} reflections "
            f"submitted, {counts['graded']} reviewed ({counts['regraded']} reviewed again), "
            f"{counts['posts']} discussion posts, {counts['survey_answers']} training-needs surveys answered")


def evidence_files(folder: Path) -> tuple[Path, Path]:
    """Two small evidence files a cadre might hand in: a certificate of completion as a PDF, and a photo
    of a conference badge as a PNG (drawn with a CJK font where Debian's are installed)."""
    from PIL import Image, ImageDraw, ImageFont

    font_file = next((f for f in ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                                  "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                  "/usr/share/fonts/truetype/arphic/uming.ttc") if Path(f).is_file()), None)

    def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return ImageFont.truetype(font_file, size) if font_file else ImageFont.load_default()

    def drawn(size: tuple[int, int], lines: list[tuple[str, int]],
              colour: tuple[int, int, int]) -> Image.Image:
        image = Image.new("RGB", size, (255, 253, 245))
        draw = ImageDraw.Draw(image)
        draw.rectangle((8, 8, size[0] - 9, size[1] - 9), outline=colour, width=4)
        y = 40
        for text, points in lines:
            shown = text if font_file else text.encode("ascii", "ignore").decode() or "-"
            width = draw.textlength(shown, font=font(points))
            draw.text(((size[0] - width) / 2, y), shown, fill=(40, 40, 40), font=font(points))
            y += points + 22
        return image

    folder.mkdir(parents=True, exist_ok=True)
    certificate, badge = folder / "结业证书-邓晓晓.pdf", folder / "参会照片-罗超远.png"
    drawn((842, 595), [("结业证书", 44), ("邓晓晓 同志于 2026 年 8 月 19 日至 20 日", 24),
                       ("参加全省高校基层党组织书记培训班，完成全部学习内容，", 24),
                       ("计 8 学时，准予结业。", 24), ("中共示范省委教育工委  2026 年 8 月 20 日", 22)],
          (170, 30, 30)).save(certificate, "PDF", resolution=100)
    drawn((640, 400), [("2026 职业教育产教融合年会", 30), ("参会证  罗超远", 26),
                       ("2026.07.10  示范会展中心", 22)], (30, 80, 160)).save(badge, "PNG", optimize=True)
    return certificate, badge


def offline_hours(env: dict[str, str], artifacts: Path) -> int:
    """Offline study hours: the party-school course's attendance sheet imported (twice: nothing is added the
    second time), a department officer for 商学院, a cadre's claim with its evidence approved by them and
    another rejected with its reason, and the record of a cadre with study time and offline hours."""
    certificate, badge = evidence_files(artifacts / "evidence")
    sheet = str(EXAMPLES / "offline-2026.csv")
    made = subprocess.run([str(BIN / "cadre"), "user", "add", "business-officer", "--role", "officer",
                           "--department", "商学院", "--password-stdin"],
                          input=secrets.token_urlsafe(12) + "\n", env=env, text=True, check=False,
                          stdout=subprocess.DEVNULL)
    if made.returncode != 0:
        return 1
    steps = [
        ("cadre offline import: the attendance sheet (签到表) of a party-school course and a lecture "
         "(examples/offline-2026.csv); the hours count for the 2026 plan, up to its cap of 10",
         ["offline", "import", sheet]),
        ("cadre offline import again: the same sheet adds nothing", ["offline", "import", sheet]),
        ("cadre offline list --trainings: the year's trainings", ["offline", "list", "--trainings"]),
        ("cadre offline claim: 邓晓晓 (商学院) claims a training held elsewhere, with its certificate (PDF)",
         ["offline", "claim", "T21431", "--title", "全省高校基层党组织书记培训班", "--day", "2026-08-20",
          "--hours", "8", "--description", "省委教育工委主办，集中培训两天", "--evidence", str(certificate)]),
        ("cadre offline claim: 罗超远 (商学院) claims a conference, with a photo of their badge (PNG)",
         ["offline", "claim", "T21471", "--title", "2026 职业教育产教融合年会", "--day", "2026-07-10",
          "--hours", "6", "--evidence", str(badge)]),
        ("cadre offline list: the claims waiting for a decision", ["offline", "list"]),
    ]
    if run_steps(steps, env):
        return 1
    claims = claim_ids(env["CADRE_DATABASE_URL"])
    steps = [
        ("cadre offline approve --as business-officer: 商学院's officer approves the certificate",
         ["offline", "approve", str(claims["T21431"]), "--as", "business-officer"]),
        ("cadre offline reject --as business-officer: a badge does not prove hours of study",
         ["offline", "reject", str(claims["T21471"]), "--as", "business-officer", "--reason",
          "参会证不能证明学习学时，请补交主办方出具的学时证明或签到记录后重新申报"]),
        ("cadre offline list --state all: every claim with its decision",
         ["offline", "list", "--state", "all"]),
        ("cadre record: 邓晓晓's record, with the courseware's study time and offline hours (the sheet's "
         "course and the approved claim, counted up to the cap)", ["record", "T21431"]),
    ]
    return run_steps(steps, env)


def claim_ids(database_url: str) -> dict[str, int]:
    """The newest claim of each cadre, by employee number."""
    from sqlalchemy import select

    from plugin_service.db import session_scope
    from plugin_service.models import OfflineClaim

    with session_scope(database_url) as session:
        return {no: claim for no, claim in session.execute(
            select(OfflineClaim.employee_no, OfflineClaim.id).order_by(OfflineClaim.id))}


def bulletin(env: dict[str, str], day: str, artifacts: Path, documents: Path) -> int:
    """The bulletin due on ``day`` sent (once: a second run sends nothing), shown, and its files named."""
    from sqlalchemy import select

    from plugin_service.db import session_scope
    from plugin_service.models import Bulletin

    copy = artifacts / f"bulletin-{day}.pdf"
    steps = [
        (f"cadre bulletin send: the bulletin (通报) due on {day}, ranked from the records of the day before, "
         "to the school leaders and the department heads" + (" and every cadre" if day == ENGAGE_ON else ""),
         ["bulletin", "send", "--today", day, "--show", "3"]),
        ("cadre bulletin send again: each bulletin is sent once", ["bulletin", "send", "--today", day]),
        ("cadre bulletin show: the bulletin's ranked tables and whom it reached; a copy of its PDF",
         ["bulletin", "show", day, "-o", str(copy)]),
    ]
    if run_steps(steps, env):
        return 1
    with session_scope(env["CADRE_DATABASE_URL"]) as session:
        row = session.scalar(select(Bulletin).where(Bulletin.year == 2026, Bulletin.key == day))
        files = [documents / path for path in (row.pdf_path, row.xlsx_path) if path] if row else []
    print(f"\n== The bulletin's files: {', '.join(str(f) for f in files)}")
    return 0


def issue_documents(env: dict[str, str], database: Path, artifacts: Path, documents: Path) -> int:
    """The year's certificates of study hours, learning archives and registration forms, as they stand on
    ``YEAR_END``; one certificate shown; where the files are."""
    from sqlalchemy import select

    from plugin_service.db import session_scope
    from plugin_service.models import Certificate

    steps = [
        ("cadre certificates issue: a certificate of study hours (学时证明书) for every cadre whose record "
         "meets the plan", ["certificates", "issue", "--year", "2026", "--today", YEAR_END]),
        ("cadre certificates issue again: the same facts give the same certificates",
         ["certificates", "issue", "--year", "2026", "--today", YEAR_END]),
        ("cadre archives build: a learning archive (学习档案) and a registration form (登记表) per cadre",
         ["archives", "build", "--year", "2026", "--today", YEAR_END]),
        ("cadre export certificates: the register of certificates as a spreadsheet",
         ["export", "certificates", "--year", "2026", "-o", str(artifacts / "certificates-2026.xlsx")]),
    ]
    if run_steps(steps, env):
        return 1
    with session_scope(f"sqlite:///{database}") as session:
        serial = session.scalar(select(Certificate.serial).where(Certificate.status == "valid",
                                                                 Certificate.employee_no == "T21431"))
        serial = serial or session.scalar(select(Certificate.serial).where(Certificate.status == "valid")
                                          .order_by(Certificate.employee_no).limit(1))
    if serial is not None and run_steps([("cadre certificate show: one certificate, by its serial (its hours "
                                          "line names the online and offline hours)",
                                          ["certificate", "show", serial])], env):
        return 1
    print(f"\n== The documents: {documents / '2026'} (certificates/, archives/, registration/, bulletins and "
          f"the ZIPs {', '.join(p.name for p in sorted((documents / '2026').glob('*.zip')))})")
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


def study(url: str, database: Path, plan: str, after: str | None, until: str | None, what: str) -> None:
    print(f"\n== {what}\n")
    print(simulate_part(url, database, Path(plan), after, until), flush=True)


def at(url: str, day: str) -> None:
    """The fake Moodle's clock at 07:30 on ``day``: the morning job's time, when messages are sent."""
    FakeControl(url).set_clock(time.mktime(time.strptime(f"{day} 07:30", "%Y-%m-%d %H:%M")))


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
        documents = ROOT / "instance" / "demo-documents"  # bulletins, evidence, certificates, archives
        shutil.rmtree(documents, ignore_errors=True)
        env = dict(os.environ, CADRE_MOODLE_URL=url, CADRE_MOODLE_TOKEN=token,
                   CADRE_DATABASE_URL=f"sqlite:///{database}", CADRE_SECRET_KEY=secrets.token_urlsafe(32),
                   CADRE_DOCUMENTS_DIR=str(documents))
        artifacts = ROOT / "artifacts"
        report = artifacts / "doctor.html"
        report.parent.mkdir(exist_ok=True)
        plan, roster = str(EXAMPLES / "plan-2026.yaml"), str(EXAMPLES / "roster-2026.csv")
        steps = [
            ("cadre doctor: is the site ready for Cadre Companion?", ["doctor", "--html", str(report)]),
            ("cadre roster check: the HR roster", ["roster", "check", roster]),
            ("cadre plan check: the 2026 plan against the roster (offline study lets every tier reach its "
             "target)", ["plan", "check", plan, "--roster", roster]),
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

        study(url, database, plan, None, MID_YEAR, "The cadres study in Moodle from March to 30 June: "
              "courses and their courseware, reflections, reviews, the spring topic's posts, the survey")
        at(url, MID_YEAR)
        steps = [(f"cadre harvest: the year read from Moodle into learning records, as of {MID_YEAR}",
                  ["harvest", "--full", "--today", MID_YEAR])]
        if run_steps(steps, env) or bulletin(env, MID_YEAR, artifacts, documents):
            return 1

        study(url, database, plan, MID_YEAR, AS_OF, "The cadres study on to 30 September")
        at(url, AS_OF)
        steps = [
            (f"cadre harvest: completions, grades, reflections, posts and the SCORM courseware's study time "
             f"(学习时长), pace judged on {AS_OF}", ["harvest", "--full", "--today", AS_OF]),
            ("cadre record: one cadre's learning record, with the study time of each course's courseware",
             ["record", "T20408"]),
            ("cadre harvest again: only what changed is read, nothing is written",
             ["harvest", "--today", AS_OF]),
        ]
        if run_steps(steps, env):
            return 1
        print("\n== Offline study hours (线下学时): a training's attendance sheet, and cadres' claims")
        if offline_hours(env, artifacts):
            return 1

        study(url, database, plan, AS_OF, SERVICE_DOWN, "The cadres study on to 7 October")
        print(f"\n== {ENGAGE_ON}: the night's harvest, then the morning's engagement job, by hand")
        at(url, ENGAGE_ON)
        engagement_steps = [
            (f"cadre harvest: the records as of {ENGAGE_ON}", ["harvest", "--full", "--today", ENGAGE_ON]),
            ("cadre discussions sync: the spring topic was posted by hand (adopted, locked after its "
             "window); the autumn one opened on 8 October while the service was down (caught up)",
             ["discussions", "sync", "--today", ENGAGE_ON]),
            ("cadre remind --dry-run: who the reminders due today would reach", [
                "remind", "--dry-run", "--today", ENGAGE_ON, "--show", "5"]),
            ("cadre remind: the autumn reminder to the laggards and one digest to each of their "
             "supervising leaders", ["remind", "--today", ENGAGE_ON]),
            ("cadre remind again: nobody gets a reminder twice", ["remind", "--today", ENGAGE_ON]),
        ]
        if run_steps(engagement_steps, env) or bulletin(env, ENGAGE_ON, artifacts, documents):
            return 1

        study(url, database, plan, SERVICE_DOWN, None, "The cadres study on to the end of October, the "
              "autumn topic's posts included")
        at(url, YEAR_END)
        year_end_steps = [
            (f"cadre harvest: the year as it ends on {YEAR_END}: complete cadres in every tier, the teaching "
             "and section tiers with their offline hours", ["harvest", "--full", "--today", YEAR_END]),
            ("cadre commend: the commendation list (表彰名单) at the year's end",
             ["commend", "--year", "2026", "-o", str(artifacts / "commendation-2026.xlsx")]),
            ("cadre survey summary: the training-needs survey by tier and department",
             ["survey", "summary", "--year", "2026", "-o", str(artifacts / "survey-2026.xlsx")]),
        ]
        if run_steps(year_end_steps, env):
            return 1
        if issue_documents(env, database, artifacts, documents):
            return 1
        print(f"\n== Done. The doctor's report for the Moodle admin: {report}")
        print(f"== The companion's database (plans, journal, audit log, learning records): {database}")
        return serve_console(env)
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
