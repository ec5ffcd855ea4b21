"""The JSON API's tests: a harvested year (the harvest tests' world) and the app on its database,
with tokens of each kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from moodle_bridge.fake import RunningFake, serve
from plugin_service import create_app
from plugin_service.db import session_scope
from plugin_service.services.platform.api_tokens import make_token

from ..harvest.world import TODAY, Year, library_site, provision, small_roster, spread


@pytest.fixture
def fake() -> Iterator[RunningFake]:
    with serve(library_site()) as running:
        yield running


@pytest.fixture
def year(fake: RunningFake, database_url: str) -> Year:
    """28 cadres of every tier, half a year of learning done and harvested."""
    made = provision(fake, database_url, roster=small_roster())
    spread(made)
    made.harvest("report", today=TODAY)
    return made


@pytest.fixture
def app(year: Year) -> Flask:
    settings = dataclasses.replace(year.settings, secret_key="api-test-secret", ratelimit_storage="memory://")
    return create_app(settings)


@pytest.fixture
def api(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclasses.dataclass(frozen=True)
class Tokens:
    reader: str
    writer: str
    one_department: str
    department: str


@pytest.fixture
def tokens(year: Year) -> Tokens:
    department = sorted({row["部门"] for row in year.rows()})[0]
    with session_scope(year.database_url) as session:
        return Tokens(make_token(session, "hr-read", actor="test"),
                      make_token(session, "hr-write", actor="test", can_write=True),
                      make_token(session, "one-department", actor="test", departments=[department]),
                      department)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
