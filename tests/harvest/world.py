"""A plan year provisioned into a fake Moodle over HTTP, the learners' doings in it, and the check that a
harvest stored what ``truth`` says.

Learners act through the fake's site actions with the fake's clock held at the moment they act, in
time order (what a harvest reads "since" only moves forward, as on a real site), opening the course
page first (which moves Moodle's "last access to course", what an incremental per-user harvest goes
by), and every completion goes into the ``Ledger``. ``simulate`` is the fake's own simulation of a
year; ``spread`` is one whose cadres are drawn to reach every status.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner, Result
from sqlalchemy import select

from moodle_bridge import MoodleClient
from moodle_bridge.fake import RunningFake, stock_site
from moodle_bridge.fake.seed import add_completion_report, seed_course_library
from moodle_bridge.fake.site import FakeSite
from plugin_service.cli import main
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import CourseProgress, DiscussionRecord, LearningRecordRow, ReflectionRecord
from plugin_service.services.harvest import HarvestResult, harvest
from plugin_service.services.provisioning.provision import ApplyResult, apply, check_inputs
from rules.plan import Plan, load_plan

from ..conftest import TOKEN
from ..provisioning.expected import EXAMPLES, tier_of
from ..provisioning.moodle_snapshot import write_calls
from .truth import Ledger, Truth, compute, window

PLAN_FILE, ROSTER_FILE = EXAMPLES / "plan-2026.yaml", EXAMPLES / "roster-2026.csv"
TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 7, 20)  # the day records are computed for: thought's reflection is overdue
FALLBACK_REVIEWER = "T19880"
FILLER = "学习贯彻新时代中国特色社会主义思想推动职业教育高质量发展落实立德树人根本任务"


def moment(day: str, clock: str = "10:00:00") -> int:
    """Unix time of a wall-clock moment in the plan's timezone."""
    return int(dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=TZ).timestamp())


def library_site() -> FakeSite:
    """The content team's course library on a site in the plan's timezone, with the completion report
    an admin makes once (``report.SETUP``)."""
    site = stock_site(tokens={"wsbot": TOKEN})
    seed_course_library(site)
    site.site_action("set_config", {"name": "timezone", "value": "Asia/Shanghai"})
    add_completion_report(site)
    return site


def roster_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def small_roster() -> bytes:
    """Every leader (they review), every cadre on leave, and every eighth other cadre: all tiers, 28."""
    lines = ROSTER_FILE.read_text("utf-8-sig").splitlines()
    kept = [line for n, line in enumerate(lines[1:]) if ",校级," in line or ",离岗," in line or n % 8 == 0]
    return ("\ufeff" + "\n".join([lines[0], *kept]) + "\n").encode("utf-8")


def with_rank(roster: bytes, employee_no: str, old: str, new: str) -> bytes:
    text = roster.decode("utf-8-sig")
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith(employee_no + ","))
    assert f",{old}," in lines[row], lines[row]
    lines[row] = lines[row].replace(f",{old},", f",{new},")
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


