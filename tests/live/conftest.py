"""Live tests: the bridge against a real Moodle named by ``MOODLE_URL`` and ``MOODLE_TOKEN``.

Every object a test creates gets the run's prefix (``MOODLE_LIVE_PREFIX`` or a random one) in its
username, idnumber or shortname, and is registered with ``cleanup`` so it is removed (or, where Moodle
offers no removal, suspended or hidden) at the end, even when the test fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import select

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.core_user import UserUpdate
from plugin_service.config import Settings
from plugin_service.db import session_scope
from plugin_service.models import Cadre, YearCourse
from plugin_service.services.provisioning.provision import Inputs, apply, check_inputs, preview
from rules.plan_model import Plan

pytestmark = pytest.mark.live


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MOODLE_URL") and os.environ.get("MOODLE_TOKEN"):
        return
    skip = pytest.mark.skip(reason="live tests need MOODLE_URL and MOODLE_TOKEN of a real Moodle "
                            "(see tests/live/README.md)")
    for item in items:
        if "tests/live/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def live_client() -> Iterator[MoodleClient]:
    client = MoodleClient(os.environ["MOODLE_URL"], os.environ["MOODLE_TOKEN"], timeout=120,
                          batch_size=50, max_workers=4)
    yield client
    client.close()


@pytest.fixture(scope="session")
def prefix() -> str:
    """The run's prefix: every object the live tests create starts with it."""
    return os.environ.get("MOODLE_LIVE_PREFIX") or f"cclive-{secrets.token_hex(3)}-"


@pytest.fixture
def cleanup() -> Iterator[Callable[[Callable[[], object]], None]]:
    """Registers undo steps; they run last-in first-out after the test, errors reported, not raised."""
    steps: list[Callable[[], object]] = []
    yield steps.append
    undo(steps)


def undo(steps: list[Callable[[], object]]) -> None:
    """Runs undo steps last-in first-out; their errors are reported together, after all have run."""
    failures = []
    for step in reversed(steps):
        try:
            step()
        except MoodleError as exc:
            failures.append(str(exc))
    if failures:
        pytest.fail("cleanup on the live site failed: " + "; ".join(failures), pytrace=False)


def require_functions(client: MoodleClient, *names: str) -> None:
    """Skips with the names an admin must add to the service when the token cannot call them."""
    missing = client.preflight(names).missing
    if missing:
        pytest.skip("the token's service lacks " + ", ".join(missing))


def template_course_shortname() -> str:
    """The template course a live site provides (``MOODLE_TEMPLATE_COURSE``), or skip."""
    name = os.environ.get("MOODLE_TEMPLATE_COURSE")
    if not name:
        pytest.skip("set MOODLE_TEMPLATE_COURSE to the shortname of a template course "
                    "(see tests/live/README.md)")
    return name


@pytest.fixture(scope="module")
def module_cleanup() -> Iterator[Callable[[Callable[[], object]], None]]:
    """``cleanup`` for objects a module's tests share: the undo steps run after the module's last test."""
    steps: list[Callable[[], object]] = []
    yield steps.append
    undo(steps)


def live_settings(database_url: str, namespace: str) -> Settings:
    """The companion's settings for a live run: the site from the environment, the run's namespace."""
    return Settings(moodle_url=os.environ["MOODLE_URL"], moodle_token=os.environ["MOODLE_TOKEN"],
                    database_url=database_url, secret_key="live", moodle_namespace=namespace,
                    moodle_batch_size=50, moodle_max_workers=2,
                    moodle_timezone=os.environ.get("MOODLE_TIMEZONE", ""))


@dataclasses.dataclass(frozen=True)
class SmallYear:
    """A plan applied in the run's namespace, with what provisioning made of it."""

    inputs: Inputs
    users: dict[str, int]  # employee number -> Moodle user id
    courses: dict[str, int]  # course key -> Moodle course id


