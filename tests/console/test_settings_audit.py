"""Settings: the Moodle connection set in the console overrides the environment, its token is stored
encrypted and never shown back, and the doctor's report is on the page. The audit log filters."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from moodle_bridge.fake import RunningFake
from plugin_service.db import session_scope
from plugin_service.models import AuditLog, SiteSetting
from plugin_service.services.platform.site_settings import effective

from ..conftest import TOKEN
from .conftest import add_users, make_app, post, settings_for, sign_in


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Settings and the audit log store a few rows through the same models as every page: SQLite here."""
    return f"sqlite:///{tmp_path / 'cadre.sqlite3'}"


def test_the_token_is_write_only_and_overrides_the_environment(fake: RunningFake, database_url: str) -> None:
    settings = settings_for(database_url, moodle_url="https://old.example.edu", moodle_token="env-token-1234")
    app: Flask = make_app(settings)
    add_users(database_url)
    client = sign_in(app.test_client(), "admin")
    page = client.get("/settings/").get_data(as_text=True)
    assert "https://old.example.edu" in page and "env-token-1234" not in page

    answer = post(client, "/settings/moodle", {"moodle_url": "not a url", "moodle_token": ""})
    assert answer.status_code == 400 and 'data-testid="settings-error"' in answer.get_data(as_text=True)
    assert "Moodle 地址：不是网址" in answer.get_data(as_text=True)  # the field and why, in Chinese
    answer = post(client, "/settings/moodle", {"moodle_url": fake.url + "/", "moodle_token": TOKEN})
    assert answer.status_code == 302
    page = client.get("/settings/").get_data(as_text=True)
    assert TOKEN not in page and fake.url in page and "在本系统中设置" in page
    with session_scope(database_url) as session:
        stored = {row.key: row for row in session.scalars(select(SiteSetting))}
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "settings:change")).one()
    assert stored["moodle_token"].secret and TOKEN not in stored["moodle_token"].value
    assert TOKEN not in str(audit.detail) and audit.actor == "console:admin"
    now = effective(settings)
    assert (now.moodle_url, now.moodle_token) == (fake.url, TOKEN)
    # Under another secret key the stored token cannot be read: the environment's stays, the page says so.
    other = effective(dataclasses.replace(settings, secret_key="another secret"))
    assert other.moodle_token == "env-token-1234"

    report = post(client, "/settings/doctor").get_data(as_text=True)
    assert 'data-testid="doctor-report"' in report and 'data-testid="doctor-verdict"' in report
    assert TOKEN not in report
    download = client.get("/settings/doctor.html")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert TOKEN not in download.get_data(as_text=True)

    assert post(client, "/settings/moodle/forget").status_code == 302
    assert effective(settings).moodle_token == "env-token-1234"


def test_the_audit_log_filters(app: Flask, database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add_all([AuditLog(actor="cli", action="create_user", target="T1", outcome="ok"),
                         AuditLog(actor="cli", action="enrol", target="thought/T1", outcome="failed"),
                         AuditLog(actor="console:admin", action="console:apply", target="plan:1")])
    client = sign_in(app.test_client(), "admin")

    def targets(**query: str) -> list[str]:
        page = client.get("/audit/", query_string=query).get_data(as_text=True)
        if "audit-table" not in page:
            return []
        table = page.split('data-testid="audit-table"')[1].split("</table>")[0]
        return [t for t in ("T1", "thought/T1", "plan:1") if f"<td>{t}</td>" in table]

    assert targets() == ["T1", "thought/T1", "plan:1"]
    assert targets(outcome="failed") == ["thought/T1"]
    assert targets(action="console:") == ["plan:1"]
    assert targets(actor="cli", target="thought") == ["thought/T1"]
    assert targets(actor="nobody") == []
