"""The harvest of a small plan year on a real Moodle, end to end, in the run's namespace.

The year is provisioned as the provisioning test does (a copy of the template course as the required
course, an empty elective), then Moodle is given something to harvest: two cadres complete the copied
course (the service user overrides its criterion activities, which Moodle aggregates at once), one of
them gets a reviewer's grade on the course's assignment, and a topic of the plan is posted with one
reply by the service user (who is no cadre, so it earns nobody points). Learner submissions are not
made: they need the learner's own token, and the cadres made here get random passwords.

Each path harvests its own copy of the freshly provisioned database: the per-user path always, the
report path where the token can see a completion report. A second harvest must change nothing.
Everything made is removed afterwards, as in the provisioning test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.mod_assign import Assignment
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import (
    Cadre,
    CourseProgress,
    DiscussionRecord,
    HarvestStep,
    LearningRecordRow,
    ReflectionRecord,
    StatusChange,
    YearCourse,
)
from plugin_service.services.harvest import find_completion_report, harvest
from plugin_service.services.harvest.completion import from_timestamp
from plugin_service.services.harvest.run import required_functions as harvest_functions
from plugin_service.services.provisioning.provision import Inputs, apply, check_inputs
from plugin_service.services.provisioning.provision import required_functions as provision_functions

from .conftest import (
    copy_database,
    live_settings,
    remove_provisioned,
    require_functions,
    template_course_shortname,
)

pytestmark = pytest.mark.live
Cleanup = Callable[[Callable[[], object]], None]

YEAR = 2026
COMPLETERS = ("L002", "L004")  # a middle and a section cadre complete the required course
OTHERS = ("L001", "L003")  # enrolled, do nothing
ENROLLED = COMPLETERS + OTHERS  # L005 is on leave: excluded, enrolled nowhere
CORE_HOURS = 3.5
EXTRA_HOURS = 2.0
ACTIVITY_CRITERION = 4  # COMPLETION_CRITERIA_TYPE_ACTIVITY
#: A completion time must be this close to the harvest machine's clock (the site's clock may drift).
CLOCK_SLACK = dt.timedelta(minutes=10)
PRODUCING = ("core_course_get_courses_by_field", "core_completion_get_course_completion_status",
             "core_completion_get_activities_completion_status",
             "core_completion_override_activity_completion_status", "mod_assign_get_assignments",
             "mod_assign_save_grade", "mod_forum_get_forums_by_courses")
POSTING = ("mod_forum_add_discussion", "mod_forum_add_discussion_post", "mod_forum_get_forum_discussions")


def roster(namespace: str) -> str:
    """The provisioning test's roster, with addresses in the namespace: Moodle refuses a second account
    with an address in use, and the provisioning test (or another worker) may hold the plain ones."""
    mail = namespace.lower()
    return f"""工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号
L001,王校长,男,校领导,党政部门,校长,校级,{mail}l001@example.edu,13800000001,在职,
L002,李处长,女,组织部,党政部门,部长,正处级,{mail}l002@example.edu,13800000002,在职,L001
L003,张院长,男,机电学院,教学部门,院长,正处级,{mail}l003@example.edu,13800000003,在职,L001
L004,赵科长,女,组织部,党政部门,科长,正科级,{mail}l004@example.edu,13800000004,在职,L001
L005,钱科长,男,机电学院,教学部门,副科长,副科级,{mail}l005@example.edu,13800000005,离岗,L001
"""


def plan_text(namespace: str, template: str, reflection: str | None, topic: str) -> str:
    core = f"{{key: core, name: {namespace}必修课, hours: {CORE_HOURS}, template: {template}, required: all"
    if reflection is not None:
        core += (f",\n     reflection: {{title: {json.dumps(reflection, ensure_ascii=False)}, "
                 "due: 2026-06-30, min_chars: 100}")
    return f"""year: {YEAR}
title: live harvest test plan
organisation: live test
period: {{start: 2026-03-01, end: 2026-12-15}}
moodle: {{category: {namespace}live harvest {YEAR}, learner_role: student, reviewer_role: teacher}}
hours: {{target: 8, required_min: 3}}
tiers:
  - {{key: leaders, name: 校领导, match: {{rank: [校级]}}}}
  - {{key: middle, name: 中层, match: {{rank: [正处级, 副处级]}}}}
  - {{key: section, name: 科级, match: {{rank: [正科级, 副科级]}}}}
