"""The whole sample year on a real Moodle, with the product's default settings, in the run's namespace.

The sample roster and 2026 plan of ``examples/`` are provisioned whole (137 cadres, six classes, eleven
courses: ten copies of the site's template courses and one empty course). A few cadres then study as
themselves, with tokens of their own from ``/login/token.php`` where the site lets the test make them
(else the service user overrides their activities, and what only a learner can do is left out, saying
so): leaders complete every course they can, others complete some, write reflections long and short
that a reviewer grades, post in the plan's discussion topic and answer the training-needs survey.

Then every job of the year runs against the site: the harvest by both paths (each into its own copy of
the provisioned database), the discussions, the reminders and the certificates. Each figure the product
stores is compared with what Moodle itself answers, read by this test through Moodle's own functions:
completion per cadre and course, reflections, grades and graders, posts in and out of the window, and
survey responses; the messages are read back from Moodle. A second run of each job writes nothing.

The discussion window of the spring topic is moved to contain the day the test runs (when that day lies
in the plan's period), since Moodle stamps a post with the time it is made. Everything made is removed
afterwards (users, classes, courses; web services cannot delete the year's empty category).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import select

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.core_user import UserUpdate
from moodle_bridge.areas.mod_assign import Assignment
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import (
    Cadre,
    Certificate,
    CourseProgress,
    DiscussionRecord,
    DiscussionTopic,
    LearningRecordRow,
    OutboxMessage,
    ReflectionRecord,
    StatusChange,
    YearCourse,
)
from plugin_service.services.documents.certificates import issue_year
from plugin_service.services.engagement import remind, survey, sync_discussions
from plugin_service.services.engagement.outbox import plain
from plugin_service.services.engagement.run import MESSAGE_FUNCTIONS, SURVEY_FUNCTIONS, TOPIC_FUNCTIONS
from plugin_service.services.harvest import find_completion_report, harvest
from plugin_service.services.harvest.run import required_functions as harvest_functions
from plugin_service.services.provisioning.provision import Inputs, apply, check_inputs
from plugin_service.services.provisioning.provision import required_functions as provision_functions

from .conftest import WriteCounter, copy_database, remove_provisioned, require_functions

pytestmark = pytest.mark.live
Cleanup = Callable[[Callable[[], object]], None]

YEAR = 2026
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REMIND_ON = dt.date(YEAR, 10, 15)  # the plan's autumn-laggards reminder: hours_below 35
NO_CRITERIA = "nocriteriaset"
LEARNER_SERVICE = "moodle_mobile_app"
STUDY = ("core_course_get_contents", "core_completion_get_course_completion_status",
         "core_completion_override_activity_completion_status", "mod_assign_get_assignments",
         "mod_assign_get_submissions", "mod_assign_get_grades", "mod_assign_save_grade",
         "mod_forum_get_discussion_posts", "core_user_update_users", "core_user_get_users_by_field")
# Long enough for the plan's minimum (1,500 characters for 学习心得), or not (政策学习调研报告 wants 2,000).
LONG = ("通过本专题学习，我进一步深化了对新时代党的创新理论的理解，结合岗位实际认真查摆问题，"
        "明确了今后努力的方向。") * 40
SHORT = "学习体会：受益匪浅，将在工作中落实。" * 5


# -- the inputs ------------------------------------------------------------------------------------


def plan_text(namespace: str, today: dt.date) -> str:
    """The sample plan, its year's category named in the namespace, the spring topic's window around
    ``today`` where the period allows (Moodle dates a post when it is made)."""
    text = (EXAMPLES / f"plan-{YEAR}.yaml").read_text("utf-8")
    text = text.replace("category: 2026 干部在线学习", f"category: {namespace}2026 干部在线学习", 1)
    period_end = dt.date(YEAR, 12, 15)
    if dt.date(YEAR, 3, 2) <= today < period_end:
        opens, closes = today - dt.timedelta(days=1), min(today + dt.timedelta(days=7), period_end)
        text = text.replace("opens: 2026-04-01\n    closes: 2026-04-30",
                            f"opens: {opens.isoformat()}\n    closes: {closes.isoformat()}", 1)
    return text


def roster_bytes(namespace: str) -> bytes:
    """The sample roster with every address in the namespace: Moodle refuses a second account with an
    address in use, and another run (or the site's own demo year) may hold the plain ones."""
    lines = (EXAMPLES / f"roster-{YEAR}.csv").read_text("utf-8-sig").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) > 7 and "@" in cells[7]:
            cells[7] = namespace.lower() + cells[7]
        out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode("utf-8")


