"""Records, from a real Moodle, what the product itself sends: a replayable scenario of a small year.

    MOODLE_URL=... MOODLE_TOKEN=... MOODLE_ADMIN_USER=... MOODLE_ADMIN_PASSWORD=... \
        python -m tests.contract.record_product --version 5.1

The product's own code runs against the site (``MOODLE_TOKEN`` is the service user's token, whose service
holds every function): ``cadre plan apply`` of a small plan and roster in a namespace of its own, then of a
changed roster and plan (a class renamed, a course renamed, a cadre moved to another class, a cadre
departed), then once more (nothing to write); ``cadre doctor``; learners study with their own tokens
(``/login/token.php`` on the mobile service, after the service user set their password); the service
user grades a reflection; a site admin uploads a tiny SCORM 1.2 package (``tests/live/scorm_package.py``)
into the course through Moodle's activity form in Chromium (``tests/live/moodle_pages.py``), and both
learners make attempts in it with their own tokens as the mobile app's player records a session; the
discussion window opens; the harvest on the report path and on the per-user path, each full and then, once
a learner opened the course in Moodle's pages (their last access moves), incremental: they read study
time, and the report path adds the completion report's date filters and reads its changed rows with
them; the survey; the window closes; the reminders, and a reminder whose sending was interrupted is looked
up among Moodle's messages. The functions ``REQUIREMENTS`` lists that the product never calls are called
once through the bridge. Everything made is deleted at the end, and the filters the harvest added are
removed from the report (a report holding them already stops the run before it starts: the harvest
would not add them).

Every call goes through a client whose HTTP session keeps the function, the parameters as the bridge
built them, the exact form sent (without ``wstoken``, ``wsfunction`` and ``moodlewsrestformat``), the
status and the decoded answer. The scenario written (``recordings/<version>/product.json``)
replays against the fake seeded as the recording sites were (the course library of template courses and
the completion report, ``"site": "demo"``):

- ids that differ between a real site and a fake become ``${sN.response...}`` references to the earlier
  answer that first showed them (read by what each id is: a user, a course, an assignment...);
- what a learner did through a web service the fake does not offer or in Moodle's pages, or an admin
  did, is a ``site_action`` step the fake does through its test interface (a learner's token is
  ``issue_token``, the uploaded package ``upload_scorm``, a learner opening the course ``view_course``);
- a read sent again with the same form and answered the same is kept once;
- the completion report lists every enrolment of the site: rows of courses the run did not make are
  left out (the step says how many);
- each call starts at the beginning of a second and is answered within it, so every time Moodle wrote
  is the step's ``at`` (to the second): a replay that sets the fake's clock to ``at`` writes the same
  times, and what depends on them (``since``, posts of the same second) answers the same;
- no token is recorded, ``userprivateaccesskey`` is zeros, and the file is checked for the tokens used.

``--raw FILE`` keeps what was captured before it is tidied; ``--from-raw FILE`` builds the scenario again
from such a file without calling any site.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import html
import json
import os
import re
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select, update

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.core_user import UserUpdate
from moodle_bridge.areas.enrol_manual import Unenrolment
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import Cadre, DiscussionTopic, EngagementRun, OutboxMessage, YearCourse, utcnow
from plugin_service.moodle_requirements import REQUIREMENTS
from plugin_service.services.engagement import remind, survey, sync_discussions
from plugin_service.services.harvest import check_filters, find_completion_report, harvest
from plugin_service.services.provisioning.doctor import diagnose
from plugin_service.services.provisioning.provision import Inputs, apply, check_inputs, preview
from tests.browser.live import chromium, missing_browser
from tests.live import moodle_pages
from tests.live.scorm_package import hundredths, scorm_package, time_span

RECORDINGS = Path(__file__).resolve().parent / "recordings"
CONTROL = ("wstoken", "wsfunction", "moodlewsrestformat")
YEAR = 2026
OPENS, CLOSES = dt.date(YEAR, 12, 1), dt.date(YEAR, 12, 10)
REMIND_ON = dt.date(YEAR, 10, 15)
LEARNER_PASSWORD = "Contract-Learner-2026!"  # the recording's learners' password; they are deleted after
#: Each learner's sessions of the courseware: (attempt, lesson status, session time), in order.
Session_ = tuple[int, str, str]
STUDY: dict[str, tuple[Session_, ...]] = {
    "learner1": ((1, "incomplete", "00:10:00"), (1, "completed", "00:05:30.25"),
                 (2, "incomplete", "00:02:00")),
    "learner2": ((1, "incomplete", "00:03:20.5"),)}
#: The course section the package is uploaded to (the one holding the copied activities on both sites).
COURSEWARE_SECTION = 1
REFLECTION_TEXT = ("<p>通过本次专题学习，我对新时代中国特色社会主义思想的核心要义有了更加系统的认识。"
                   "结合岗位工作，我将把学习成果转化为推动工作的实际行动，在服务师生、深化改革、"
                   "提升治理能力等方面持续用力，做到学思用贯通、知信行统一。</p>")


# --- the plan and rosters -------------------------------------------------------------------------------

def roster(namespace: str, *, changed: bool = False) -> bytes:
    """Five cadres; ``changed``: L003 is promoted into the section tier's rank, L005 has left."""
    mail = namespace.lower()
    l003 = "正科级" if changed else "正处级"
    l005 = "离职" if changed else "在职"
    return f"""工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号
L001,王校长,男,校领导,党政部门,校长,校级,{mail}l001@example.edu,13800000021,在职,
L002,李处长,女,组织部,党政部门,部长,正处级,{mail}l002@example.edu,13800000022,在职,L001
L003,张院长,男,机电学院,教学部门,院长,{l003},{mail}l003@example.edu,13800000023,在职,L001
L004,赵科长,女,组织部,党政部门,科长,正科级,{mail}l004@example.edu,13800000024,在职,L001
L005,钱科长,男,机电学院,教学部门,副科长,副科级,{mail}l005@example.edu,13800000025,{l005},L001
""".encode()


