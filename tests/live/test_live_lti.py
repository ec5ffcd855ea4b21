"""The companion as an LTI 1.3 tool inside a real Moodle, driven through Moodle's own pages.

A small year is provisioned in the run's namespace (``<prefix>lt-``): a school leader who reviews a
middle-level and a section-level cadre; a required course copied from the template course and an
elective empty course. The middle-level cadre completes the required course (the service user
overrides its criterion activities) and the year is harvested, so the records hold hours.

The companion (the real Flask app) answers over HTTP on ``MOODLE_LTI_TOOL_HOST`` (default 127.0.0.1)
and ``MOODLE_LTI_TOOL_PORT`` (default a free port), on that year's database. An admin registers it in
Moodle by dynamic registration (Manage tools > Add LTI Advantage, then Activate) and adds it as an
External tool activity to the required course. The learner and the reviewer sign in to Moodle with
passwords this test sets, open the activity in the course, and must see exactly what the companion holds
for them: the learner their hours, target and courses; the reviewer their cadres. After the harvest, the
gradebook push posts each cadre's hours to the activity's gradebook column, read back from Moodle's
gradebook.

Moodle checks the tool's service-token request against the tool's key set, which it fetches itself,
through its cURL security (``curlsecurityblockedhosts``, ``curlsecurityallowedport``): a stock site
blocks 127.0.0.0/8, localhost and every port but 80 and 443, so it refuses a tool on a loopback port.
That part runs only where ``MOODLE_LTI_TOOL_HOST_ALLOWED=1`` says the tool's address gets through (the
admin took it out of the blocked hosts and allowed its port, or the tool answers on an address the lists
do not block: a host that is not private, on port 80). Otherwise it checks that Moodle refuses the token
and skips with Moodle's answer and the settings to change.

With ``CADRE_LIVE_SCREENSHOTS=<folder>`` the learner's and the reviewer's pages are saved there in
English and, where the site has the Chinese language pack (``zh_cn``) for the cadres' Moodle language,
in Chinese. Everything made is removed afterwards: the tool in Moodle, the users, classes and courses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.core_user import UserUpdate
from plugin_service import create_app
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import (
    CourseProgress,
    LearningRecordRow,
    LtiLineItem,
    LtiPlatform,
    LtiScore,
)
from plugin_service.services.harvest import harvest
from plugin_service.services.harvest.run import required_functions as harvest_functions
from plugin_service.services.lti.gradebook import PushResult, push_hours
from plugin_service.services.lti.platforms import site_address
from plugin_service.services.provisioning.provision import Inputs
from plugin_service.services.provisioning.provision import required_functions as provision_functions
from plugin_service.services.read_models.scope import reviewers_of_year
from tests.browser.live import chromium, missing_browser, served
from tests.live.moodle_pages import PlaywrightError

from . import moodle_pages
from .conftest import (
    complete_course,
    live_settings,
    plan_today,
    provision_year,
    require_functions,
    set_password,
    template_course_shortname,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Frame, Page

pytestmark = [pytest.mark.live, pytest.mark.timeout(1200)]
Cleanup = Callable[[Callable[[], object]], None]

YEAR = 2026
LEADER, MIDDLE, SECTION = "L001", "L002", "L003"
CORE, EXTRA = "core", "extra"
TOOL_FUNCTIONS = ("mod_lti_get_tool_types", "mod_lti_delete_tool_type")
STUDY = ("core_course_get_contents", "core_completion_override_activity_completion_status",
         "core_user_update_users", "gradereport_user_get_grade_items")
LANGUAGES = {"en": "en", "zh": "zh_cn"}  # the page's language -> the cadres' Moodle language
SCREENSHOTS = "CADRE_LIVE_SCREENSHOTS"
ALLOWED = os.environ.get("MOODLE_LTI_TOOL_HOST_ALLOWED", "").lower() in ("1", "yes", "true")


def roster(namespace: str) -> str:
    mail = namespace.lower()
    return f"""工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号
{LEADER},王校长,男,校领导,党政部门,校长,校级,{mail}l001@example.edu,13800000021,在职,
{MIDDLE},李处长,女,组织部,党政部门,部长,正处级,{mail}l002@example.edu,13800000022,在职,{LEADER}
{SECTION},赵科长,女,机电学院,教学部门,科长,正科级,{mail}l003@example.edu,13800000023,在职,{LEADER}
"""


def plan_text(namespace: str, template: str) -> str:
    return f"""year: {YEAR}