def default_settings(database_url: str, namespace: str) -> Settings:
    """The product's defaults (batch size, concurrency, roles, hours field); only the site, the database,
    the namespace and the site's timezone come from the run."""
    return Settings(moodle_url=os.environ["MOODLE_URL"], moodle_token=os.environ["MOODLE_TOKEN"],
                    database_url=database_url, secret_key="live-sample-year", moodle_namespace=namespace,
                    moodle_timezone=os.environ.get("MOODLE_TIMEZONE", ""))


# -- what the cadres do ------------------------------------------------------------------------------


@dataclasses.dataclass
class Study:
    """What one cadre does this year, chosen by tier."""

    complete: tuple[str, ...] = ()  # course keys
    reflections: dict[str, str] = dataclasses.field(default_factory=dict)  # course key -> text
    grades: dict[str, float] = dataclasses.field(default_factory=dict)  # course key -> the reviewer's grade
    posts: int = 0  # replies in the spring topic
    survey: bool = False


def choose(inputs: Inputs) -> dict[str, Study]:
    """Two school leaders finish every course that can complete (the one empty course cannot); one cadre
    of each other tier does part of the year in a way of its own."""
    classes: dict[str, list[str]] = {}
    for klass in inputs.desired.classes:
        classes.setdefault(klass.tier, []).extend(sorted(klass.members))
    completable = {c.key for c in inputs.plan.courses if c.template}
    leaders = classes["leaders"]
    leader_courses = tuple(sorted(k for c in inputs.plan.courses if "leaders" in c.tiers() and
                                  (k := c.key) in completable))
    chosen = {no: Study(complete=leader_courses, reflections={"thought": LONG}, grades={"thought": 92})
              for no in leaders[:2]}
    chosen[classes["party-admin"][0]] = Study(
        complete=("thought", "integrity"), reflections={"thought": LONG + "补充", "policy": SHORT},
        grades={"thought": 85, "policy": 60}, posts=2)
    chosen[classes["teaching"][0]] = Study(complete=("emergency",), posts=1, survey=True)
    # Started, not complete: a graded reflection in a course whose criterion is not met.
    chosen[classes["section"][0]] = Study(reflections={"thought": SHORT}, grades={"thought": 70}, survey=True)
    chosen[classes["support"][0]] = Study(survey=True)
    return chosen


@dataclasses.dataclass
class Year:
    inputs: Inputs
    settings: Settings  # of the provisioned database, which the cleanup reads
    snapshot: Path  # that database right after provisioning and the first discussion sync
    users: dict[str, int]  # employee number -> Moodle user id
    courses: dict[str, int]  # course key -> Moodle course id
    sender: int  # the service user
    study: dict[str, Study]
    as_learner: dict[str, bool]  # employee number -> acted with their own token (else: overridden)
    learner_note: str  # what the site answered when a learner token was asked for
    today: dt.date
    apply_writes: list[str]  # the write calls of a second apply

    def fresh_database(self, target: Path) -> Settings:
        """A copy of the provisioned database."""
        copy_database(self.snapshot, target)
        return dataclasses.replace(self.settings, database_url=f"sqlite:///{target}")


def learner_token(username: str, password: str) -> tuple[str | None, str]:
    """A learner's own token from the site's login, or None and what the site said."""
    answer = requests.post(f"{os.environ['MOODLE_URL'].rstrip('/')}/login/token.php",
                           data={"username": username, "password": password, "service": LEARNER_SERVICE},
                           timeout=60)
    try:
        body = answer.json()
    except ValueError:
        return None, f"/login/token.php answered HTTP {answer.status_code}, not JSON"
    if isinstance(body, dict) and body.get("token"):
        return str(body["token"]), "ok"
    return None, f"/login/token.php answered {body.get('errorcode') or body.get('error')!r}"


