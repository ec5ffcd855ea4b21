"""The JSON API's records and reports with offline hours: a cadre's record lists each source, the list
and the reports carry the counted hours, as the OpenAPI document says."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from plugin_service import create_app
from plugin_service.db import session_scope
from plugin_service.services.offline.claims import review_claim, submit_claim
from plugin_service.services.offline.trainings import record_training
from plugin_service.services.platform.api_tokens import make_token

from ..api.conftest import bearer
from ..console.conftest import settings_for
from .world import ADMIN_ACTOR, PDF, OfflineYear, offline_year


@pytest.fixture
def year(database_url: str, tmp_path: Path) -> OfflineYear:
    return offline_year(database_url, tmp_path)


@pytest.fixture
def app(year: OfflineYear) -> Flask:
    return create_app(settings_for(year.database_url, documents_dir=year.settings.documents_dir))


def test_the_api_shows_offline_hours_with_their_source(app: Flask, year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    with session_scope(year.database_url) as session:
        training = record_training(session, ADMIN_ACTOR, name="党校专题报告会", day="2026-05-12", hours=4,
                                   attendees=[cadre]).training_id
        claim = submit_claim(session, cadre, "省委党校中青班", "2026-06-03", 8, "", (PDF, "a.pdf"),
                             f"lti:{cadre}", settings=year.settings).id
        review_claim(session, claim, "approve", "", ADMIN_ACTOR)
        token = make_token(session, "hr", actor="test")
    api = app.test_client()
    record = api.get(f"/api/v1/years/2026/records/{cadre}", headers=bearer(token)).get_json()
    assert (record["offline_hours"], record["offline_hours_earned"], record["offline_max"]) == (10, 12, 10)
    assert record["offline"] == [
        {"source": f"training:{training}", "kind": "training", "title": "党校专题报告会", "on": "2026-05-12",
         "hours": 4.0},
        {"source": f"claim:{claim}", "kind": "claim", "title": "省委党校中青班", "on": "2026-06-03",
         "hours": 8.0}]
    assert any("offline 12, counted up to 10" in reason for reason in record["reasons"])
    listed = api.get(f"/api/v1/years/2026/records?q={cadre}", headers=bearer(token)).get_json()
    assert [item["offline_hours"] for item in listed["items"]] == [10]
    report = api.get("/api/v1/years/2026/reports/department", headers=bearer(token)).get_json()
    assert report["total"]["offline_cadres"] == 1
    assert report["total"]["mean_offline_hours"] == round(10 / report["total"]["cadres"], 2)
    document = api.get("/api/v1/openapi.json", headers=bearer(token)).get_json()
    assert "offline" in document["components"]["schemas"]["CadreRecord"]["properties"]