def provision_year(client: MoodleClient, settings: Settings, plan: str, roster: str,
                   cleanup: Callable[[Callable[[], object]], None]) -> SmallYear:
    """Applies a small plan and roster (their names in the run's namespace) to the site, its removal
    registered first; returns the ids the companion stored."""
    inputs = check_inputs(plan, "plan.yaml", roster.encode("utf-8"), "roster.csv")
    cleanup(lambda: remove_provisioned(client, inputs, settings))
    apply(client, inputs, settings, actor="live-test")
    with session_scope(settings.database_url) as session:
        users = {no: userid for no, userid in session.execute(select(Cadre.employee_no, Cadre.moodle_userid))
                 if userid is not None}
        courses = {key: courseid for key, courseid in session.execute(
            select(YearCourse.key, YearCourse.moodle_courseid).where(YearCourse.year == inputs.plan.year))
            if courseid}
    assert set(courses) == {c.key for c in inputs.plan.courses}, courses
    return SmallYear(inputs, users, courses)


def complete_course(client: MoodleClient, userid: int, courseid: int) -> None:
    """The user completes the course whose criteria are its activities with manual completion (the
    template courses'): the service user overrides each one, and Moodle aggregates the course at once."""
    for section in client.core_course.get_contents(courseid):
        for module in section.modules:
            if module.completion == 1:
                client.core_completion.override_activity_completion_status(userid, module.id, 1)


def remove_provisioned(client: MoodleClient, inputs: Inputs, settings: Settings) -> None:
    """Deletes what applying ``inputs`` made on the site: its courses, cohorts and users."""
    state = preview(client, inputs, settings).actual
    courses = {c.id for c in [*state.courses.values(), *state.courses_by_shortname.values()]}
    if courses:
        client.core_course.delete_courses(sorted(courses))
    if state.classes:
        client.core_cohort.delete_cohorts([c.id for c in state.classes.values()])
    if state.users:
        client.core_user.delete_users([u.id for u in state.users.values()])


def copy_database(source: Path, target: Path) -> None:
    """A copy of a SQLite database as it stands (SQLite's backup reads through the write-ahead log)."""
    with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as writing:
        reading.backup(writing)


class WriteCounter:
    """The write calls a client makes (wrapping ``MoodleClient.call``); as a context manager, only those
    made inside it."""

    def __init__(self, client: MoodleClient) -> None:
        self.writes: list[str] = []
        self._original = client.call
        self._client = client

        def counted(wsfunction: str, params: Any = None, *, write: bool) -> Any:
            if write:
                self.writes.append(wsfunction)
            return self._original(wsfunction, params, write=write)

        client.call = counted  # type: ignore[method-assign]

    def __enter__(self) -> WriteCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.call = self._original  # type: ignore[method-assign]


LEARNER_SERVICE = "moodle_mobile_app"


def set_password(client: MoodleClient, userid: int) -> str:
    """A new password for a provisioned cadre who must act as themselves; Moodle's "change password at
    first login" preference (provisioning has Moodle mail one) is cleared, so that a login goes through."""
    password = f"Cc-{secrets.token_hex(4)}-9Xa!"
    client.core_user.update_users([UserUpdate(id=userid, password=password,
                                              preferences={"auth_forcepasswordchange": "0"})])
    return password


def learner_token(username: str, password: str) -> tuple[str | None, str]:
    """A learner's own token from the site's login (``/login/token.php`` on the mobile app's service), or
    None and what the site said."""
    answer = requests.post(f"{os.environ['MOODLE_URL'].rstrip('/')}/login/token.php",
                           data={"username": username, "password": password, "service": LEARNER_SERVICE},
                           timeout=60)
    try:
        body = answer.json()
    except ValueError:
        return None, f"/login/token.php answered HTTP {answer.status_code}, not JSON"
    if isinstance(body, dict) and body.get("token"):
        return str(body["token"]), "ok"
    said = body.get("errorcode") or body.get("error") if isinstance(body, dict) else body
    return None, f"/login/token.php answered {said!r}"


def plan_today(plan: Plan) -> dt.date:
    """Today in the plan's timezone, held within the plan's period (a run outside the year still finds
    the plan under way)."""
    today = dt.datetime.now(ZoneInfo(plan.moodle.timezone)).date()
    return min(max(today, plan.period.start), plan.period.end)