def manual_cmids(client: MoodleClient, courseid: int) -> list[int]:
    """The course's activities with manual completion (the templates' criterion is one)."""
    return [module.id for section in client.core_course.get_contents(courseid) for module in section.modules
            if module.completion == 1]


def reflection_assignment(client: MoodleClient, courseid: int) -> Assignment:
    assignments = [a for a in client.mod_assign.get_assignments([courseid]).assignments
                   if a.course == courseid]
    assert len(assignments) == 1, f"course {courseid} holds {len(assignments)} assignments"
    return assignments[0]


def do_study(client: MoodleClient, year: Year, tokens: dict[str, str]) -> None:
    """Each chosen cadre does what ``choose`` gave them, as themselves where they hold a token."""
    topic = _first_post(client, year)
    for no, study in year.study.items():
        userid = year.users[no]
        token = tokens.get(no)
        learner = MoodleClient(os.environ["MOODLE_URL"], token, timeout=120) if token else None
        try:
            for key in study.complete:
                for cmid in manual_cmids(client, year.courses[key]):
                    if learner is not None:
                        learner.core_completion.update_activity_completion_status_manually(cmid, True)
                    else:
                        client.core_completion.override_activity_completion_status(userid, cmid, 1)
            if learner is None:
                continue  # submissions, posts and answers are a learner's own
            for key, text in study.reflections.items():
                assignment = reflection_assignment(client, year.courses[key])
                editor = {"text": f"<p>{text}</p>", "format": 1, "itemid": 0}
                learner.call("mod_assign_save_submission", {
                    "assignmentid": assignment.id, "plugindata": {"onlinetext_editor": editor}}, write=True)
                if assignment.submissiondrafts:
                    learner.call("mod_assign_submit_for_grading", {
                        "assignmentid": assignment.id, "acceptsubmissionstatement": 1}, write=True)
            for key, grade in study.grades.items():
                assignment = reflection_assignment(client, year.courses[key])
                client.mod_assign.save_grade(assignment.id, userid, grade, feedback_text="<p>已阅。</p>",
                                             max_grade=assignment.grade)
            for number in range(study.posts):
                if topic is not None:
                    learner.mod_forum.add_discussion_post(topic, f"Re: 发言 {number + 1}",
                                                          f"<p>{no} 的第 {number + 1} 次发言。</p>")
            if study.survey:
                _answer_survey(client, learner, year)
        finally:
            if learner is not None:
                learner.close()


def _spring_topic(year: Year) -> int | None:
    """The first post of the spring topic as the discussion sync posted it."""
    with session_scope(year.settings.database_url) as session:
        topic = session.scalar(select(DiscussionTopic).where(DiscussionTopic.year == YEAR,
                                                             DiscussionTopic.key == "spring"))
        return None if topic is None else topic.discussionid


def _first_post(client: MoodleClient, year: Year) -> int | None:
    """The spring topic's first post, which replies answer."""
    discussionid = _spring_topic(year)
    if discussionid is None:
        return None
    return client.mod_forum.get_discussion_posts(discussionid, sortby="id", sortdirection="ASC").posts[0].id


def _survey_feedback(client: MoodleClient, year: Year) -> tuple[int, int] | None:
    """(feedback id, course id) of the training-needs survey in the year's courses, if any."""
    found = client.mod_feedback.get_feedbacks_by_courses(sorted(year.courses.values())).feedbacks
    named = [f for f in found if "培训需求调查" in html.unescape(f.name)]
    return (named[0].id, named[0].course) if named else None


def _answer_survey(client: MoodleClient, learner: MoodleClient, year: Year) -> None:
    feedback = _survey_feedback(client, year)
    assert feedback is not None, "the survey's template copy holds no 培训需求调查"
    feedbackid, courseid = feedback
    responses = []
    for item in learner.mod_feedback.get_items(feedbackid, courseid=courseid).items:
        name = f"{item.typ}_{item.id}"
        if item.typ == "multichoice":
            if item.presentation.startswith("c"):  # several choices
                responses += [{"name": f"{name}[0]", "value": "1"}, {"name": f"{name}[1]", "value": "2"}]
            else:
                responses.append({"name": name, "value": "1"})
        elif item.typ in ("textarea", "textfield"):
            responses.append({"name": name, "value": "希望增加案例教学。"})
    learner.call("mod_feedback_launch_feedback", {"feedbackid": feedbackid, "courseid": courseid},
                 write=False)
    learner.call("mod_feedback_process_page", {"feedbackid": feedbackid, "page": 0, "responses": responses,
                                               "courseid": courseid}, write=True)