@dataclass
class Year:
    """The 2026 plan applied to a fake Moodle; what learners did in it is in the site and the ledger."""

    fake: RunningFake
    settings: Settings
    plan_text: str
    roster: bytes
    courses: dict[str, int]  # course key -> Moodle course id
    users: dict[str, int]  # employee number -> Moodle user id
    ledger: Ledger = field(default_factory=Ledger)
    last: int = 0  # when learners last did something: the clock only moves forward

    @property
    def site(self) -> FakeSite:
        return self.fake.site

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def plan(self) -> Plan:
        return _plan(self.plan_text)

    def rows(self) -> list[dict[str, str]]:
        return roster_rows(self.roster)

    def truth(self, today: dt.date = TODAY) -> Truth:
        with self.site.lock:
            return compute(self.site, self.plan(), self.rows(), self.ledger, today)

    def client(self, **options: Any) -> MoodleClient:
        options = {"timeout": 10, "batch_size": 50, "max_workers": 4, **options}
        return MoodleClient(self.fake.url, TOKEN, **options)

    def harvest(self, path: str = "report", *, full: bool = False, today: dt.date = TODAY,
                client: MoodleClient | None = None) -> HarvestResult:
        if client is not None:
            return harvest(client, self.settings, full=full, path=path, today=today)
        with self.client() as own:
            return harvest(own, self.settings, full=full, path=path, today=today)

    def apply(self, *, plan_text: str | None = None, roster: bytes | None = None) -> ApplyResult:
        """Applies the plan (again), with a changed plan or roster if given."""
        self.plan_text = plan_text if plan_text is not None else self.plan_text
        self.roster = roster if roster is not None else self.roster
        inputs = check_inputs(self.plan_text, "plan-2026.yaml", self.roster, "roster-2026.csv")
        with self.client() as client:
            result = apply(client, inputs, self.settings, actor="test")
        self._fill_empty_courses()
        self.courses, self.users = _ids(self.site, self.plan(), self.rows())
        return result

    def twin(self, database_url: str) -> Year:
        """The same year in another database: applying it again finds Moodle as the plan wants it
        and writes nothing there, so both databases describe the same site."""
        upgrade(database_url)
        twin = Year(self.fake, dataclasses.replace(self.settings, database_url=database_url), self.plan_text,
                    self.roster, {}, {}, self.ledger, self.last)
        writes = sum(write_calls(self.site).values())
        assert not twin.apply().counts, "the twin's apply changed Moodle"
        assert sum(write_calls(self.site).values()) == writes
        return twin

    def _fill_empty_courses(self) -> None:
        """A course the plan creates without a template gets its content (a page learners complete, a
        forum) from the content team, as on the real site, so it can be completed."""
        for idnumber, courseid in _ids(self.site, self.plan(), self.rows())[0].items():
            if not self.site.db["course_completion_criteria"].select(course=courseid):
                made = self.site.site_action("create_activities", {
                    "courseid": courseid, "prefix": f"cadre-2026-{idnumber}", "assignment": False})
                self.site.site_action("set_completion_criteria", {"courseid": courseid,
                                                                  "cmids": [made["page"]["cmid"]]})

    # --- what learners, reviewers and admins do ---------------------------------------------------

    def at(self, when: int) -> None:
        assert when >= self.last, "learners act in time order"
        self.last = when
        self.site.clock.set(when, frozen=True)

    def visit(self, employee_no: str, course: str) -> None:
        """The learner opens the course page: Moodle notes the last access to the course."""
        self.site.site_action("view_course", {"userid": self.users[employee_no],
                                              "courseid": self.courses[course]})

    def page(self, course: str) -> int:
        return next(cm["id"] for cm in self.site.db["course_modules"].select(course=self.courses[course])
                    if cm["modname"] == "page")

    def complete(self, employee_no: str, course: str, when: int) -> None:
        """The learner finishes the course's page, its completion criterion: the course completes."""
        self.at(when)
        self.visit(employee_no, course)
        userid, cmid = self.users[employee_no], self.page(course)
        done = self.site.db["course_modules_completion"].first(coursemoduleid=cmid, userid=userid)
        if done is not None and done.get("completionstate"):  # completed before a reset: tick again
            self.site.site_action("complete_activity", {"userid": userid, "cmid": cmid, "state": 0})
        answer = self.site.site_action("complete_activity", {"userid": userid, "cmid": cmid})
        assert answer["course_completions"]["timecompleted"] == str(when), answer
        self.ledger.completions.append((userid, self.courses[course], when))

    def reset(self, employee_no: str, course: str, when: int) -> None:
        """An admin deletes the learner's course completion."""
        self.at(when)
        answer = self.site.site_action("reset_course_completion", {
            "userid": self.users[employee_no], "courseid": self.courses[course]})
        assert answer["deleted"] >= 1, answer

    def assignment_cm(self, course: str) -> int:
        return next(cm["id"] for cm in self.site.db["course_modules"].select(course=self.courses[course])
                    if cm["modname"] == "assign")

    def submit(self, employee_no: str, course: str, chars: int, when: int) -> None:
        """The learner submits a reflection of ``chars`` visible characters, in the editor's HTML."""
        self.at(when)
        self.visit(employee_no, course)
        answer = self.site.site_action("assign_submit", {
            "userid": self.users[employee_no], "cmid": self.assignment_cm(course), "text": essay(chars)})
        assert not answer["notices"], answer

    def grade(self, employee_no: str, course: str, grade: float, when: int, *, by: str) -> None:
        self.at(when)
        self.site.site_action("assign_grade", {
            "teacherid": self.users[by], "userid": self.users[employee_no],
            "cmid": self.assignment_cm(course), "grade": grade, "feedback": f"评阅意见 {grade:g}"})

    def open_topic(self, topic: str, when: int, *, by: str) -> int:
        """The organisation department posts a discussion topic in its course's general forum."""
        self.at(when)
        spec = next(d for d in self.plan().discussions if d.key == topic)
        forum = next(f for f in self.site.db["forum"].select(course=self.courses[spec.course])
                     if f.get("type") == "general")
        answer = self.site.site_action("forum_add_discussion", {
            "userid": self.users[by], "forumid": forum["id"], "subject": spec.title,
            "message": f"<p>{spec.title}：请结合岗位工作谈谈体会。</p>"})
        return int(answer["discussionid"])

    def reply(self, employee_no: str, discussionid: int, when: int) -> None:
        self.at(when)
        discussion = self.site.db["forum_discussions"].get(discussionid)
        forum = self.site.db["forum"].get(discussion["forum"]) if discussion is not None else None
        assert forum is not None, f"no discussion {discussionid}"
        self.visit(employee_no, next(k for k, id_ in self.courses.items() if id_ == forum["course"]))
        self.site.site_action("forum_reply", {"userid": self.users[employee_no], "discussionid": discussionid,
                                              "message": f"<p>{FILLER[:20]}</p>"})


