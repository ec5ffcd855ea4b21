"""The tool under Flask's test client with a simulated Moodle (``platform``) as its connected site, and a
small year stored directly: a plan applied for 2026, a leader who reviews, two learners (one whose Moodle
id provisioning remembered, one whose it did not), an officer who is no cadre, and the year's records."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from plugin_service.config import Settings
from plugin_service.db import session_scope
from plugin_service.models import Cadre, LearningRecordRow, Membership, StoredPlan, YearCourse
from plugin_service.services.platform.console_users import create_user

from ..console.conftest import make_app, settings_for
from .platform import MoodleUser, SimulatedMoodle, serve

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "https://cadre.example.edu"
LEADER, LEARNER, UNLINKED, OFFICER = "T19880", "T20408", "T20500", "T30001"
LEADER_ID, LEARNER_ID = 200, 101
COURSE_ID = 5  # the Moodle course of the plan's course "thought"


@dataclass
class Tool:
    app: Flask
    client: FlaskClient
    platform: SimulatedMoodle
    settings: Settings

    @property
    def database_url(self) -> str:
        return self.settings.database_url


def _cadre(
    no: str, name: str, rank: str, department: str, leader: str = "", userid: int | None = None
) -> Cadre:
    return Cadre(
        employee_no=no,
        name=name,
        department=department,
        department_type="党政部门",
        rank=rank,
        status="在职",
        supervising_leader=leader,
        moodle_userid=userid,
        position="处长",
    )


def seed(database_url: str) -> None:
    text = (ROOT / "examples" / "plan-2026.yaml").read_text("utf-8")
    with session_scope(database_url) as session:
        session.add(
            StoredPlan(
                year=2026,
                title="2026",
                filename="plan-2026.yaml",
                sha256=hashlib.sha256(text.encode()).hexdigest(),
                text=text,
                applied_at=dt.datetime(2026, 3, 1),
            )
        )
        session.add_all(
            [
                _cadre(LEADER, "余娟文", "校级", "校领导", userid=LEADER_ID),
                _cadre(LEARNER, "王明", "正处级", "党委宣传部", LEADER, LEARNER_ID),
                _cadre(UNLINKED, "李华", "副处级", "科研处", LEADER),
            ]
        )
        session.flush()
        session.add_all(
            [
                Membership(year=2026, employee_no=LEARNER, tier_key="party-admin", class_key="pa-1"),
                Membership(year=2026, employee_no=UNLINKED, tier_key="party-admin", class_key="pa-1"),
                YearCourse(
                    year=2026,
                    key="thought",
                    name="思想",
                    hours=10,
                    idnumber="cadre:2026:course:thought",
                    moodle_courseid=COURSE_ID,
                ),
            ]
        )
        for no, total in ((LEARNER, 12.5), (UNLINKED, 30.0)):
            session.add(
                LearningRecordRow(
                    year=2026,
                    employee_no=no,
                    tier_key="party-admin",
                    status="on_track",
                    status_since="2026-03-01",
                    total_hours=total,
                    target_hours=50.0,
                    required_hours=total,
                )
            )
        create_user(
            session,
            OFFICER,
            "correct horse battery staple",
            role="officer",
            actor="test",
            departments=("科研处",),
        )


def learner() -> MoodleUser:
    return MoodleUser(LEARNER_ID, username=LEARNER.lower(), idnumber=LEARNER, name="王明")


@contextmanager
def tool_for(database_url: str, *, registered: bool = True, namespace: str = "") -> Iterator[Tool]:
    with serve(SimulatedMoodle()) as platform:
        settings = settings_for(
            database_url, moodle_url=platform.url, public_base_url=PUBLIC, moodle_namespace=namespace
        )
        app = make_app(settings)
        seed(database_url)
        platform.tool_jwks = lambda: app.test_client().get("/lti/jwks.json").get_json()
        client = app.test_client()
        if registered:
            answer = client.get(platform.registration_url())
            assert answer.status_code == 200, answer.get_data(as_text=True)
        yield Tool(app, client, platform, settings)