title: live LTI test plan
organisation: 中共示范职业技术学院委员会组织部
period: {{start: {YEAR}-03-01, end: {YEAR}-12-15}}
moodle: {{category: {namespace}live lti {YEAR}, learner_role: student, reviewer_role: teacher}}
hours: {{target: 8, required_min: 4}}
tiers:
  - {{key: leaders, name: 校领导, match: {{rank: [校级]}}}}
  - {{key: middle, name: 中层干部, match: {{rank: [正处级, 副处级]}}}}
  - {{key: section, name: 科级干部, match: {{rank: [正科级, 副科级]}}}}
classes:
  - {{key: leaders, tier: leaders, name: {namespace}校领导班}}
  - {{key: middle, tier: middle, name: {namespace}中层班}}
  - {{key: section, tier: section, name: {namespace}科级班}}
courses:
  - {{key: {CORE}, name: {namespace}理论学习必修课, hours: 4, template: {template}, required: all}}
  - {{key: {EXTRA}, name: {namespace}公文写作选修课, hours: 2, elective: all}}
reviewers: {{by: supervising_leader, fallback: {LEADER}}}
"""


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def hours_of(text: str) -> float:
    """A figure as the page writes it ("4", "1.5", "4 hours")."""
    found = re.search(r"\d+(?:\.\d+)?", text)
    assert found, f"no figure in {text!r}"
    return float(found.group())


@dataclasses.dataclass
class LtiYear:
    settings: Settings  # of the companion, served
    inputs: Inputs
    users: dict[str, int]  # employee number -> Moodle user id
    usernames: dict[str, str]
    passwords: dict[str, str]
    courses: dict[str, int]  # course key -> Moodle course id
    today: dt.date


@pytest.fixture(scope="module")
def lti_year(live_client: MoodleClient, prefix: str, module_cleanup: Cleanup,
             tmp_path_factory: pytest.TempPathFactory) -> LtiYear:
    require_functions(live_client, *provision_functions(), *harvest_functions("per_user"), *STUDY,
                      *TOOL_FUNCTIONS, "core_user_delete_users", "core_course_delete_courses",
                      "core_cohort_delete_cohorts")
    reason = missing_browser()
    if reason is not None:
        pytest.skip(reason)
    for name in ("MOODLE_ADMIN_USER", "MOODLE_ADMIN_PASSWORD"):
        if not os.environ.get(name):
            pytest.skip(f"set {name}: a site admin registers the tool in Moodle's pages")
    template = template_course_shortname()
    namespace = f"{prefix}lt-"
    directory = tmp_path_factory.mktemp("lti")
    database = f"sqlite:///{directory / 'cadre.sqlite3'}"
    upgrade(database)
    host = os.environ.get("MOODLE_LTI_TOOL_HOST") or "127.0.0.1"
    port = int(os.environ.get("MOODLE_LTI_TOOL_PORT") or 0) or free_port(host)
    settings = dataclasses.replace(live_settings(database, namespace), secret_key=secrets.token_hex(32),
                                   public_base_url=f"http://{host}:{port}", ratelimit_storage="memory://")
    made = provision_year(live_client, settings, plan_text(namespace, template), roster(namespace),
                          module_cleanup)
    users, courses = made.users, made.courses
    assert set(users) == {LEADER, MIDDLE, SECTION}, users
    complete_course(live_client, users[MIDDLE], courses[CORE])
    today = plan_today(made.inputs.plan)
    harvest(live_client, settings, year=YEAR, path="per_user", today=today)
    accounts = live_client.core_user.get_users_by_field("id", sorted(users.values()))
    by_id = {account.id: account.username or "" for account in accounts}
    passwords = {no: set_password(live_client, users[no]) for no in (LEADER, MIDDLE)}
    return LtiYear(settings, made.inputs, users, {no: by_id[uid] for no, uid in users.items()}, passwords,
                   courses, today)


@pytest.fixture(scope="module")
def companion(lti_year: LtiYear) -> Iterator[str]:
    """The companion's app on its loopback port; yields its base URL."""
    app = create_app(lti_year.settings)
    address = urlsplit(lti_year.settings.public_base_url)
    with served(app, host=address.hostname or "127.0.0.1", port=address.port or 80) as base:
        yield base


@pytest.fixture(scope="module")
def browser(lti_year: LtiYear) -> Iterator[Browser]:
    with chromium() as running:
        yield running


@dataclasses.dataclass(frozen=True)
class Registered:
    tool: moodle_pages.Tool
    cmid: int  # the External tool activity in the required course


