"""Study time from SCORM courseware on a real Moodle: a package this test builds, attempts a learner makes
as Moodle's player would record them, and the harvest reading the time back.

A small year is provisioned in the run's namespace (``<prefix>sc-``): two cadres and a required course
copied from the template course. A tiny SCORM 1.2 package (a manifest and one HTML SCO, zipped in memory
by ``scorm_package``) is added to the copy through Moodle's own activity form by a site admin. One cadre
then studies with a token of their own (``/login/token.php`` on the mobile app's service): launches the
SCO and sends the tracks of two sessions of a first attempt and one of a second, each as Moodle's SCORM
1.2 player sends them when a session ends (``cmi.core.lesson_status``, ``cmi.core.session_time`` and the
new ``cmi.core.total_time``).

The harvest must store for that cadre what Moodle stores, as read here with the service user's token
(``mod_scorm_get_scorm_sco_tracks`` for each attempt): the sum over the attempts of each attempt's time,
and the attempts; the other cadre has no time. A second harvest changes nothing, and a later session is
read by the next full harvest. Everything made is removed afterwards with the course and the users.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from moodle_bridge import MoodleClient
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import StudyCourseware, StudyTime
from plugin_service.services.harvest import harvest
from plugin_service.services.harvest.run import required_functions as harvest_functions
from plugin_service.services.harvest.study_time import FUNCTIONS as STUDY_FUNCTIONS
from plugin_service.services.provisioning.provision import Inputs
from plugin_service.services.provisioning.provision import required_functions as provision_functions
from tests.browser.live import chromium, missing_browser

from . import moodle_pages
from .conftest import (
    LEARNER_SERVICE,
    WriteCounter,
    learner_token,
    live_settings,
    plan_today,
    provision_year,
    require_functions,
    set_password,
    template_course_shortname,
)
from .scorm_package import hundredths, scorm_package

pytestmark = [pytest.mark.live, pytest.mark.timeout(900)]
Cleanup = Callable[[Callable[[], object]], None]

YEAR = 2026
STUDENT, IDLE = "S001", "S002"
CORE = "core"
LEARNER_FUNCTIONS = ("mod_scorm_get_scorms_by_courses", "mod_scorm_get_scorm_scoes", "mod_scorm_launch_sco",
                     "mod_scorm_insert_scorm_tracks")
# (attempt, lesson status, session time, total time after the session) as the SCORM 1.2 player sends
# them when a session ends: the total is the previous total plus the session.
SESSIONS = ((1, "incomplete", "00:10:00.00", "00:10:00.00"),
            (1, "completed", "00:05:30.25", "00:15:30.25"),
            (2, "incomplete", "00:02:00", "00:02:00"))
LATER = (2, "completed", "00:01:15.5", "00:03:15.5")


def roster(namespace: str) -> str:
    mail = namespace.lower()
    return f"""工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号
{STUDENT},孙处长,女,宣传部,党政部门,部长,正处级,{mail}s001@example.edu,13800000031,在职,
{IDLE},周科长,男,机电学院,教学部门,科长,正科级,{mail}s002@example.edu,13800000032,在职,
"""


def plan_text(namespace: str, template: str) -> str:
    return f"""year: {YEAR}
title: live SCORM test plan
organisation: 中共示范职业技术学院委员会组织部
period: {{start: {YEAR}-03-01, end: {YEAR}-12-15}}
moodle: {{category: {namespace}live scorm {YEAR}, learner_role: student, reviewer_role: teacher}}
hours: {{target: 8, required_min: 4}}
tiers:
  - {{key: middle, name: 中层干部, match: {{rank: [正处级, 副处级]}}}}
  - {{key: section, name: 科级干部, match: {{rank: [正科级, 副科级]}}}}
classes:
  - {{key: middle, tier: middle, name: {namespace}中层班}}
  - {{key: section, tier: section, name: {namespace}科级班}}
courses:
  - {{key: {CORE}, name: {namespace}理论学习必修课, hours: 4, template: {template}, required: all}}