def plan_text(namespace: str, reflection: str, *, changed: bool = False) -> str:
    """Two courses: a copy of TPL-THOUGHT (required, with its reflection, topic and survey) and an empty
    elective; ``changed`` renames the middle tier's class and the elective."""
    middle = f"{namespace}中层干部班" if changed else f"{namespace}中层班"
    extra = f"{namespace}选修课（修订）" if changed else f"{namespace}选修课"
    return f"""year: {YEAR}
title: contract recording plan
organisation: 中共示范职业技术学院委员会组织部
period: {{start: {YEAR}-03-01, end: {YEAR}-12-15}}
moodle: {{category: {namespace}干部在线学习 {YEAR}, learner_role: student, reviewer_role: teacher}}
hours: {{target: 8, required_min: 3}}
tiers:
  - {{key: leaders, name: 校领导, match: {{rank: [校级]}}}}
  - {{key: middle, name: 中层干部, match: {{rank: [正处级, 副处级]}}}}
  - {{key: section, name: 科级干部, match: {{rank: [正科级, 副科级]}}}}
excluded: {{match: {{status: [离岗, 离职]}}}}
classes:
  - {{key: leaders, tier: leaders, name: {namespace}校领导班}}
  - {{key: middle, tier: middle, name: {middle}}}
  - {{key: section, tier: section, name: {namespace}科级班}}
courses:
  - {{key: core, name: {namespace}必修课, hours: 3.5, template: TPL-THOUGHT, required: all,
     reflection: {{title: {json.dumps(reflection, ensure_ascii=False)}, due: {YEAR}-06-30, min_chars: 50}}}}
  - {{key: extra, name: {extra}, hours: 2, elective: all}}
reviewers: {{by: supervising_leader, fallback: L001}}
discussions:
  - {{key: exchange, course: core, title: {namespace}学习交流：如何把学习成果转化为实际行动,
     opens: {OPENS.isoformat()}, closes: {CLOSES.isoformat()}, points: {{per_post: 1, max: 5}}}}
reminders:
  - {{key: urge, on: {REMIND_ON.isoformat()}, when: {{hours_below: 8}}, to: [learner, supervising_leader],
     tiers: [middle, section]}}
"""


# --- capturing every call -----------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    """Parameters as JSON, ``None`` left out as the encoding leaves it out."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value if v is not None]
    return value


def fresh_second() -> float:
    """Waits for the start of the next second and returns the time: a call started then is answered
    within that second, so the times Moodle writes are the second the step records (``at``), and a
    replay whose clock reads ``at`` writes the same ones."""
    now = time.time()
    time.sleep(1.02 - now % 1)
    return time.time()


