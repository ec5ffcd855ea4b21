"""The tool's pages under Flask's test client on a harvested year: the sample plan applied to a fake
Moodle for the small roster, half a year learnt and harvested, a certificate issued to two cadres, on
SQLite and PostgreSQL, made once per database for every test here (they only read it, but for the
certificates a test issues and revokes itself). A page token is signed directly for whoever a test looks
as: no launch needed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from moodle_bridge.fake import serve
from plugin_service.db import session_scope
from plugin_service.models import Cadre, LearningRecordRow
from plugin_service.services.documents.certificates import issue_one
from plugin_service.services.lti.viewer import Viewer, sign_viewer

from ..conftest import _postgres_database
from ..console.conftest import make_app, settings_for
from ..harvest.world import PLAN_FILE, Year, library_site, provision, small_roster, spread

SECRET = "console-test-secret"  # the console tests' app secret (``settings_for``)


@dataclass
class World:
    year: Year
    app: Flask
    holders: tuple[str, str]  # two cadres with a certificate each


def token(employee_no: str | None, roles: tuple[str, ...], *, name: str = "", userid: int = 0,
          departments: tuple[str, ...] = (), locale: str = "zh", course_id: int | None = None,
          return_url: str | None = None) -> str:
    return sign_viewer(Viewer(1, "deployment-1", userid, employee_no, name or (employee_no or "someone"),
                              roles, departments, locale, course_id, return_url), SECRET)


def learner_token(world: World, employee_no: str, locale: str = "zh", **values: Any) -> str:
    with session_scope(world.year.database_url) as session:
        cadre = session.get(Cadre, employee_no)
        assert cadre is not None
        name = cadre.name
    return token(employee_no, ("learner",), name=name, userid=world.year.users.get(employee_no, 0),
                 locale=locale, **values)


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            database_url = f"sqlite:///{tmp_path_factory.mktemp('lti') / 'cadre.sqlite3'}"
        else:
            database_url = stack.enter_context(contextmanager(_postgres_database)())
        running = stack.enter_context(serve(library_site()))
        year = provision(running, database_url, roster=small_roster(), plan_text=PLAN_FILE.read_text("utf-8"))
        spread(year)
        year.harvest()
        documents = Path(tmp_path_factory.mktemp("documents"))
        settings = settings_for(database_url, moodle_url=running.url, moodle_token=year.settings.moodle_token,
                                documents_dir=str(documents), public_base_url="https://cadre.example.edu")
        with session_scope(database_url) as session:
            holders = tuple(session.scalars(
                select(LearningRecordRow.employee_no).where(LearningRecordRow.year == 2026,
                                                            LearningRecordRow.tier_key.is_not(None))
                .order_by(LearningRecordRow.total_hours.desc(), LearningRecordRow.employee_no).limit(2)))
        for no in holders:
            issue_one(settings, 2026, no, actor="test", override_reason="test certificate")
        yield World(year, make_app(settings), (holders[0], holders[1]))