excluded: {{match: {{status: [离岗, 离职]}}}}
classes:
  - {{key: leaders, tier: leaders, name: {namespace}校领导班}}
  - {{key: middle, tier: middle, name: {namespace}中层班}}
  - {{key: section, tier: section, name: {namespace}科级班}}
courses:
  - {core}}}
  - {{key: extra, name: {namespace}选修课, hours: {EXTRA_HOURS}, elective: all}}
reviewers: {{by: supervising_leader, fallback: L001}}
discussions:
  - {{key: exchange, course: core, title: {json.dumps(topic, ensure_ascii=False)}, opens: 2026-04-01,
     closes: 2026-04-30, points: {{per_post: 1, max: 5}}}}
"""


@dataclasses.dataclass(frozen=True)
class Graded:
    """The reviewer's grade given on the reflection assignment of the required course."""

    employee_no: str
    assignment_id: int
    grade: float
    in_gradebook: bool  # a marking workflow or blind marking holds the grade back from the gradebook


@dataclasses.dataclass(frozen=True)
class LiveYear:
    settings: Settings  # of the provisioning database, which the cleanup reads
    snapshot: Path  # that database right after provisioning, before any harvest
    inputs: Inputs
    completed: dict[str, int]  # employee number -> when Moodle says the required course was completed
    service_userid: int
    graded: Graded | None
    topic_replies: int | None  # replies posted in the plan's topic; None when it could not be posted
    today: dt.date

    def fresh_database(self, target: Path) -> Settings:
        """A copy of the just-provisioned database."""
        copy_database(self.snapshot, target)
        return dataclasses.replace(self.settings, database_url=f"sqlite:///{target}")


@pytest.fixture(scope="module")
def live_year(live_client: MoodleClient, prefix: str, module_cleanup: Cleanup,
              tmp_path_factory: pytest.TempPathFactory) -> LiveYear:
    require_functions(live_client, *provision_functions(), *harvest_functions("per_user"), *PRODUCING,
                      "core_user_delete_users", "core_course_delete_courses", "core_cohort_delete_cohorts")
    template = template_course_shortname()
    # A namespace of its own inside the run's prefix, so the provisioning test's objects (same roster,
    # same run) are never this test's, whatever order or parallelism the tests run in.
    namespace = f"{prefix}hv-"
    found = live_client.call("core_course_get_courses_by_field", {"field": "shortname", "value": template},
                             write=False)
    if not found.get("courses"):
        pytest.skip(f"no course {template!r} on the site")
    template_assignment = _reflection_assignment(live_client, int(found["courses"][0]["id"]))
    reflection = html.unescape(template_assignment.name).strip() if template_assignment else None
    topic = f"{namespace}学习交流"

    directory = tmp_path_factory.mktemp("harvest")
    database = f"sqlite:///{directory / 'cadre.sqlite3'}"
    upgrade(database)
    settings = live_settings(database, namespace)
    inputs = check_inputs(plan_text(namespace, template, reflection, topic), "plan.yaml",
                          roster(namespace).encode(), "roster.csv")

    module_cleanup(lambda: remove_provisioned(live_client, inputs, settings))
    apply(live_client, inputs, settings, actor="live-test")
    snapshot = directory / "provisioned.sqlite3"
    copy_database(directory / "cadre.sqlite3", snapshot)
    with session_scope(database) as session:
        courses = {row.key: row.moodle_courseid for row in session.scalars(
            select(YearCourse).where(YearCourse.year == YEAR)) if row.moodle_courseid is not None}
        users = {row.employee_no: row.moodle_userid for row in session.scalars(select(Cadre))
                 if row.moodle_userid is not None}
    assert set(courses) == {"core", "extra"} and set(users) >= set(ENROLLED), (courses, users)

    core = courses["core"]
    completed = {no: _complete(live_client, core, users[no]) for no in COMPLETERS}
    graded = None
    if template_assignment is not None:
        assignment = next(a for a in live_client.mod_assign.get_assignments([core]).assignments
                          if a.course == core and a.name == template_assignment.name)
        graded = Graded(COMPLETERS[0], assignment.id, round(assignment.grade * 0.8, 2),
                        not (assignment.markingworkflow or assignment.blindmarking))
        live_client.mod_assign.save_grade(assignment.id, users[graded.employee_no], graded.grade,
                                          feedback_text="<p>认真，有体会。</p>", max_grade=assignment.grade)
    replies = _post_topic(live_client, core, topic)
    today = dt.datetime.now(ZoneInfo(inputs.plan.moodle.timezone)).date()
    return LiveYear(settings, snapshot, inputs, completed,
                    live_client.core_webservice.get_site_info().userid, graded, replies, today)