@pytest.fixture(scope="module")
def registered(live_client: MoodleClient, lti_year: LtiYear, companion: str, browser: Browser,
               module_cleanup: Cleanup) -> Registered:
    """The admin registers the tool by dynamic registration, activates it, and adds it to the required
    course as an External tool activity."""
    url = os.environ["MOODLE_URL"].rstrip("/")
    context = moodle_pages.session(browser)
    try:
        admin = moodle_pages.sign_in(context, url, os.environ["MOODLE_ADMIN_USER"],
                                     os.environ["MOODLE_ADMIN_PASSWORD"])
        tool = moodle_pages.register_lti_tool(admin, url, f"{companion}/lti/register")
        module_cleanup(lambda: live_client.call("mod_lti_delete_tool_type", {"id": tool.id}, write=True))
        cmid = moodle_pages.add_lti_activity(admin, url, lti_year.courses[CORE], tool,
                                             f"{lti_year.settings.moodle_namespace}学时 · Cadre Companion")
    finally:
        context.close()
    return Registered(tool, cmid)


def open_as(browser: Browser, lti_year: LtiYear, no: str, cmid: int) -> tuple[Page, Frame]:
    """The cadre signs in to Moodle and opens the activity; returns their page and the tool's frame on the
    page the launch lands on."""
    url = os.environ["MOODLE_URL"].rstrip("/")
    # A tall window for the screenshots: Moodle sizes the tool's frame to it.
    context = moodle_pages.session(browser, height=1500 if os.environ.get(SCREENSHOTS) else 900)
    page = moodle_pages.sign_in(context, url, lti_year.usernames[no], lti_year.passwords[no])
    frame = moodle_pages.open_lti_activity(page, url, cmid)
    try:
        frame.wait_for_url(re.compile(r"/lti/(home|reviewing)\?"), timeout=60_000)
    except PlaywrightError as exc:
        shown = " ".join(frame.locator("body").inner_text().split())[:500]
        raise AssertionError(f"the launch of {no} did not reach the tool's page: the frame is at "
                             f"{frame.url}, showing {shown!r}") from exc
    frame.wait_for_load_state("load")
    return page, frame


def screenshot(page: Page, name: str) -> None:
    """Saves the page (Moodle around the tool) when ``CADRE_LIVE_SCREENSHOTS`` names a folder."""
    folder = os.environ.get(SCREENSHOTS)
    if not folder:
        return
    target = Path(folder)
    if not target.is_absolute():
        target = Path(__file__).resolve().parents[2] / target
    target.mkdir(parents=True, exist_ok=True)
    drawer = page.locator("[data-action='closedrawer'][data-target='theme_boost-drawers-courseindex']")
    if drawer.count() and drawer.first.is_visible():
        drawer.first.click()  # the course index would cover the tool's frame
        page.wait_for_timeout(600)
    page.mouse.move(1270, 5)  # no tooltip on the picture, neither hovered nor focused
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.wait_for_timeout(300)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def record_of(lti_year: LtiYear, no: str) -> LearningRecordRow:
    with session_scope(lti_year.settings.database_url) as session:
        row = session.scalar(select(LearningRecordRow).where(LearningRecordRow.year == YEAR,
                                                             LearningRecordRow.employee_no == no))
        assert row is not None, no
        session.expunge(row)
        return row


def check_learner_page(frame: Frame, lti_year: LtiYear, no: str) -> None:
    """The learner's page shows exactly the companion's record of ``no``: hours, target, their courses."""
    record = record_of(lti_year, no)
    assert record.total_hours > 0 or no != MIDDLE, "the harvest found no hours for the cadre who completed"
    assert hours_of(frame.locator("#total-hours").inner_text()) == pytest.approx(record.total_hours)
    assert hours_of(frame.locator("#target-hours").inner_text()) == pytest.approx(record.target_hours)
    assert hours_of(frame.locator("#required-hours").inner_text()) == pytest.approx(record.required_hours)
    assert hours_of(frame.locator("#elective-hours").inner_text()) == pytest.approx(record.elective_hours)
    facts = frame.get_by_test_id("learner-facts").inner_text()
    assert lti_year.inputs.roster[no].name in facts
    tier = next(k.tier for k in lti_year.inputs.desired.classes if no in k.members)
    plan = lti_year.inputs.plan
    required = {c.key for c in plan.courses if tier in c.required}
    elective = {c.key for c in plan.courses if tier in c.elective}
    assert (listed(frame, "#required-list"), listed(frame, "#electives-list")) == (required, elective)
    completed = {li.get_attribute("data-course") for li in frame.locator("li[data-course]").all()
                 if li.get_by_test_id("completed-on").count()}
    with session_scope(lti_year.settings.database_url) as session:
        stored = set(session.scalars(select(CourseProgress.course_key).where(
            CourseProgress.year == YEAR, CourseProgress.employee_no == no,
            CourseProgress.first_completed_at.is_not(None))))
    assert completed == stored == ({CORE} if no == MIDDLE else set()), (completed, stored)
    # The course the tool was opened from is marked.
    here = frame.locator("li.here[data-course]")
    assert [li.get_attribute("data-course") for li in here.all()] == [CORE]
    # Nobody else's name is on the page.
    text = frame.locator("body").inner_text()
    for cadre in lti_year.inputs.roster:
        if cadre.employee_no != no:
            assert cadre.name not in text, cadre.employee_no