"""


# -- the year --------------------------------------------------------------------------------------


@dataclasses.dataclass
class ScormYear:
    settings: Settings
    inputs: Inputs
    users: dict[str, int]
    courseid: int
    scormid: int
    scoid: int
    learner: MoodleClient  # the studying cadre's own token
    today: dt.date


def send_session(learner: MoodleClient, year: ScormYear, session: tuple[int, str, str, str]) -> None:
    """One session of the SCO, as Moodle's player records it: the launch, then the tracks it saves when
    the session ends."""
    attempt, status, session_time, total_time = session
    learner.call("mod_scorm_launch_sco", {"scormid": year.scormid, "scoid": year.scoid}, write=True)
    saved = learner.mod_scorm.insert_scorm_tracks(year.scoid, attempt, {
        "cmi.core.lesson_status": status, "cmi.core.session_time": session_time,
        "cmi.core.total_time": total_time})
    assert saved.warnings == () and len(saved.trackids) == 3, saved


@pytest.fixture(scope="module")
def scorm_year(live_client: MoodleClient, prefix: str, module_cleanup: Cleanup,
               tmp_path_factory: pytest.TempPathFactory) -> ScormYear:
    require_functions(live_client, *provision_functions(), *harvest_functions("per_user"), *STUDY_FUNCTIONS,
                      "core_user_update_users", "core_user_delete_users", "core_course_delete_courses",
                      "core_cohort_delete_cohorts")
    reason = missing_browser()
    if reason is not None:
        pytest.skip(f"the package is added through Moodle's activity form in a browser: {reason}")
    for name in ("MOODLE_ADMIN_USER", "MOODLE_ADMIN_PASSWORD"):
        if not os.environ.get(name):
            pytest.skip(f"set {name}: a site admin adds the SCORM package in Moodle's activity form")
    template = template_course_shortname()
    namespace = f"{prefix}sc-"
    directory = tmp_path_factory.mktemp("scorm")
    database = f"sqlite:///{directory / 'cadre.sqlite3'}"
    upgrade(database)
    settings = live_settings(database, namespace)
    made = provision_year(live_client, settings, plan_text(namespace, template), roster(namespace),
                          module_cleanup)
    users, courseid = made.users, made.courses[CORE]
    assert set(users) == {STUDENT, IDLE}, users

    url = os.environ["MOODLE_URL"].rstrip("/")
    title = f"{namespace}新思想学习课件"
    with chromium() as browser:
        context = moodle_pages.session(browser)
        try:
            admin = moodle_pages.sign_in(context, url, os.environ["MOODLE_ADMIN_USER"],
                                         os.environ["MOODLE_ADMIN_PASSWORD"])
            package = scorm_package(f"{namespace}lesson", title)
            cmid = moodle_pages.add_scorm_activity(admin, url, courseid, package, "lesson.zip", title)
        finally:
            context.close()

    username = live_client.core_user.get_users_by_field("id", [users[STUDENT]])[0].username or ""
    token, said = learner_token(username, set_password(live_client, users[STUDENT]))
    if token is None:
        pytest.skip(f"the cadre could not get a token of their own on {LEARNER_SERVICE!r} ({said}): enable "
                    "mobile web services (Site administration > Advanced features)")
    learner = MoodleClient(url, token, timeout=120)
    module_cleanup(learner.close)
    missing = learner.preflight(LEARNER_FUNCTIONS).missing
    if missing:
        pytest.skip(f"the learner's service {LEARNER_SERVICE!r} lacks " + ", ".join(missing))
    scorms = [s for s in learner.mod_scorm.get_scorms_by_courses([courseid]).scorms if s.coursemodule == cmid]
    assert len(scorms) == 1, scorms
    scoes = [sco for sco in learner.mod_scorm.get_scorm_scoes(scorms[0].id).scoes if sco.launchable]
    assert len(scoes) == 1, scoes
    year = ScormYear(settings, made.inputs, users, courseid, scorms[0].id, scoes[0].id, learner,
                     plan_today(made.inputs.plan))
    for session in SESSIONS:
        send_session(learner, year, session)
    return year


# -- what Moodle stores ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Stored:
    attempts: int
    hundredths: int  # summed over the attempts: each attempt's larger of total and session time
    last_tracked: int  # Moodle's latest write, a Unix time


def moodle_stores(client: MoodleClient, year: ScormYear, no: str) -> Stored:
    """What Moodle stores for the cadre in the package, read with the service user's token."""
    userid = year.users[no]
    attempts = client.mod_scorm.get_scorm_attempt_count(year.scormid, userid).attemptscount
    total, last = 0, 0
    for attempt in range(1, attempts + 1):
        tracks = client.mod_scorm.get_scorm_sco_tracks(year.scoid, userid, attempt)
        assert tracks.attempt == attempt and tracks.attempted, (no, attempt, tracks)
        times = [hundredths(value) for value in (tracks.value("cmi.core.total_time"),
                                                 tracks.value("cmi.core.session_time")) if value]
        total += max(times, default=0)
        last = max(last, tracks.timemodified)
    return Stored(attempts, total, last)