def _reflection_assignment(client: MoodleClient, courseid: int) -> Assignment | None:
    """The template's assignment graded with points that the copy's reflection will be; None if none."""
    graded = [a for a in client.mod_assign.get_assignments([courseid]).assignments
              if a.course == courseid and a.grade > 0]
    return graded[0] if graded else None


def _complete(client: MoodleClient, courseid: int, userid: int) -> int:
    """Completes the course for a learner through its activity criteria; returns Moodle's completion time.

    The criteria's activities are read from the criteria themselves (their details link to the
    activity's ``view.php?id=<cmid>``), so the test does not depend on which activity the template uses.
    """
    area = client.core_completion
    try:
        status = area.get_course_completion_status(courseid, userid)
    except MoodleError as exc:
        if exc.errorcode == "nocriteriaset":
            pytest.skip("the copied template course has no course completion criteria")
        raise
    tracked = {activity.cmid for activity in area.get_activities_completion_status(courseid, userid).statuses}
    cmids = []
    for criterion in status.completions:
        if criterion.type == ACTIVITY_CRITERION:
            link = re.search(r"[?&](?:amp;)?id=(\d+)", criterion.details.criteria)
            if link is not None and int(link.group(1)) in tracked:
                cmids.append(int(link.group(1)))
    if not cmids:
        pytest.skip("the template course's completion criteria name no activity this test can complete")
    for cmid in cmids:
        area.override_activity_completion_status(userid, cmid, 1)
    status = area.get_course_completion_status(courseid, userid)
    if not status.completed or status.timecompleted is None:
        pytest.skip("completing the criterion activities did not complete the course: the template's "
                    "criteria must be activities only")
    return status.timecompleted


def _post_topic(client: MoodleClient, courseid: int, title: str) -> int | None:
    """Posts the plan's topic in the course's general forum with one reply; None where it cannot."""
    if not client.preflight(POSTING).ok:
        return None
    forums = [f for f in client.mod_forum.get_forums_by_courses([courseid]) if f.type == "general"]
    if not forums:
        return None
    new = client.mod_forum.add_discussion(forums[0].id, title, "<p>请结合岗位谈谈学习体会。</p>",
                                          subscribe=False)
    listed = next(d for d in client.mod_forum.iter_forum_discussions(forums[0].id)
                  if d.discussion == new.discussionid)
    client.mod_forum.add_discussion_post(listed.firstpostid, f"Re: {title}", "<p>欢迎大家发言。</p>")
    return 1


def stored_rows(settings: Settings) -> dict[str, list[Any]]:
    """Every row the harvest keeps per cadre, for comparing two harvests."""
    tables = (CourseProgress, ReflectionRecord, DiscussionRecord, LearningRecordRow, StatusChange)
    with session_scope(settings.database_url) as session:
        return {model.__tablename__: [tuple(row) for row in session.execute(
            select(model.__table__).order_by(model.__table__.c.id))] for model in tables}


def near(moment: dt.datetime | None, expected: dt.datetime, slack: dt.timedelta) -> bool:
    return moment is not None and abs(moment - expected) <= slack