@pytest.fixture(scope="module")
def year(live_client: MoodleClient, prefix: str, module_cleanup: Cleanup,
         tmp_path_factory: pytest.TempPathFactory) -> Year:
    require_functions(live_client, *provision_functions(), *harvest_functions("per_user"), *STUDY,
                      *TOPIC_FUNCTIONS, "core_user_delete_users", "core_course_delete_courses",
                      "core_cohort_delete_cohorts")
    namespace = f"{prefix}sy-"
    plan = ZoneInfo("Asia/Shanghai")
    today = dt.datetime.now(plan).date()
    directory = tmp_path_factory.mktemp("sample-year")
    database = f"sqlite:///{directory / 'cadre.sqlite3'}"
    upgrade(database)
    settings = default_settings(database, namespace)
    inputs = check_inputs(plan_text(namespace, today), f"plan-{YEAR}.yaml", roster_bytes(namespace),
                          f"roster-{YEAR}.csv")
    module_cleanup(lambda: remove_provisioned(live_client, inputs, settings))

    applier = MoodleClient(os.environ["MOODLE_URL"], os.environ["MOODLE_TOKEN"], timeout=300,
                           batch_size=settings.moodle_batch_size, max_workers=settings.moodle_max_workers)
    with applier:
        result = apply(applier, inputs, settings, actor="live-test")
        assert result.counts["create_user"] == len(inputs.desired.users)
        with WriteCounter(applier) as again:
            second = apply(applier, inputs, settings, actor="live-test")
    assert second.changes.empty, [op.describe() for op in second.changes.ops[:20]]

    with session_scope(database) as session:
        users = {no: uid for no, uid in session.execute(select(Cadre.employee_no, Cadre.moodle_userid))
                 if uid is not None}
        courses = {key: cid for key, cid in session.execute(
            select(YearCourse.key, YearCourse.moodle_courseid).where(YearCourse.year == YEAR)) if cid}
    sender = live_client.core_webservice.get_site_info().userid
    sync_discussions(live_client, settings, year=YEAR, today=today, actor="live-test")
    snapshot = directory / "provisioned.sqlite3"
    copy_database(directory / "cadre.sqlite3", snapshot)

    study = choose(inputs)
    tokens: dict[str, str] = {}
    note = "ok"
    accounts = {u.id: u.username for u in live_client.core_user.get_users_by_field(
        "id", [users[no] for no in study])}
    for no in study:
        password = f"Cc-{secrets.token_hex(4)}-9Xa!"
        live_client.core_user.update_users([UserUpdate(id=users[no], password=password, preferences={
            "auth_forcepasswordchange": "0"})])  # Moodle mailed one, to be changed at first login
        token, note = learner_token(accounts[users[no]] or "", password)
        if token is None:
            break
        tokens[no] = token
    year = Year(inputs, settings, snapshot, users, courses, sender, study,
                {no: no in tokens for no in study}, note, today, again.writes)
    do_study(live_client, year, tokens)
    return year


# -- what Moodle says --------------------------------------------------------------------------------


@dataclasses.dataclass
class Truth:
    completed: dict[tuple[str, str], int]  # (employee number, course key) -> Moodle's completion time
    enrolled: set[tuple[str, str]]
    submissions: dict[tuple[str, str], tuple[str, int]]  # -> (status, characters of the text)
    grades: dict[tuple[str, str], tuple[float, str]]  # -> (grade, grader's full name)
    posts: dict[str, tuple[int, int]]  # employee number -> (in the spring window, in all)
    survey: set[str]  # who answered