def listed(frame: Frame, where: str) -> set[str]:
    """The course keys a list of the learner's page shows."""
    return {li.get_attribute("data-course") or "" for li in frame.locator(f"{where} li[data-course]").all()}


def check_reviewer_page(frame: Frame, lti_year: LtiYear, no: str) -> None:
    """The reviewer's page lists exactly the cadres the plan gives them, each with the companion's
    hours and target."""
    with session_scope(lti_year.settings.database_url) as session:
        reviewed = reviewers_of_year(session, YEAR).get(no, frozenset())
    assert reviewed == {MIDDLE, SECTION}
    rows = {row.get_attribute("data-cadre"): row for row in
            frame.locator("table[data-testid=cadres] tr[data-cadre]").all()}
    assert set(rows) == reviewed
    assert hours_of(frame.locator("#cadres-count").inner_text()) == len(reviewed)
    for cadre, row in rows.items():
        record = record_of(lti_year, str(cadre))
        cell = row.locator("td.num").inner_text()
        total, target = (hours_of(part) for part in cell.split("/"))
        assert total == pytest.approx(record.total_hours), cadre
        assert target == pytest.approx(record.target_hours), cadre
        assert lti_year.inputs.roster[str(cadre)].name in row.inner_text()


def test_the_admin_registers_the_tool_by_dynamic_registration(live_client: MoodleClient, lti_year: LtiYear,
                                                              registered: Registered) -> None:
    types = {t["id"]: t for t in live_client.call("mod_lti_get_tool_types", {}, write=False)}
    moodle = types[registered.tool.id]
    assert moodle["state"]["configured"] and not moodle["state"]["pending"], moodle["state"]
    assert moodle["clientid"] == registered.tool.client_id
    with session_scope(lti_year.settings.database_url) as session:
        platforms = list(session.scalars(select(LtiPlatform)))
        assert [(site_address(p.issuer), p.client_id) for p in platforms] == [
            (site_address(os.environ["MOODLE_URL"]), registered.tool.client_id)]
        assert [d.deployment_id for d in platforms[0].deployments] == [str(moodle["deploymentid"])]


def test_a_learner_sees_exactly_their_own_figures(lti_year: LtiYear, registered: Registered,
                                                  browser: Browser) -> None:
    page, frame = open_as(browser, lti_year, MIDDLE, registered.cmid)
    try:
        assert "/lti/home" in frame.url
        assert frame.locator("html").get_attribute("lang") == "en"
        check_learner_page(frame, lti_year, MIDDLE)
        screenshot(page, "lti-learner-en")
    finally:
        page.context.close()


def test_a_reviewer_sees_their_cadres(lti_year: LtiYear, registered: Registered, browser: Browser) -> None:
    page, frame = open_as(browser, lti_year, LEADER, registered.cmid)
    try:
        # A leader learns too: their own page first, a tab for the cadres they review.
        check_learner_page(frame, lti_year, LEADER)
        frame.locator("#tab-reviewing").click()
        frame.wait_for_url(re.compile(r"/lti/reviewing\?"))
        check_reviewer_page(frame, lti_year, LEADER)
        screenshot(page, "lti-reviewer-en")
    finally:
        page.context.close()


