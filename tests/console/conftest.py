"""The console under Flask's test client, on SQLite and PostgreSQL: an app with eager Celery tasks,
users of each role, and a signed-in client per role. The harvest tests' site and year are here too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from moodle_bridge.fake import RunningFake, serve
from plugin_service import create_app
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.services.platform.console_users import create_user

from ..conftest import _postgres_database
from ..harvest.world import Year, library_site, provision, small_roster, spread

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
OFFICER_DEPARTMENTS = ("党委宣传部", "科研处")
REVIEWER = "T19918"  # a school leader: the supervising leader of some of the sample roster's cadres


def make_app(settings: Settings) -> Flask:
    upgrade(settings.database_url)
    app = create_app(settings)
    celery = app.extensions["celery"]
    celery.conf.update(task_always_eager=True, task_eager_propagates=False, broker_url="memory://",
                       result_backend="cache+memory://")
    return app


def add_users(database_url: str) -> None:
    with session_scope(database_url) as session:
        create_user(session, "admin", PASSWORD, role="admin", actor="test")
        create_user(session, "officer", PASSWORD, role="officer", actor="test",
                    departments=OFFICER_DEPARTMENTS)
        create_user(session, "reviewer", PASSWORD, role="reviewer", actor="test", employee_no=REVIEWER)


def settings_for(database_url: str, **values: object) -> Settings:
    base = Settings(database_url=database_url, secret_key="console-test-secret", ratelimit_storage="memory://",
                    broker_url="memory://")
    return replace(base, **values)  # type: ignore[arg-type]


@pytest.fixture
def app(database_url: str) -> Flask:
    """An empty console: the schema and one user of each role, nothing else."""
    made = make_app(settings_for(database_url))
    add_users(database_url)
    return made


def token(client: FlaskClient, path: str = "/login") -> str:
    found = TOKEN_FIELD.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": token(client)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None,
         **kwargs: Any) -> TestResponse:
    """A form post with the session's CSRF token, as the page's own form sends it."""
    values = {"csrf_token": token(client, "/"), **(data or {})}
    return client.post(path, data=values, **kwargs)


@pytest.fixture
def fake() -> Iterator[RunningFake]:
    with serve(library_site()) as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def harvested(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Year, Flask]]:
    """The sample plan applied for 28 cadres, half a year learnt and harvested; the console on it. Made
    once per module and database: the page tests only read it."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            database_url = f"sqlite:///{tmp_path_factory.mktemp('harvested') / 'cadre.sqlite3'}"
        else:
            database_url = stack.enter_context(contextmanager(_postgres_database)())
        running = stack.enter_context(serve(library_site()))
        year = provision(running, database_url, roster=small_roster())
        spread(year)
        year.harvest()
        app = make_app(settings_for(database_url, moodle_url=running.url,
                                    moodle_token=year.settings.moodle_token))
        add_users(database_url)
        yield year, app