def check_harvested(year: LiveYear, settings: Settings, *, report: bool) -> None:
    """What a first harvest of the year must have stored, on either path.

    A completion is kept to the minute whichever path read it (the report prints no seconds): Moodle's
    time, cut to its minute, on both paths.
    """
    plan = year.inputs.plan
    tz = ZoneInfo(plan.moodle.timezone)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with session_scope(settings.database_url) as session:
        progress = {(row.employee_no, row.course_key): row for row in session.scalars(
            select(CourseProgress).where(CourseProgress.year == YEAR))}
        assert set(progress) == {(no, key) for no in ENROLLED for key in ("core", "extra")}, (
            "the harvest did not store every enrolled cadre's courses"
            + (" (does the completion report list this run's courses?)" if report else ""))
        for no, moodle_time in year.completed.items():
            row = progress[(no, "core")]
            expected = from_timestamp(moodle_time)
            assert expected is not None and near(expected, now, CLOCK_SLACK), "the site's clock is off"
            assert row.completed_at == expected.replace(second=0, microsecond=0), (
                f"{no}: harvested {row.completed_at}, Moodle says {expected} (UTC); if hours apart, set "
                "MOODLE_TIMEZONE to the timezone the service user sees dates in")
            assert row.first_completed_at == row.completed_at and row.reset_seen_at is None
            assert row.started_at is not None
        for no in ENROLLED:
            for key in ("core", "extra"):
                if key == "core" and no in year.completed:
                    continue
                row = progress[(no, key)]
                assert row.completed_at is None and row.first_completed_at is None, (no, key)
                # Nobody acted in these courses, so no start may be recorded (the report's "Last
                # access to course" reads "Never" here, which is no date).
                assert row.started_at is None, (no, key, row.started_at)

        records = {row.employee_no: row for row in session.scalars(
            select(LearningRecordRow).where(LearningRecordRow.year == YEAR))}
        assert set(records) == {"L001", "L002", "L003", "L004", "L005"}
        for no in ENROLLED:
            record = records[no]
            credits = record.detail["credits"]
            if no in year.completed:
                completed_on = dt.datetime.fromtimestamp(year.completed[no], tz).date().isoformat()
                assert record.required_hours == CORE_HOURS and record.total_hours == CORE_HOURS, no
                assert [(c["course"], c["kind"], c["hours"], c["completed_on"]) for c in credits] == [
                    ("core", "required", CORE_HOURS, completed_on)], no
                assert "core" not in record.detail["required_missing"]
            else:
                assert record.total_hours == 0 and credits == [], no
                assert record.detail["required_missing"] == ["core"], no
        assert records["L005"].status == "excluded" and records["L005"].total_hours == 0
        assert {no: records[no].tier_key for no in ENROLLED} == {
            "L001": "leaders", "L002": "middle", "L003": "middle", "L004": "section"}

        reflections = list(session.scalars(select(ReflectionRecord).where(ReflectionRecord.year == YEAR)))
        if year.graded is None:
            assert reflections == []
        else:
            graded = year.graded
            assert [(r.employee_no, r.course_key, r.assignment_id) for r in reflections] == [
                (graded.employee_no, "core", graded.assignment_id)]
            reflection = reflections[0]
            assert reflection.grade == pytest.approx(graded.grade)
            assert reflection.grader_userid == year.service_userid and reflection.grade_changes == 0
            assert near(reflection.graded_at, now, CLOCK_SLACK)
            # Grading created the learner's empty submission; nothing was submitted.
            assert reflection.status == "new" and reflection.submitted_at is None and reflection.chars == 0
            if graded.in_gradebook:
                row = progress[(graded.employee_no, "core")]
                assert row.grade is not None and row.grade_max, "the course total did not show the grade"
            assert all(progress[(no, "core")].grade is None for no in ENROLLED if no != graded.employee_no)

        assert list(session.scalars(select(DiscussionRecord))) == []  # the only poster is no cadre
        if year.topic_replies is not None:
            step = session.scalar(select(HarvestStep).where(HarvestStep.step == "discussions",
                                                            HarvestStep.item == "exchange"))
            assert step is not None and step.rows_read == year.topic_replies


def harvest_twice(client: MoodleClient, year: LiveYear, settings: Settings, path: str) -> None:
    first = harvest(client, settings, path=path, today=year.today)
    assert (first.path, first.mode, first.resumed) == (path, "incremental", False)
    check_harvested(year, settings, report=path == "report")
    before = stored_rows(settings)
    again = harvest(client, settings, path=path, today=year.today)
    assert again.changes == 0, again.steps
    assert stored_rows(settings) == before


def test_per_user_harvest_of_a_small_year(live_client: MoodleClient, live_year: LiveYear,
                                          tmp_path: Path) -> None:
    settings = live_year.fresh_database(tmp_path / "per-user.sqlite3")
    harvest_twice(live_client, live_year, settings, "per_user")


def test_report_harvest_of_a_small_year(live_client: MoodleClient, live_year: LiveYear,
                                        tmp_path: Path) -> None:
    functions = live_client.core_webservice.get_site_info().function_names
    if not {"core_reportbuilder_list_reports", "core_reportbuilder_retrieve_report"} <= functions:
        pytest.skip("the token's service lacks the report-builder functions of the report path")
    wanted = os.environ.get("MOODLE_COMPLETION_REPORT", "")
    report = find_completion_report(live_client, wanted)
    if report is None:
        pytest.skip("the token sees no completion report (see `cadre doctor` or the harvest's SETUP)")
    settings = dataclasses.replace(live_year.fresh_database(tmp_path / "report.sqlite3"),
                                   harvest_report=str(report.id))
    harvest_twice(live_client, live_year, settings, "report")