def test_the_hours_reach_moodles_gradebook(live_client: MoodleClient, lti_year: LtiYear,
                                           registered: Registered, browser: Browser) -> None:
    settings = lti_year.settings
    if MIDDLE not in launched(lti_year):  # the line item is learnt from a launch
        page, _frame = open_as(browser, lti_year, MIDDLE, registered.cmid)
        page.context.close()
    with session_scope(settings.database_url) as session:
        items = list(session.scalars(select(LtiLineItem)))
    assert len(items) == 1 and items[0].context_id == str(lti_year.courses[CORE]), \
        [(i.url, i.context_id) for i in items]
    assert MIDDLE in launched(lti_year)
    http = Recording()
    result = push_hours(settings.database_url, secret_key=settings.secret_key, moodle_url=settings.moodle_url,
                        year=YEAR, http=http)
    if not ALLOWED:
        assert (result.sent, result.line_items, len(result.errors)) == (0, 1, 1), result
        said = "; ".join(http.refusals) or result.errors[0]
        pytest.skip(f"Moodle refused the tool's service token ({said}): Moodle fetches the tool's key "
                    f"set ({settings.public_base_url}/lti/jwks.json) itself, through its cURL security, "
                    "which blocks 127.0.0.0/8 and every port but 80 and 443 by default. Let the tool's "
                    "address through (Site administration > General > Security > HTTP security: take "
                    "127.0.0.0/8 and localhost out of 'cURL blocked hosts list', add the tool's port, fixed "
                    "with MOODLE_LTI_TOOL_PORT, to 'cURL allowed ports list') and set "
                    "MOODLE_LTI_TOOL_HOST_ALLOWED=1")
    check_gradebook(live_client, lti_year, registered, result)
    again = push_hours(settings.database_url, secret_key=settings.secret_key, moodle_url=settings.moodle_url,
                       year=YEAR)
    assert (again.sent, again.unchanged, again.failed) == (0, result.sent, 0), again


class Recording(requests.Session):
    """The tool's HTTP session for the push, keeping what Moodle answered to refused requests (for the
    skip's reason: Moodle's error page names the exception)."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        answer = super().request(method, url, *args, **kwargs)
        if answer.status_code >= 400:
            text = " ".join(re.sub(r"<[^>]+>", " ", answer.text).split())
            said = re.search(r"(Exception - .*?)(?: More information about this error|$)", text)
            self.refusals.append(f"{method!s} {urlsplit(str(url)).path} answered HTTP {answer.status_code}: "
                                 f"{(said.group(1) if said else text)[:300]}")
        return answer


def launched(lti_year: LtiYear) -> set[str]:
    """The cadres the companion saw launch from a gradebook column."""
    with session_scope(lti_year.settings.database_url) as session:
        return set(session.scalars(select(LtiScore.employee_no).where(LtiScore.launched.is_(True))))


def check_gradebook(client: MoodleClient, lti_year: LtiYear, registered: Registered,
                    result: PushResult) -> None:
    """Every cadre of the course has their hours in the activity's column, as Moodle's gradebook reads."""
    assert (result.failed, result.refused, result.errors) == (0, 0, []), result
    learners = {LEADER, MIDDLE, SECTION}  # the plan requires the course of every tier
    assert result.sent == len(learners), result
    courseid = lti_year.courses[CORE]
    for no in sorted(learners):
        record = record_of(lti_year, no)
        userid = lti_year.users[no]
        report = client.gradereport_user.get_grade_items(courseid, userid).for_user(userid)
        assert report is not None, no
        item = report.item_for_cm(registered.cmid)
        assert item is not None and item.itemmodule == "lti", (no, [i.itemname for i in report.gradeitems])
        assert item.grademax is not None and item.graderaw is not None, (no, item)
        # Moodle scales the score to the column's maximum: the percentage of the target.
        share = record.total_hours / record.target_hours
        assert item.graderaw == pytest.approx(share * item.grademax, abs=0.01), (no, item)
        hours = f"{record.total_hours:g} / {record.target_hours:g}"
        assert hours in (item.feedback or ""), (no, item.feedback)


def test_the_pages_in_chinese(live_client: MoodleClient, lti_year: LtiYear, registered: Registered,
                              browser: Browser) -> None:
    """With the cadres' Moodle language Chinese, Moodle launches the tool in Chinese."""
    try:
        live_client.core_user.update_users([UserUpdate(id=lti_year.users[no], lang=LANGUAGES["zh"])
                                            for no in (LEADER, MIDDLE)])
    except MoodleError as exc:
        pytest.skip(f"Moodle refused the Moodle language {LANGUAGES['zh']!r} for the cadres ({exc}): install "
                    "the Chinese (simplified) language pack (Site administration > General > Language > "
                    "Language packs) for the tool to open in Chinese")
    for no, name in ((MIDDLE, "lti-learner-zh"), (LEADER, "lti-reviewer-zh")):
        page, frame = open_as(browser, lti_year, no, registered.cmid)
        try:
            assert frame.locator("html").get_attribute("lang") == "zh-CN"
            check_learner_page(frame, lti_year, no)
            assert "我的学习" in frame.get_by_test_id("learner-title").inner_text()
            if no == LEADER:
                frame.locator("#tab-reviewing").click()
                frame.wait_for_url(re.compile(r"/lti/reviewing\?"))
                check_reviewer_page(frame, lti_year, no)
            screenshot(page, name)
        finally:
            page.context.close()