def stored_time(settings: Settings, no: str) -> StudyTime | None:
    with session_scope(settings.database_url) as session:
        row = session.scalar(select(StudyTime).where(StudyTime.year == YEAR, StudyTime.employee_no == no,
                                                     StudyTime.course_key == CORE))
        if row is not None:
            session.expunge(row)
        return row


def study_rows(settings: Settings) -> list[tuple[Any, ...]]:
    with session_scope(settings.database_url) as session:
        return sorted(session.execute(select(StudyTime.employee_no, StudyTime.seconds, StudyTime.attempts,
                                             StudyTime.last_tracked_at, StudyTime.kept, StudyTime.problems)))


# -- the tests -------------------------------------------------------------------------------------


def test_the_harvest_reads_the_study_time_moodle_stores(live_client: MoodleClient,
                                                        scorm_year: ScormYear) -> None:
    moodle = moodle_stores(live_client, scorm_year, STUDENT)
    # What the sessions sent, as Moodle keeps it: two attempts, 15:30.25 and 2:00.
    assert (moodle.attempts, moodle.hundredths) == (2, 93025 + 12000), moodle
    assert moodle_stores(live_client, scorm_year, IDLE).attempts == 0

    result = harvest(live_client, scorm_year.settings, year=YEAR, path="per_user", today=scorm_year.today)
    assert result.steps["study"]["changes"] >= 1, result.steps
    row = stored_time(scorm_year.settings, STUDENT)
    assert row is not None
    assert (row.attempts, round(row.seconds * 100)) == (moodle.attempts, moodle.hundredths), row
    assert row.problems is None
    assert row.last_tracked_at == dt.datetime.fromtimestamp(moodle.last_tracked, dt.UTC).replace(tzinfo=None)
    idle = stored_time(scorm_year.settings, IDLE)
    assert idle is None or (idle.seconds, idle.attempts) == (0, 0), idle
    with session_scope(scorm_year.settings.database_url) as session:
        courseware = session.scalar(select(StudyCourseware).where(StudyCourseware.year == YEAR,
                                                                  StudyCourseware.course_key == CORE))
        assert courseware is not None and courseware.tracked
        packages = [(package["id"], package["scoes"]) for package in courseware.packages]
        assert packages == [(scorm_year.scormid, [scorm_year.scoid])]


def test_a_second_harvest_changes_nothing(live_client: MoodleClient, scorm_year: ScormYear) -> None:
    settings = scorm_year.settings
    if stored_time(settings, STUDENT) is None:
        harvest(live_client, settings, year=YEAR, path="per_user", today=scorm_year.today)
    before = study_rows(settings)
    with WriteCounter(live_client) as counter:
        again = harvest(live_client, settings, year=YEAR, path="per_user", today=scorm_year.today)
    assert counter.writes == [] and again.steps.get("study", {}).get("changes", 0) == 0, again.steps
    assert study_rows(settings) == before


def test_a_later_session_is_read_by_the_next_full_harvest(live_client: MoodleClient,
                                                          scorm_year: ScormYear) -> None:
    settings = scorm_year.settings
    if stored_time(settings, STUDENT) is None:
        harvest(live_client, settings, year=YEAR, path="per_user", today=scorm_year.today)
    send_session(scorm_year.learner, scorm_year, LATER)
    moodle = moodle_stores(live_client, scorm_year, STUDENT)
    assert (moodle.attempts, moodle.hundredths) == (2, 93025 + 19550), moodle
    harvest(live_client, settings, year=YEAR, path="per_user", today=scorm_year.today, full=True)
    row = stored_time(settings, STUDENT)
    assert row is not None
    assert (row.attempts, round(row.seconds * 100)) == (moodle.attempts, moodle.hundredths), row