def _text_chars(html_text: str) -> int:
    return len(re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", html_text))))


def moodle_truth(client: MoodleClient, year: Year) -> Truth:
    """What Moodle itself answers for the year, read through its own functions, one by one."""
    by_user = {uid: no for no, uid in year.users.items()}
    learner = year.inputs.plan.moodle.learner_role
    enrolled: set[tuple[str, str]] = set()  # as learners: a reviewer's enrolment tracks no completion
    for key, courseid in year.courses.items():
        for user in client.core_enrol.iter_enrolled_users(courseid, page_size=1000, userfields=["roles"]):
            if user.id in by_user and learner in user.role_shortnames:
                enrolled.add((by_user[user.id], key))

    def completion(pair: tuple[str, str]) -> tuple[tuple[str, str], int | None]:
        no, key = pair
        try:
            status = client.core_completion.get_course_completion_status(year.courses[key], year.users[no])
        except MoodleError as exc:
            if exc.errorcode == NO_CRITERIA:
                return pair, None
            raise
        return pair, status.timecompleted if status.completed else None

    completed = {pair: when for pair, when in client.fan_out(completion, sorted(enrolled)) if when}

    submissions: dict[tuple[str, str], tuple[str, int]] = {}
    grades: dict[tuple[str, str], tuple[float, str]] = {}
    graders: set[int] = set()
    raw_grades: dict[tuple[str, str], tuple[float, int]] = {}
    for course in year.inputs.plan.courses:
        if course.reflection is None or course.key not in year.courses:
            continue
        assignment = reflection_assignment(client, year.courses[course.key])
        for handed_in in client.mod_assign.get_submissions([assignment.id]).assignments:
            for sub in handed_in.submissions:
                if sub.userid in by_user and sub.status != "new":
                    text = "".join(f.text for plugin in sub.plugins for f in plugin.editorfields
                                   if plugin.type == "onlinetext")
                    submissions[(by_user[sub.userid], course.key)] = (sub.status, _text_chars(text))
        for marked in client.mod_assign.get_grades([assignment.id]).assignments:
            for grade in marked.grades:
                if grade.userid in by_user and grade.grade not in ("", None) and float(grade.grade) >= 0:
                    raw_grades[(by_user[grade.userid], course.key)] = (float(grade.grade), grade.grader)
                    graders.add(grade.grader)
    names = {u.id: u.fullname for u in client.core_user.get_users_by_field("id", sorted(graders))} \
        if graders else {}
    for pair, (value, grader) in raw_grades.items():
        grades[pair] = (value, names.get(grader, ""))

    posts: dict[str, tuple[int, int]] = {}
    spring = next(d for d in year.inputs.plan.discussions if d.key == "spring")
    tz = ZoneInfo(year.inputs.plan.moodle.timezone)
    topic = _spring_topic(year)
    if topic is not None:
        counts: Counter[tuple[str, bool]] = Counter()
        for post in client.mod_forum.get_discussion_posts(topic).posts:
            if post.author.id in by_user and post.hasparent:
                day = dt.datetime.fromtimestamp(post.timecreated, tz).date()
                counts[(by_user[post.author.id], spring.opens <= day <= spring.closes)] += 1
        for no in {no for no, _ in counts}:
            posts[no] = (counts[(no, True)], counts[(no, True)] + counts[(no, False)])

    answered: set[str] = set()
    feedback = _survey_feedback(client, year)
    if feedback is not None:
        analysis = client.mod_feedback.get_responses_analysis(feedback[0], courseid=feedback[1])
        answered = {by_user[a.userid] for a in analysis.attempts if a.userid in by_user}
    return Truth(completed, enrolled, submissions, grades, posts, answered)


@pytest.fixture(scope="module")
def truth(live_client: MoodleClient, year: Year) -> Truth:
    return moodle_truth(live_client, year)


def expected_hours(year: Year, truth: Truth, no: str, tier: str) -> tuple[float, float]:
    """Required and elective hours from Moodle's completions and the plan, computed here."""
    plan = year.inputs.plan
    hours = next(t.hours for t in plan.tiers if t.key == tier)
    required = sum(c.hours for c in plan.courses if tier in c.required and (no, c.key) in truth.completed)
    elective = sum(c.hours for c in plan.courses if tier in c.elective and (no, c.key) in truth.completed)
    if hours.elective_max is not None:
        elective = min(elective, hours.elective_max)
    return required, elective


def tiers_of(year: Year) -> dict[str, str]:
    return {no: klass.tier for klass in year.inputs.desired.classes for no in klass.members}


# -- the tests ---------------------------------------------------------------------------------------


def test_the_sample_year_is_provisioned_exactly_and_once(live_client: MoodleClient, year: Year) -> None:
    desired = year.inputs.desired
    namespace = year.settings.moodle_namespace
    assert year.apply_writes == [], "a second apply on unchanged input wrote to Moodle"
    found_cohorts = live_client.core_cohort.iter_search_cohorts(namespace, includes="all")
    cohorts = {c.idnumber: c.id for c in found_cohorts if c.idnumber and c.idnumber.startswith(namespace)}
    members = {m.cohortid: set(m.userids) for m in live_client.core_cohort.get_cohort_members(
        sorted(cohorts.values()))}
    for klass in desired.classes:
        cohort = cohorts[namespace + klass.idnumber]
        assert members[cohort] == {year.users[no] for no in klass.members}, klass.key
    by_user = {uid: no for no, uid in year.users.items()}
    wanted: dict[tuple[str, str], set[str]] = {}
    for enrolment in desired.enrolments:
        key = next(c.key for c in desired.courses if c.idnumber == enrolment.course_idnumber)
        wanted.setdefault((enrolment.employee_no, key), set()).add(enrolment.role)
    found: dict[tuple[str, str], set[str]] = {}
    for key, courseid in year.courses.items():
        for user in live_client.core_enrol.iter_enrolled_users(courseid, page_size=1000, userfields=["roles"],
                                                               onlyactive=True):
            if user.id in by_user:
                found[(by_user[user.id], key)] = set(user.role_shortnames)
    assert found == wanted
    assert len(year.courses) == len(desired.courses)


STORED = (CourseProgress, ReflectionRecord, DiscussionRecord, LearningRecordRow, StatusChange)
# Row ids, times of writing, and the fingerprint each path keeps of what it read.
UNSTABLE = {"id", "run_id", "updated_at", "computed_at", "at", "fingerprint"}


def stored(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every harvested row per cadre, without row ids and times of writing, for comparing two harvests."""
    with session_scope(settings.database_url) as session:
        rows = {}
        for model in STORED:
            columns = [c for c in model.__table__.c if c.name not in UNSTABLE]
            rows[model.__tablename__] = sorted(tuple(r) for r in session.execute(select(*columns)))
        return rows


def check_against_moodle(year: Year, truth: Truth, settings: Settings) -> None:
    tiers = tiers_of(year)
    key_of = {c.idnumber: c.key for c in year.inputs.desired.courses}
    with session_scope(settings.database_url) as session:
        progress = {(r.employee_no, r.course_key): r for r in session.scalars(
            select(CourseProgress).where(CourseProgress.year == YEAR))}
        # Every learner's course; besides, the courses a leader is enrolled in as a reviewer, which
        # track no completion of theirs.
        assert set(progress) >= truth.enrolled
        reviewing = {(e.employee_no, key_of[e.course_idnumber]) for e in year.inputs.desired.enrolments
                     if e.role == year.inputs.plan.moodle.reviewer_role}
        assert set(progress) - truth.enrolled <= reviewing
        for pair, row in progress.items():
            moodle = truth.completed.get(pair)
            if moodle is None:
                assert row.completed_at is None, pair
                continue
            when = dt.datetime.fromtimestamp(moodle, dt.UTC).replace(tzinfo=None)
            assert row.completed_at == when.replace(second=0, microsecond=0), (pair, row.completed_at, when)
            assert row.first_completed_at == row.completed_at
        records = {r.employee_no: r for r in session.scalars(
            select(LearningRecordRow).where(LearningRecordRow.year == YEAR))}
        for no, tier in tiers.items():
            required, elective = expected_hours(year, truth, no, tier)
            record = records[no]
            assert (record.tier_key, record.required_hours, record.elective_hours, record.total_hours) == (
                tier, required, elective, required + elective), no
            missing = sorted(c.key for c in year.inputs.plan.courses
                             if tier in c.required and (no, c.key) not in truth.completed)
            assert sorted(record.detail["required_missing"]) == missing, no
        reflections = {(r.employee_no, r.course_key): r for r in session.scalars(
            select(ReflectionRecord).where(ReflectionRecord.year == YEAR))}
        for pair, (status, chars) in truth.submissions.items():
            assert (reflections[pair].status, reflections[pair].chars) == (status, chars), pair
        for pair, (grade, grader) in truth.grades.items():
            assert reflections[pair].grade == pytest.approx(grade), pair
            assert reflections[pair].grader == grader, pair
        discussions = {r.employee_no: r for r in session.scalars(
            select(DiscussionRecord).where(DiscussionRecord.year == YEAR, DiscussionRecord.discussion_key
                                           == "spring"))}
        assert {no: (r.posts_in_window, r.posts_total) for no, r in discussions.items()} == truth.posts
        # A cadre who did something in a course not (yet) complete shows it started, with its activities.
        for no, study in year.study.items():
            for key in study.reflections:
                if (no, key) not in truth.completed and (no, key) in truth.submissions:
                    row = progress[(no, key)]
                    assert row.started_at is not None, (no, key)


def test_both_harvest_paths_store_what_moodle_says(live_client: MoodleClient, year: Year, truth: Truth,
                                                    tmp_path: Path) -> None:
    paths = ["per_user"]
    functions = live_client.core_webservice.get_site_info().function_names
    report = None
    if {"core_reportbuilder_list_reports", "core_reportbuilder_retrieve_report"} <= functions:
        report = find_completion_report(live_client, os.environ.get("MOODLE_COMPLETION_REPORT", ""))
    if report is not None:
        paths.append("report")
    results = {}
    for path in paths:
        settings = year.fresh_database(tmp_path / f"{path}.sqlite3")
        if path == "report":
            settings = dataclasses.replace(settings, harvest_report=str(report.id))  # type: ignore[union-attr]
        first = harvest(live_client, settings, year=YEAR, path=path, today=year.today)
        assert first.path == path
        check_against_moodle(year, truth, settings)
        before = stored(settings)
        with WriteCounter(live_client) as counter:
            again = harvest(live_client, settings, year=YEAR, path=path, today=year.today)
        assert again.changes == 0 and counter.writes == [], (path, again.steps)
        assert stored(settings) == before
        results[path] = before
    if report is None:
        pytest.skip(f"checked the per-user path against Moodle; the report path was not: the token sees no "
                    f"completion report named {os.environ.get('MOODLE_COMPLETION_REPORT', '')!r}")
    assert results["report"] == results["per_user"], "the two paths stored different facts"


def test_the_learners_studied_as_themselves(year: Year) -> None:
    """The site lets a learner have a token of their own (mobile web services): the year's study was
    done by the cadres, not by overrides. Where it does not, say what the site answered."""
    if not all(year.as_learner.values()):
        pytest.skip(f"checked {LEARNER_SERVICE!r} tokens: {year.learner_note}; completions were overridden "
                    "by the service user and no reflection, post or survey answer was made")


def test_discussions_are_synced_once(live_client: MoodleClient, year: Year, tmp_path: Path) -> None:
    settings = year.fresh_database(tmp_path / "discussions.sqlite3")
    with WriteCounter(live_client) as counter:
        again = sync_discussions(live_client, settings, year=YEAR, today=year.today, actor="live-test")
    assert counter.writes == [] and all(t.action == "nothing" for t in again.topics), again.topics
    with session_scope(settings.database_url) as session:
        topics = {t.key: t for t in session.scalars(
            select(DiscussionTopic).where(DiscussionTopic.year == YEAR))}
    assert set(topics) == {d.key for d in year.inputs.plan.discussions if d.opens <= year.today}
    for key, topic in topics.items():
        course = next(d.course for d in year.inputs.plan.discussions if d.key == key)
        listed = [d for forum in live_client.mod_forum.get_forums_by_courses([year.courses[course]])
                  for d in live_client.mod_forum.iter_forum_discussions(forum.id)
                  if d.discussion == topic.discussionid]
        assert len(listed) == 1, key
        closes = next(d.closes for d in year.inputs.plan.discussions if d.key == key)
        assert listed[0].locked == (closes < year.today), key


def test_reminders_reach_exactly_the_cadres_behind_and_are_read_back(live_client: MoodleClient, year: Year,
                                                                    truth: Truth, tmp_path: Path) -> None:
    require_functions(live_client, *MESSAGE_FUNCTIONS)
    settings = year.fresh_database(tmp_path / "remind.sqlite3")
    harvest(live_client, settings, year=YEAR, path="per_user", today=REMIND_ON - dt.timedelta(days=1))
    first = remind(live_client, settings, year=YEAR, today=REMIND_ON, actor="live-test")
    assert {f.key: f.state for f in first.firings}["autumn-laggards"] == "fired"
    tiers = tiers_of(year)
    behind = {no for no, tier in tiers.items() if sum(expected_hours(year, truth, no, tier)) < 35}
    with session_scope(settings.database_url) as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.source == "autumn-laggards")))
    reminders = {r.recipient: r for r in rows if r.kind == "reminder"}
    assert set(reminders) == behind
    roster = year.inputs.roster
    leads = {no for no in behind if roster[no].supervising_leader}
    digests = [r for r in rows if r.kind == "digest"]
    assert {no for r in digests for no in r.about} == leads
    for digest in digests:
        assert all(roster[no].supervising_leader == digest.recipient for no in digest.about)
    assert first.delivery.refused == 0 and first.delivery.sent == len(rows)
    for row in rows:
        assert row.status == "sent" and row.msgid
        inbox = live_client.core_message.iter_messages(year.users[row.recipient], useridfrom=year.sender,
                                                       type="conversations", read=2)
        got = [m for m in inbox if plain(m.fullmessage or m.text) == plain(row.text)]
        assert [m.id for m in got] == [row.msgid], (row.kind, row.recipient)
    with WriteCounter(live_client) as counter:
        again = remind(live_client, settings, year=YEAR, today=REMIND_ON + dt.timedelta(days=1),
                       actor="live-test")
    assert again.delivery.sent == 0 and counter.writes == []


def test_certificates_go_to_exactly_the_cadres_who_met_the_plan(live_client: MoodleClient, year: Year,
                                                              truth: Truth, tmp_path: Path) -> None:
    settings = year.fresh_database(tmp_path / "certificates.sqlite3")
    settings = dataclasses.replace(settings, documents_dir=str(tmp_path / "documents"), documents_workers=1)
    harvest(live_client, settings, year=YEAR, path="per_user", today=year.today)
    plan = year.inputs.plan
    met = set()
    for no, tier in tiers_of(year).items():
        required, elective = expected_hours(year, truth, no, tier)
        hours = next(t.hours for t in plan.tiers if t.key == tier)
        missing = [c.key for c in plan.courses if tier in c.required and (no, c.key) not in truth.completed]
        if required + elective >= hours.target and required >= hours.required_min and not missing:
            met.add(no)
    assert met, "nobody completed the year: the leaders' study did not complete their courses"
    first = issue_year(settings, YEAR, actor="live-test", today=year.today)
    assert first.counts["issued"] == len(met)
    with session_scope(settings.database_url) as session:
        certified = {c.employee_no for c in session.scalars(
            select(Certificate).where(Certificate.year == YEAR, Certificate.status == "valid"))}
    assert certified == met
    again = issue_year(settings, YEAR, actor="live-test", today=year.today)
    assert (again.counts["issued"], again.counts["reissued"], again.counts["unchanged"]) == (0, 0, len(met))


def test_the_survey_harvest_counts_every_answer(live_client: MoodleClient, year: Year, truth: Truth,
                                               tmp_path: Path) -> None:
    require_functions(live_client, *SURVEY_FUNCTIONS)
    if not all(year.as_learner.values()):
        pytest.skip(f"checked {LEARNER_SERVICE!r} tokens: {year.learner_note}; nobody could answer")
    settings = year.fresh_database(tmp_path / "survey.sqlite3")
    result = survey(live_client, settings, year=YEAR, actor="live-test")
    assert result.survey is not None
    harvested, _summary = result.survey
    assert truth.survey == {no for no, study in year.study.items() if study.survey}
    assert harvested.responses == len(truth.survey)
    with WriteCounter(live_client) as counter:
        survey(live_client, settings, year=YEAR, actor="live-test")
    assert counter.writes == []