class Recorder:
    """Keeps every call made through its clients, and the site actions, in order."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.steps: list[dict[str, Any]] = []
        self.secrets: set[str] = set()
        self._lock = threading.Lock()
        self.local = threading.local()

    def client(self, token: str, name: str, **options: Any) -> MoodleClient:
        self.secrets.add(token)
        recorder = self

        class Session(requests.Session):
            def post(self, url: str | bytes, data: Any = None, json: Any = None,
                     **kwargs: Any) -> requests.Response:
                at, started = fresh_second(), time.perf_counter()
                answer = super().post(url, data=data, json=json, **kwargs)
                recorder.add_call(name, [(str(k), str(v)) for k, v in data], answer, at,
                                  (time.perf_counter() - started) * 1000)
                return answer

        class Client(MoodleClient):
            def call(self, wsfunction: str, params: Mapping[str, Any] | None = None, *, write: bool) -> Any:
                recorder.local.params = _jsonable(params or {})
                return super().call(wsfunction, params, write=write)

        options.setdefault("timeout", 180)
        return Client(self.url, token, retries=0, session_factory=Session, **options)

    def add_call(self, token: str, pairs: list[tuple[str, str]], answer: requests.Response, at: float,
                 elapsed_ms: float) -> None:
        try:
            body: Any = answer.json()
        except ValueError:
            body = {"_non_json_body": answer.text}
        step = {"token": token, "function": dict(pairs)["wsfunction"],
                "params": getattr(self.local, "params", {}),
                "encoded": [[k, v] for k, v in pairs if k not in CONTROL],
                "http_status": answer.status_code, "response": body, "at": round(at, 3),
                "elapsed_ms": round(elapsed_ms, 1)}
        with self._lock:
            self.steps.append(step)

    def action(self, name: str, args: dict[str, Any], response: Any, note: str, at: float) -> None:
        with self._lock:
            self.steps.append({"site_action": name, "args": args, "note": note, "response": response,
                               "at": round(at, 3), "elapsed_ms": round((time.time() - at) * 1000, 1)})


# --- what is what: telling a user id from a course id -----------------------------------------------------

#: Parameter names that carry an id, and what the id is of.
PARAM_KINDS = {
    "userid": "user", "userids": "user", "touserid": "user", "useridto": "user", "useridfrom": "user",
    "referenceuserid": "user", "teacherid": "user", "courseid": "course", "courseids": "course",
    "categoryid": "category", "cohortid": "cohort", "cohortids": "cohort", "assignmentid": "assign",
    "assignmentids": "assign", "assignid": "assign", "forumid": "forum", "discussionid": "discussion",
    "postid": "post", "feedbackid": "feedback", "reportid": "report", "cmid": "cm", "since": "time",
    "scormid": "scorm", "scoid": "sco",
}
#: ``id`` fields of written records: (function, list parameter) -> what the id is of.
RECORD_IDS = {("core_user_update_users", "users"): "user",
              ("core_course_update_courses", "courses"): "course",
              ("core_cohort_update_cohorts", "cohorts"): "cohort"}
#: Answer fields that hold an id whatever the function.
ANSWER_KINDS = {
    "userid": "user", "useridfrom": "user", "useridto": "user", "courseid": "course", "course": "course",
    "categoryid": "category", "cmid": "cm", "coursemodule": "cm", "discussion": "discussion",
    "discussionid": "discussion", "assignmentid": "assign", "msgid": "message", "reportid": "report",
}
#: What ``id`` is, by the list holding the record.
ID_IN_LIST = {"courses": "course", "users": "user", "cohorts": "cohort", "assignments": "assign",
              "feedbacks": "feedback", "reports": "report", "discussions": "post", "posts": "post",
              "modules": "cm", "messages": "message", "enrolledcourses": "course", "scorms": "scorm",
              "scoes": "sco"}
#: What ``id`` is in an answer that is a list of records, or one record.
ID_AT_TOP = {"core_user_create_users": "user", "core_user_get_users_by_field": "user",
             "core_enrol_get_enrolled_users": "user", "core_message_get_member_info": "user",
             "core_course_create_courses": "course", "core_course_duplicate_course": "course",
             "core_course_create_categories": "category", "core_course_get_categories": "category",
             "core_cohort_create_cohorts": "cohort", "mod_forum_get_forums_by_courses": "forum",
             "mod_forum_set_lock_state": "discussion", "core_course_get_contents": "section"}
TIME_KEYS = re.compile(r"^(time\w*|created|modified|gradeddate)$")

Path_ = tuple[str | int, ...]


def _leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path, node


def _keys(path: Path_) -> list[str]:
    return [part for part in path if isinstance(part, str)]


def answer_kind(function: str, path: Path_) -> str | None:
    """What an id in an answer is of (None: no id, or one never sent back)."""
    keys = _keys(path)
    if not keys:
        return None
    leaf = keys[-1]
    if function == "mod_feedback_get_items" and leaf == "id" and keys[:1] == ["items"]:
        return "feedbackitem"
    if leaf == "id":
        holder = keys[-2] if len(keys) > 1 else None
        if holder is None:
            return ID_AT_TOP.get(function)
        return ID_IN_LIST.get(holder)
    if TIME_KEYS.match(leaf):
        return "time"
    return ANSWER_KINDS.get(leaf)


def param_kinds(function: str, params: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    """Every parameter that holds an id, with what it is of."""
    for path, value in _leaves(params):
        keys = _keys(path)
        if not keys or isinstance(value, bool):
            continue
        leaf = keys[-1]
        if leaf == "id" and len(keys) >= 2 and (function, keys[0]) in RECORD_IDS:
            yield path, RECORD_IDS[(function, keys[0])]
        elif function == "core_course_create_categories" and leaf == "parent":
            yield path, "category"
        elif function == "core_user_get_users_by_field" and leaf == "values" and params.get("field") == "id":
            yield path, "user"
        elif function == "core_course_get_courses_by_field" and leaf == "value":
            kind = {"id": "course", "ids": "course", "category": "category"}.get(str(params.get("field")))
            if kind:
                yield path, kind
        elif function == "core_cohort_add_cohort_members" and leaf == "value" and len(keys) >= 2:
            holder = _at(params, path[:-1])
            if isinstance(holder, dict) and holder.get("type") == "id":
                yield path, {"cohorttype": "cohort", "usertype": "user"}.get(keys[-2], "")
        elif function == "feedback_respond" and leaf == "answers" and path[-1] == 0:
            yield path, "feedbackitem"
        elif leaf in PARAM_KINDS:
            yield path, PARAM_KINDS[leaf]


def _at(node: Any, path: Path_) -> Any:
    for part in path:
        node = node[part]
    return node


def _put(node: Any, path: Path_, value: Any) -> None:
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _reference(step_id: str, path: Path_) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return "${" + step_id + ".response" + text + "}"


def add_references(steps: list[dict[str, Any]]) -> list[str]:
    """Replaces every id in the parameters by a reference to the earlier answer that first showed it;
    returns what could not be found (those stay as they are: the same on every site, or a problem)."""
    found: dict[tuple[str, str], str] = {}  # (kind, value as text) -> reference
    unresolved = []
    for step in steps:
        function = step.get("function") or step.get("site_action") or ""
        holder = step.get("params") if "params" in step else step.get("args")
        for path, kind in list(param_kinds(function, holder or {})) if holder else []:
            value = _at(holder, path)
            if isinstance(value, str) and "," in value and kind == "course":
                parts = [found.get((kind, part.strip())) for part in value.split(",")]
                if all(parts):
                    _put(holder, path, ",".join(str(part) for part in parts))
                    continue
            reference = found.get((kind, str(value)))
            if reference is not None:
                _put(holder, path, reference)
            elif kind != "time" and str(value) not in ("0", "", "-1"):
                unresolved.append(f"{step['id']} {function} {'.'.join(map(str, path))}={value} ({kind})")
        if step.get("site_action") or not isinstance(step.get("response"), (dict, list)):
            continue
        if isinstance(step["response"], dict) and "exception" in step["response"]:
            continue
        for path, value in _leaves(step["response"]):
            if isinstance(value, bool) or not isinstance(value, (int, str)) or value in ("", 0):
                continue
            shown = answer_kind(step["function"], path)
            if shown is not None:
                found.setdefault((shown, str(value)), _reference(step["id"], path))
    return unresolved


# --- tidying what was recorded ----------------------------------------------------------------------------

def _same_read(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a.get("function") == b.get("function") and a.get("token") == b.get("token")
            and a.get("encoded") == b.get("encoded") and a.get("response") == b.get("response"))


READS = re.compile(r"_(get|search|list|retrieve)_|_get$|_info$")


def tidy(steps: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """Drops reads repeated with the same answer, leaves other users' report rows out, zeros private
    keys, and numbers the steps."""
    kept: list[dict[str, Any]] = []
    for step in steps:
        function = step.get("function") or ""
        response = step.get("response")
        if isinstance(response, dict) and "userprivateaccesskey" in response:
            response["userprivateaccesskey"] = "0" * len(str(response["userprivateaccesskey"]))
        if function and READS.search(function) and any(_same_read(step, k) for k in kept):
            continue
        if function == "core_reportbuilder_retrieve_report" and isinstance(response, dict) \
                and isinstance(response.get("data"), dict):
            rows = response["data"].get("rows") or []
            mine = [row for row in rows if any(namespace in str(cell) for cell in row.get("columns", []))]
            if len(mine) != len(rows):
                response["data"]["rows"] = mine
                step["note"] = (f"the report lists every enrolment of the site: {len(rows) - len(mine)} "
                                "rows of courses this run did not make (the site's own, other users' "
                                "runs) are left out; totalrowcount is as Moodle said")
        kept.append(step)
    for number, step in enumerate(kept, 1):
        step["id"] = f"s{number}"
    return kept


def ordered(step: dict[str, Any]) -> dict[str, Any]:
    first = ("id", "token", "site_action", "function", "args", "params", "encoded", "http_status", "note",
             "response", "at", "elapsed_ms")
    return {key: step[key] for key in (*first, *sorted(set(step) - set(first))) if key in step}


# --- the run ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Run:
    recorder: Recorder
    client: MoodleClient  # recorded, the service user's token
    quiet: MoodleClient  # not recorded: the recorder's own look-ups and the clean-up
    settings: Settings
    namespace: str
    workdir: Path

    def settings_on(self, name: str) -> Settings:
        """The settings on a copy of the database as it stands (``name``.sqlite3)."""
        source = Path(self.settings.database_url.removeprefix("sqlite:///"))
        target = self.workdir / f"{name}.sqlite3"
        with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
            original.backup(copy)  # reads through the write-ahead log
        return dataclasses.replace(self.settings, database_url=f"sqlite:///{target}")


def learner_token(url: str, username: str) -> str:
    answer = requests.post(url.rstrip("/") + "/login/token.php", timeout=60, data={
        "username": username, "password": LEARNER_PASSWORD, "service": "moodle_mobile_app"})
    body = answer.json()
    if "token" not in body:
        raise RuntimeError(f"/login/token.php refused {username}: {body.get('errorcode') or body}")
    return str(body["token"])


def record(url: str, token: str, workdir: Path, prefix: str) -> dict[str, Any]:
    """Runs the year against the site; returns what was captured, as it was (``raw``)."""
    recorder = Recorder(url)
    client = recorder.client(token, "wsbot", batch_size=50, max_workers=1)
    quiet = MoodleClient(url, token, timeout=180, retries=2, batch_size=50, max_workers=1)
    database = f"sqlite:///{workdir / 'cadre.sqlite3'}"
    upgrade(database)
    settings = Settings(moodle_url=url, moodle_token=token, database_url=database, secret_key="recording",
                        moodle_namespace=prefix, moodle_batch_size=50, moodle_max_workers=1,
                        moodle_timezone=os.environ.get("MOODLE_TIMEZONE", ""))
    template = quiet.call("core_course_get_courses_by_field", {"field": "shortname", "value": "TPL-THOUGHT"},
                          write=False)["courses"][0]
    essays = quiet.mod_assign.get_assignments([int(template["id"])]).assignments
    essay = next(a for a in essays if a.grade > 0)
    reflection = html.unescape(essay.name).strip()
    first = check_inputs(plan_text(prefix, reflection), "plan.yaml", roster(prefix), "roster.csv")
    later = check_inputs(plan_text(prefix, reflection, changed=True), "plan.yaml",
                         roster(prefix, changed=True), "roster.csv")
    run = Run(recorder, client, quiet, settings, prefix, workdir)
    report_filters = filters_before(quiet)
    started = int(time.time())
    try:
        _year(run, first, later)
    finally:
        _clean_up(run, later)
        remove_added_filters(quiet, *report_filters)
        client.close()
        quiet.close()
    raw = {"run_prefix": prefix, "recorded_at": started, "steps": recorder.steps}
    text = json.dumps(raw, ensure_ascii=False)
    if any(secret and secret in text for secret in recorder.secrets):
        raise RuntimeError("a token is in what was captured: nothing is written")
    return raw


def scenario_of(raw: dict[str, Any]) -> dict[str, Any]:
    """The replayable scenario of what ``record`` captured."""
    prefix = str(raw["run_prefix"])
    steps = tidy(json.loads(json.dumps(raw["steps"])), prefix)
    for line in add_references(steps):
        print("an id left as it is:", line, file=sys.stderr)
    site = next((s["response"] for s in steps if s.get("function") == "core_webservice_get_site_info"
                 and isinstance(s["response"], dict) and "release" in s["response"]), {})
    return {
        "title": "The product's own calls over a small year: provisioning twice (then nothing to do), the "
                 "doctor, learners studying (a reflection, a survey, SCORM courseware an admin uploaded), "
                 "the harvest on both paths (full, then incremental with the report's date filters), the "
                 "survey, a discussion window, reminders and a message looked up after an interrupted "
                 "sending",
        "moodle_release": site.get("release", ""), "run_prefix": prefix, "recorded_at": raw["recorded_at"],
        "site": "demo",
        "note": "Recorded by tests/contract/record_product.py driving plugin_service itself against a site "
                "holding the course library of template courses (TPL-*) and the completion report "
                "'Course completion export', as moodle_bridge.fake.seed's 'demo' makes them. Other users "
                "of the shared site had their own objects there; the steps whose answers list the whole "
                "site say so.",
        "steps": [ordered(step) for step in steps],
    }


def _year(run: Run, first: Inputs, later: Inputs) -> None:
    client, quiet, settings, recorder = run.client, run.quiet, run.settings, run.recorder
    apply(client, first, settings, actor="recording")
    apply(client, later, settings, actor="recording")
    again = apply(client, later, settings, actor="recording")
    if not again.changes.empty:
        raise RuntimeError(f"the third apply still had changes: {again.changes.counts()}")
    diagnose(client)

    with session_scope(settings.database_url) as session:
        courses = {row.key: int(row.moodle_courseid) for row in session.scalars(
            select(YearCourse).where(YearCourse.year == YEAR)) if row.moodle_courseid is not None}
        users = {row.employee_no: int(row.moodle_userid) for row in session.scalars(select(Cadre))
                 if row.moodle_userid is not None}
    core = courses["core"]
    contents = client.core_course.get_contents(core)
    modules = {m.modname: m for section in contents for m in section.modules}
    page, essay_cm, feedback_cm = modules["page"], modules["assign"], modules["feedback"]
    assignments = client.mod_assign.get_assignments([core]).assignments
    assignment = next(a for a in assignments if a.cmid == essay_cm.id)

    learners = {"learner1": "L002", "learner2": "L004"}
    tokens: dict[str, MoodleClient] = {}
    for name, no in learners.items():
        client.core_user.update_users([UserUpdate(id=users[no], password=LEARNER_PASSWORD,
                                                  preferences={"auth_forcepasswordchange": "0"})])
        username = f"{run.namespace}{no}".lower()
        at = fresh_second()
        token = learner_token(recorder.url, username)
        recorder.action("issue_token", {"userid": users[no], "service": "moodle_mobile_app"},
                        {"userid": users[no], "token": f"<token {name}: not recorded>"},
                        f"the learner {no} signs in to the mobile app (/login/token.php?service="
                        "moodle_mobile_app) once the service user set the password and "
                        "auth_forcepasswordchange=0", at)
        tokens[name] = recorder.client(token, name, batch_size=50, max_workers=1)
    one, two = tokens["learner1"], tokens["learner2"]

    # learner 1 reads the page and marks it done: the course's completion criterion
    one.call("core_completion_update_activity_completion_status_manually", {"cmid": page.id, "completed": 1},
             write=True)
    # both write their reflection (the fake's assign_submit does what the two calls do)
    for name, learner in (("learner1", one), ("learner2", two)):
        no = learners[name]
        with _unrecorded(recorder) as submitting:
            saved = learner.call("mod_assign_save_submission", {
                "assignmentid": assignment.id,
                "plugindata": {"onlinetext_editor": {"text": REFLECTION_TEXT, "format": 1, "itemid": 0}}},
                write=True)
            submitted = learner.call("mod_assign_submit_for_grading", {
                "assignmentid": assignment.id, "acceptsubmissionstatement": 1}, write=True)
        recorder.action("assign_submit", {"userid": users[no], "cmid": essay_cm.id, "text": REFLECTION_TEXT},
                        {"mod_assign_save_submission": saved, "mod_assign_submit_for_grading": submitted},
                        f"the learner {no} writes the reflection and submits it for grading with their own "
                        "token (mod_assign_save_submission, mod_assign_submit_for_grading)", submitting.at)
    # the reviewer's grade, given here by the service user
    client.mod_assign.save_grade(assignment.id, users["L002"], round(assignment.grade * 0.86, 2),
                                 feedback_text="<p>认真，有体会。</p>", max_grade=assignment.grade)

    # the survey: both answer it with their own tokens
    for name, learner in (("learner1", one), ("learner2", two)):
        no = learners[name]
        feedbacks = learner.call("mod_feedback_get_feedbacks_by_courses", {"courseids": [core]},
                                 write=False)["feedbacks"]
        feedback = next(f for f in feedbacks if int(f["coursemodule"]) == feedback_cm.id)
        items = learner.call("mod_feedback_get_items", {"feedbackid": feedback["id"]}, write=False)["items"]
        answers, responses = _survey_answers(items, second=name == "learner2")
        with _unrecorded(recorder) as answering:
            answered = learner.call("mod_feedback_process_page", {
                "feedbackid": feedback["id"], "page": 0, "responses": responses}, write=True)
        recorder.action("feedback_respond", {"userid": users[no], "cmid": feedback_cm.id, "answers": answers},
                        {"mod_feedback_process_page": answered},
                        f"the learner {no} answers the survey with their own token "
                        "(mod_feedback_process_page)", answering.at)

    # the courseware: an admin uploads a SCORM package into the course; both learners study it with
    # their own tokens, as the mobile app's player records a session
    courseware = upload_courseware(run, core)
    for name, sessions in (("learner1", STUDY["learner1"]), ("learner2", STUDY["learner2"])):
        study(tokens[name], core, courseware.cmid, sessions)

    # the discussion window opens; learner 1 replies in it
    sync_discussions(client, settings, year=YEAR, today=OPENS, actor="recording")
    with session_scope(settings.database_url) as session:
        topic = session.scalar(select(DiscussionTopic).where(DiscussionTopic.year == YEAR))
        assert topic is not None and topic.discussionid is not None
        discussionid = int(topic.discussionid)
    posts = one.call("mod_forum_get_discussion_posts", {"discussionid": discussionid}, write=False)["posts"]
    first_post = min(posts, key=lambda p: int(p["id"]))
    one.call("mod_forum_add_discussion_post", {
        "postid": first_post["id"], "subject": "Re: 学习交流",
        "message": "<p>结合岗位谈几点体会：一是学深悟透，二是学以致用。</p>"}, write=True)

    # the harvest, on each path from the same database: a full one, then, once a learner opened the
    # course in Moodle (their last access moves), an incremental one
    provisioned = run.settings_on("provisioned")
    day = REMIND_ON - dt.timedelta(days=1)
    for path, path_settings, visitor in (("report", settings, "L004"), ("per_user", provisioned, "L002")):
        for full in (True, False):
            if not full:
                open_course(run, users[visitor], f"{run.namespace}{visitor}".lower(), core)
            done = harvest(client, path_settings, path=path, today=day, full=full)
            if done.path != path or done.mode != ("full" if full else "incremental"):
                raise RuntimeError(f"the harvest was {done.mode} on the {done.path} path, not "
                                   f"{'full' if full else 'incremental'} on {path}")
            if "study" not in done.steps:
                raise RuntimeError(f"the {done.mode} harvest on {path} read no study time: {done.steps}")
    survey(client, settings, year=YEAR, actor="recording")
    sync_discussions(client, settings, year=YEAR, today=CLOSES + dt.timedelta(days=1), actor="recording")

    # the reminders; then one whose sending was interrupted is looked up among Moodle's messages
    first_run = remind(client, settings, year=YEAR, today=REMIND_ON, actor="recording")
    if first_run.delivery.sent < 1:
        raise RuntimeError(f"no reminder was sent: {first_run.delivery}")
    with session_scope(settings.database_url) as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder",
                                                         OutboxMessage.status == "sent"))
        assert row is not None
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
            status="sending", msgid=None, sent_at=None, claimed_at=utcnow()))
        ended = session.get(EngagementRun, first_run.run_id)
        assert ended is not None and ended.status == "done"
    settled = remind(client, settings, year=YEAR, today=REMIND_ON + dt.timedelta(days=3), actor="recording")
    if settled.delivery.confirmed != 1:
        raise RuntimeError(f"the interrupted reminder was not found in Moodle: {settled.delivery}")

    # what REQUIREMENTS lists and the product does not call (yet)
    state = preview(quiet, later, settings).actual
    client.core_cohort.get_cohorts(sorted(c.id for c in state.classes.values()))
    client.enrol_manual.unenrol_users([Unenrolment(userid=users["L005"], courseid=courses["extra"])])
    _check_recorded(recorder)


@dataclasses.dataclass(frozen=True)
class Courseware:
    """The SCORM package the admin uploaded into the course."""

    cmid: int
    scormid: int
    scoids: tuple[int, ...]


def _admin() -> tuple[str, str]:
    return os.environ["MOODLE_ADMIN_USER"], os.environ["MOODLE_ADMIN_PASSWORD"]


def upload_courseware(run: Run, courseid: int) -> Courseware:
    """An admin uploads the package through the SCORM activity form in Chromium (a ``site_action`` whose
    arguments say what Moodle read from the package, as the fake's ``upload_scorm`` takes them)."""
    recorder, quiet, url = run.recorder, run.quiet, run.recorder.url
    title = f"{run.namespace}新思想学习课件"
    identifier = f"{run.namespace}lesson"
    filename = "lesson.zip"
    package = scorm_package(identifier, title)
    at = fresh_second()
    with chromium() as browser:
        context = moodle_pages.session(browser)
        try:
            page = moodle_pages.sign_in(context, url, *_admin())
            cmid = moodle_pages.add_scorm_activity(page, url, courseid, package, filename, title,
                                                   section=COURSEWARE_SECTION)
        finally:
            context.close()
    scorm = next(s for s in quiet.mod_scorm.get_scorms_by_courses([courseid]).scorms
                 if s.coursemodule == cmid)
    scoes = quiet.mod_scorm.get_scorm_scoes(scorm.id).scoes
    organizations = [sco for sco in scoes if not sco.launchable]
    launchable = [sco for sco in scoes if sco.launchable]
    module = next(m for section in quiet.core_course.get_contents(courseid) for m in section.modules
                  if m.id == cmid)
    args = {"courseid": courseid, "name": title, "section": COURSEWARE_SECTION,
            "completion": int(module.completion or 0), "version": scorm.version, "reference": scorm.reference,
            "packagesize": scorm.packagesize, "manifest": scoes[0].manifest if scoes else identifier,
            "organization": organizations[0].identifier if organizations else "",
            "scoes": [{"identifier": sco.identifier, "title": sco.title, "launch": sco.launch}
                      for sco in launchable]}
    made = Courseware(cmid, scorm.id, tuple(sco.id for sco in launchable))
    recorder.action("upload_scorm", args, {"cmid": cmid, "instance": scorm.id, "name": title,
                                           "modname": "scorm", "version": scorm.version,
                                           "scoids": list(made.scoids)},
                    f"a site admin adds a SCORM 1.2 package ({filename}: {len(package)} bytes, one SCO) to "
                    f"the course's section {COURSEWARE_SECTION} through the activity form in a browser "
                    "(course/modedit.php?add=scorm, the file picker's Upload a file)", at)
    return made


def study(learner: MoodleClient, courseid: int, cmid: int, sessions: tuple[Session_, ...]) -> None:
    """A learner's sessions of the package's SCO, as the mobile app's player records each when it ends:
    it finds the package and its SCO, reads the attempt's tracks so far, and saves the status, the
    session's time and the attempt's new total (the total so far plus the session)."""
    scorm = next(s for s in learner.mod_scorm.get_scorms_by_courses([courseid]).scorms
                 if s.coursemodule == cmid)
    sco = next(s for s in learner.mod_scorm.get_scorm_scoes(scorm.id).scoes if s.launchable)
    for attempt, status, session_time in sessions:
        data = learner.mod_scorm.get_scorm_user_data(scorm.id, attempt)
        mine = next((d for d in data.data if d.scoid == sco.id), None)
        before = next((item.value for item in (mine.userdata if mine else ())
                       if item.element == "cmi.core.total_time"), "00:00:00")
        total = time_span(hundredths(before) + hundredths(session_time))
        saved = learner.mod_scorm.insert_scorm_tracks(sco.id, attempt, {
            "cmi.core.lesson_status": status, "cmi.core.session_time": session_time,
            "cmi.core.total_time": total})
        if saved.warnings or len(saved.trackids) != 3:
            raise RuntimeError(f"the tracks of attempt {attempt} were not saved: {saved}")


def open_course(run: Run, userid: int, username: str, courseid: int) -> None:
    """A learner signs in to Moodle in Chromium and opens the course's page: Moodle writes their last
    access to the course (a ``site_action``, ``view_course`` in the fake)."""
    url = run.recorder.url
    at = fresh_second()
    with chromium() as browser:
        context = moodle_pages.session(browser)
        try:
            page = moodle_pages.sign_in(context, url, username, LEARNER_PASSWORD)
            page.goto(f"{url}/course/view.php?id={courseid}")
            if f"id={courseid}" not in page.url:
                raise RuntimeError(f"{username} could not open course {courseid}: Moodle showed {page.url}")
        finally:
            context.close()
    run.recorder.action("view_course", {"userid": userid, "courseid": courseid},
                        {"userid": userid, "courseid": courseid, "timeaccess": int(at)},
                        "the learner signs in to Moodle's web pages and opens the course "
                        "(course/view.php): Moodle writes their last access to it", at)


class _unrecorded:
    """Calls made inside are left out of the recording (what a site action stands for)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def __enter__(self) -> _unrecorded:
        self.count = len(self.recorder.steps)
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls = self.recorder.steps[self.count:]
        del self.recorder.steps[self.count:]

    @property
    def at(self) -> float:
        """When the first call inside started (without submission drafts, saving is submitting)."""
        return float(self.calls[0]["at"])


def _survey_answers(items: list[dict[str, Any]], *,
                    second: bool) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """The answers as the fake takes them ([[itemid, value]]) and as mod_feedback_process_page does."""
    answers: list[list[Any]] = []
    responses: list[dict[str, Any]] = []
    for item in items:
        itemid, typ = int(item["id"]), str(item["typ"])
        presentation = str(item.get("presentation") or "")
        if typ == "multichoice" and presentation.startswith("c"):
            chosen = [2, 4] if second else [1, 3]
            answers.append([itemid, "|".join(map(str, chosen))])
            responses += [{"name": f"multichoice_{itemid}[{c}]", "value": str(c)} for c in chosen]
        elif typ == "multichoice":
            chosen_one = 4 if second else 2
            answers.append([itemid, str(chosen_one)])
            responses.append({"name": f"multichoice_{itemid}", "value": str(chosen_one)})
        elif typ in ("textarea", "textfield"):
            text = "希望多安排案例教学。" if second else "建议增加线下交流。"
            answers.append([itemid, text])
            responses.append({"name": f"{typ}_{itemid}", "value": text})
    return answers, responses


def _check_recorded(recorder: Recorder) -> None:
    succeeded = {step["function"] for step in recorder.steps if step.get("function")
                 and step["http_status"] == 200 and not (isinstance(step["response"], dict)
                                                         and "exception" in step["response"])}
    missing = [r.function for r in REQUIREMENTS if r.function not in succeeded]
    if missing:
        raise RuntimeError("no successful call recorded of " + ", ".join(missing))


def _clean_up(run: Run, later: Inputs) -> None:
    """Deletes the year's courses, cohorts, users and category (not recorded)."""
    quiet = run.quiet
    try:
        state = preview(quiet, later, run.settings).actual
    except Exception as exc:  # noqa: BLE001 - reported; the clean-up goes on by name below
        print(f"clean-up: cannot read the year back ({exc})", file=sys.stderr)
        return
    courses = sorted({c.id for c in [*state.courses.values(), *state.courses_by_shortname.values()]})
    cohorts = [c.id for c in state.classes.values()]
    users = [u.id for u in state.users.values()]
    category = state.category.id if state.category is not None else None
    undo: list[tuple[str, Any, Any]] = [
        ("courses", quiet.core_course.delete_courses, courses),
        ("cohorts", quiet.core_cohort.delete_cohorts, cohorts),
        ("users", quiet.core_user.delete_users, users),
        ("category", lambda ids: quiet.call("core_course_delete_categories", {
            "categories": [{"id": i, "recursive": 1} for i in ids]}, write=True),
         [category] if category else [])]
    for what, call, ids in undo:
        if not ids:
            continue
        try:
            call(ids)
        except MoodleError as exc:
            print(f"clean-up of {what} {ids} failed: {exc}", file=sys.stderr)


def filters_before(quiet: MoodleClient) -> tuple[int, frozenset[int]]:
    """The completion report and its filters before the run. The harvest adds the date filters a read of
    changed rows needs, as on a site where nobody added them: a report holding one already would not
    show that, so the run does not start."""
    report = find_completion_report(quiet)
    if report is None:
        raise RuntimeError("the site has no completion report (moodle_bridge.fake.seed's 'demo' makes one)")
    status = check_filters(quiet, report, frozenset({"core_reportbuilder_reports_get"}))
    if status.present:
        held = ", ".join(sorted(status.present))
        raise RuntimeError(f"the completion report {report.id} has the filters {held} already (an earlier "
                           "run's?): remove them in Moodle, or reset the site")
    view = quiet.core_reportbuilder.reports_get(report.id, editmode=True, pagesize=1)
    return report.id, frozenset(f.id for f in (view.filters.activefilters if view.filters else ()))


def remove_added_filters(quiet: MoodleClient, reportid: int, before: frozenset[int]) -> None:
    """Removes the filters the run's harvests added to the completion report (not recorded)."""
    try:
        view = quiet.core_reportbuilder.reports_get(reportid, editmode=True, pagesize=1)
        for found in view.filters.activefilters if view.filters else ():
            if found.id not in before:
                quiet.core_reportbuilder.filters_delete(reportid, found.id)
    except MoodleError as exc:
        print(f"clean-up of the report's filters failed: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, choices=("5.1", "4.5"))
    parser.add_argument("--out", type=Path, help="default: recordings/<version>/product.json")
    parser.add_argument("--prefix", default=f"ccrec-{secrets.token_hex(3)}-")
    parser.add_argument("--raw", type=Path, help="also keep what was captured, before it is tidied, here")
    parser.add_argument("--from-raw", type=Path, help="build the scenario from a --raw file; call no site")
    args = parser.parse_args(argv)
    out = args.out or RECORDINGS / args.version / "product.json"
    if args.from_raw:
        raw = json.loads(args.from_raw.read_text("utf-8"))
    else:
        url, token = os.environ.get("MOODLE_URL"), os.environ.get("MOODLE_TOKEN")
        if not url or not token:
            parser.error("set MOODLE_URL and MOODLE_TOKEN (the service user's token)")
        if not os.environ.get("MOODLE_ADMIN_USER") or not os.environ.get("MOODLE_ADMIN_PASSWORD"):
            parser.error("set MOODLE_ADMIN_USER and MOODLE_ADMIN_PASSWORD: a site admin uploads the SCORM "
                         "package through Moodle's activity form")
        reason = missing_browser()
        if reason is not None:
            parser.error(f"the package is uploaded and a course opened in Chromium: {reason}")
        with tempfile.TemporaryDirectory(prefix="record-product-") as directory:
            raw = record(url, token, Path(directory), args.prefix)
        if args.raw:
            args.raw.write_text(json.dumps(raw, ensure_ascii=False) + "\n", "utf-8")
    scenario = scenario_of(raw)
    release = str(scenario["moodle_release"])
    if not release.startswith(args.version):
        print(f"the site is {release}, not {args.version}: not written", file=sys.stderr)
        return 2
    out.write_text(json.dumps(scenario, ensure_ascii=False, indent=1) + "\n", "utf-8")
    functions = sorted({s["function"] for s in scenario["steps"] if s.get("function")})
    print(f"{out}: {len(scenario['steps'])} steps, {len(functions)} functions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