@functools.lru_cache(maxsize=8)
def _plan(text: str) -> Plan:
    return load_plan(text, "plan-2026.yaml")


def essay(chars: int) -> str:
    """HTML of ``chars`` visible characters as an editor writes it: paragraphs indented with full-width
    spaces, an empty paragraph, an escaped character."""
    body = (FILLER * (chars // len(FILLER) + 1))[:max(chars - 1, 0)]
    paragraphs = [body[i:i + 120] for i in range(0, len(body), 120)]
    text = "".join(f"<p>\u3000\u3000{p}</p>\n" for p in paragraphs)
    return text + "<p>&nbsp;</p>\n<p>&lt;</p>" if chars else ""


def _ids(site: FakeSite, plan: Plan, rows: list[dict[str, str]]) -> tuple[dict[str, int], dict[str, int]]:
    prefix = f"cadre:{plan.year}:course:"
    courses = {str(c["idnumber"])[len(prefix):]: int(c["id"]) for c in site.db["course"]
               if str(c.get("idnumber") or "").startswith(prefix)}
    numbers = {row["工号"] for row in rows}
    users = {str(u["idnumber"]): int(u["id"]) for u in site.db["user"] if u.get("idnumber") in numbers}
    return courses, users


def provision(fake: RunningFake, database_url: str, *, roster: bytes | None = None,
              plan_text: str | None = None) -> Year:
    upgrade(database_url)
    # Documents the daily job writes (a bulletin's files) go to a folder of the year's own, never the
    # working directory's instance/.
    settings = Settings(moodle_url=fake.url, moodle_token=TOKEN, database_url=database_url,
                        secret_key="test", moodle_batch_size=50, moodle_max_workers=4,
                        documents_dir=tempfile.mkdtemp(prefix="cadre-documents-"))
    year = Year(fake, settings, plan_text or PLAN_FILE.read_text("utf-8"),
                roster if roster is not None else ROSTER_FILE.read_bytes(), {}, {})
    year.apply()
    return year


# --- a year's spread of progress ------------------------------------------------------------------

def simulate(year: Year, *, seed: int = 7, until: dt.date = TODAY) -> dict[str, Any]:
    """The fake's own simulation of the year so far (``simulate_progress``): per learner and course
    not started, started or completed, reflections of every length, some graded and regraded, the
    spring topic discussed around its window. Its ground truth of completions goes into the ledger."""
    plan = year.plan()
    spring = next(d for d in plan.discussions if d.key == "spring")
    opens, closes = window(plan, "spring", TZ)
    end = moment(until.isoformat(), "00:00:00") - 3600
    answer: dict[str, Any] = year.site.site_action("simulate_progress", {
        "courseids": sorted(year.courses.values()), "seed": seed, "start": moment("2026-03-02"), "end": end,
        "rates": {"not_started": 0.1, "started": 0.15, "completed": 0.75},
        "short_below": 2000, "short_share": 0.25,
        "discussions": [{"courseid": year.courses[spring.course], "subject": spring.title, "opens": opens,
                         "closes": closes - 1}]})
    year.ledger.completions += [(o["userid"], o["courseid"], o["timecompleted"]) for o in answer["outcomes"]
                                if o["timecompleted"]]
    year.at(end)
    return answer


PROFILES = ("finisher", "steady", "short", "slow", "idle")


def reviewer_of(year: Year, employee_no: str) -> str | None:
    row = next(r for r in year.rows() if r["工号"] == employee_no)
    reviewer = row["分管校领导工号"] or FALLBACK_REVIEWER
    return None if reviewer == employee_no else reviewer


def spread(year: Year, *, seed: int = 2026, until: dt.date = TODAY) -> dict[str, str]:
    """Half a year of learning, always the same for the same seed: some cadres finish everything,
    some keep pace, some write too short a reflection, some barely start, some never do; reviewers
    grade (and regrade) reflections; the spring topic is discussed, around the edges of its window
    too. Everything happens before ``until``. Returns each cadre's profile."""
    rng = random.Random(seed)
    plan = year.plan()
    tiers = {row["工号"]: tier_of(row) for row in year.rows()}
    start, end = moment("2026-03-02", "08:00:00"), moment(until.isoformat(), "00:00:00") - 3600
    events: list[tuple[int, int, Callable[[int], object]]] = []  # (when, order, what is done then)
    profiles: dict[str, str] = {}

    def later(when: int, action: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """``action(*args, when, **kwargs)`` is done at ``when``."""
        events.append((when, len(events), lambda at: action(*args, at, **kwargs)))

    def some_time(low: int = start, high: int = end) -> int:
        when = rng.randint(low, high)
        if rng.random() < 0.1:  # close to midnight in the plan's timezone, either side
            day = dt.datetime.fromtimestamp(when, TZ).date().isoformat()
            when = moment(day, rng.choice(["23:59:30", "23:59:59", "00:00:00", "00:00:20"]))
        return max(low, min(when, high))

    for row in year.rows():
        no, tier = row["工号"], tiers[row["工号"]]
        if tier is None:
            continue
        profile = profiles[no] = rng.choices(PROFILES, weights=(3, 3, 1, 2, 1))[0]
        required = [c.key for c in plan.courses if tier in c.required]
        electives = [c.key for c in plan.courses if tier in c.elective]
        if profile == "finisher":
            chosen = required + electives
        elif profile == "steady":
            chosen = [c for c in required if rng.random() < 0.8] + rng.sample(electives, len(electives) // 2)
        elif profile == "short":
            chosen = rng.sample(required + electives, min(4, len(required + electives)))
        elif profile == "slow":
            chosen = rng.sample(required, rng.randint(0, 2))
        else:
            chosen = []
        for key in chosen:
            later(some_time(), year.complete, no, key)
        for course in plan.courses:
            if tier not in course.required or course.reflection is None or profile in ("idle", "slow") or (
                    profile == "steady" and course.key != "thought"):
                continue
            minimum = course.reflection.min_chars
            chars = rng.randint(minimum, minimum + 400) if profile != "short" else rng.randint(
                minimum - 300, minimum - 1)
            when = some_time(moment("2026-04-15"), moment("2026-06-25"))
            later(when, year.submit, no, course.key, chars)
            reviewer = reviewer_of(year, no)
            if reviewer is not None and rng.random() < 0.7:
                graded = when + rng.randint(3600, 10 * 86400)
                mark = float(rng.randint(60, 95))
                later(graded, year.grade, no, course.key, mark, by=reviewer)
                if rng.random() < 0.2:  # the reviewer changes their mind
                    later(graded + 86400, year.grade, no, course.key, mark + 3, by=reviewer)

    topic: dict[str, int] = {}

    def open_spring(when: int) -> None:
        topic["spring"] = year.open_topic("spring", when, by=FALLBACK_REVIEWER)

    def reply(no: str, when: int) -> None:
        year.reply(no, topic["spring"], when)

    later(moment("2026-03-25"), open_spring)
    talkers = sorted(no for no, profile in profiles.items() if profile in ("finisher", "steady"))
    for no in talkers:
        for _ in range(rng.choice([0, 1, 2, 3, 7])):
            later(rng.randint(moment("2026-03-26"), moment("2026-05-20")), reply, no)
    edges = ["2026-03-31T23:59:59", "2026-04-01T00:00:00", "2026-04-30T23:59:59", "2026-05-01T00:00:00"]
    for no, edge in zip(talkers, edges, strict=False):
        later(moment(*edge.split("T")), reply, no)
    # The topic's opener replies too: the opening post is no contribution, the reply is.
    later(moment("2026-04-02"), reply, FALLBACK_REVIEWER)

    for when, _order, action in sorted(events, key=lambda e: (e[0], e[1])):
        year.at(when)
        action(when)
    return profiles


# --- what was stored, against the truth ---------------------------------------------------------

def utc(timestamp: int | None, precision: int = 1) -> dt.datetime | None:
    """A unix time as the naive UTC time the companion stores; ``precision`` 60 is what a report
    shows (dates to the minute)."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp - timestamp % precision, dt.UTC).replace(tzinfo=None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def stored(database_url: str, year: int = 2026) -> dict[str, dict[Any, Any]]:
    with session_scope(database_url) as session:
        records = {r.employee_no: (r.tier_key, r.status, _round(r.required_hours), _round(r.elective_hours),
                                   _round(r.total_hours), _round(r.discussion_points),
                                   {c["course"]: (c["kind"], c["completed_on"]) for c in r.detail["credits"]})
                   for r in session.scalars(select(LearningRecordRow).where(LearningRecordRow.year == year))}
        progress = {(p.employee_no, p.course_key): (p.first_completed_at, p.completed_at,
                                                    p.reset_seen_at is not None and p.completed_at is None)
                    for p in session.scalars(select(CourseProgress).where(CourseProgress.year == year))}
        reflections = {(r.employee_no, r.course_key): (r.status, r.chars, r.grade, r.grader_userid,
                                                       r.graded_at)
                       for r in session.scalars(select(ReflectionRecord)
                                                .where(ReflectionRecord.year == year))}
        discussions = {(d.employee_no, d.discussion_key): (d.posts_in_window, d.posts_total)
                       for d in session.scalars(select(DiscussionRecord)
                                                .where(DiscussionRecord.year == year))}
    return {"records": records, "progress": progress, "reflections": reflections, "discussions": discussions}


def wanted(truth: Truth, *, precision: int) -> dict[str, dict[Any, Any]]:
    """``stored``'s shape of the truth; completion times to ``precision`` seconds (60: to the minute)."""
    return {
        "records": {no: (r.tier, r.status, _round(r.required_hours), _round(r.elective_hours),
                         _round(r.total_hours), _round(r.discussion_points), r.credits)
                    for no, r in truth.records.items()},
        "progress": {key: (utc(p.first_completed, precision), utc(p.completed_now, precision), p.reset)
                     for key, p in truth.progress.items()},
        "reflections": {key: (r.status, r.chars, r.grade, r.grader_userid, utc(r.graded_at))
                        for key, r in truth.reflections.items()},
        "discussions": dict(truth.discussions),
    }


def same(what: str, want: dict[Any, Any], got: dict[Any, Any]) -> None:
    """Asserts two mappings are equal, naming (a few of) the keys that differ and how."""
    missing = sorted(want.keys() - got.keys(), key=str)
    extra = sorted(got.keys() - want.keys(), key=str)
    differ = sorted((k for k in want.keys() & got.keys() if want[k] != got[k]), key=str)
    if missing or extra or differ:
        lines = [f"{what}: {len(missing)} missing, {len(extra)} unexpected, {len(differ)} different"]
        lines += [f"  missing {k}: want {want[k]}" for k in missing[:8]]
        lines += [f"  unexpected {k}: got {got[k]}" for k in extra[:8]]
        lines += [f"  {k}: want {want[k]}, got {got[k]}" for k in differ[:8]]
        raise AssertionError("\n".join(lines))


def assert_matches(year: Year, truth: Truth, *, precision: int) -> None:
    """Every stored record, progress row, reflection and discussion count is the truth's, exactly."""
    got, want = stored(year.database_url), wanted(truth, precision=precision)
    for part in ("records", "progress", "reflections", "discussions"):
        same(part, want[part], got[part])


def path_precision(path: str) -> int:
    """How exact stored completion times are on ``path``: to the minute on both, since one completion
    has one value whichever path read it (the report prints minutes; the per-user seconds are cut)."""
    return 60


def changed_in(database_url: str, run_id: int) -> dict[str, set[Any]]:
    """What a harvest run wrote: progress rows (by their run) and records (by theirs)."""
    with session_scope(database_url) as session:
        progress = {(no, course) for no, course in session.execute(
            select(CourseProgress.employee_no, CourseProgress.course_key)
            .where(CourseProgress.run_id == run_id))}
        records = set(session.scalars(select(LearningRecordRow.employee_no)
                                      .where(LearningRecordRow.run_id == run_id)))
    return {"progress": progress, "records": records}


def cli(args: list[str], *, database_url: str, fake: RunningFake | None = None,
        **settings: str) -> Result:
    """``cadre ARGS`` in this process, configured only by ``CADRE_*`` variables (none of the
    developer's own)."""
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("CADRE_")}
    env["CADRE_DATABASE_URL"] = database_url
    if fake is not None:
        env.update(CADRE_MOODLE_URL=fake.url, CADRE_MOODLE_TOKEN=TOKEN)
    env.update({f"CADRE_{name.upper()}": value for name, value in settings.items()})
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def write_plan(tmp_path: Path, text: str, name: str = "plan-2026.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
