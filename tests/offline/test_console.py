"""The console's offline hours pages under Flask's test client: each role sees what its scope allows,
records trainings by form and sheet, claims on a cadre's behalf with evidence, decides; every form
carries its CSRF token; the cadre page shows the hours with their source; Chinese and English."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import OfflineClaim, OfflineTraining
from plugin_service.services.platform.console_users import create_user

from ..console.conftest import PASSWORD, make_app, post, settings_for, sign_in
from .test_trainings import xlsx
from .world import LEADER, PDF, OfflineYear, offline_year

CLAIM_LINK = re.compile(r'data-claim="(\d+)"')


@pytest.fixture
def year(database_url: str, tmp_path: Path) -> OfflineYear:
    return offline_year(database_url, tmp_path)


@pytest.fixture
def app(year: OfflineYear) -> Flask:
    made = make_app(settings_for(year.database_url, documents_dir=year.settings.documents_dir,
                                 offline_evidence_max_mb=1.0))
    with session_scope(year.database_url) as session:
        create_user(session, "admin", PASSWORD, role="admin", actor="test")
        create_user(session, "officer", PASSWORD, role="officer", actor="test",
                    departments=(year.department,))
        create_user(session, "leader", PASSWORD, role="reviewer", actor="test", employee_no=LEADER)
    return made


def client(app: Flask, username: str) -> FlaskClient:
    return sign_in(app.test_client(), username)


def page(response_client: FlaskClient, path: str, status: int = 200) -> str:
    answer = response_client.get(path)
    assert answer.status_code == status, (path, answer.status_code)
    return answer.get_data(as_text=True)


def test_every_role_finds_the_offline_pages_in_the_nav(app: Flask) -> None:
    for username in ("admin", "officer", "leader"):
        signed = client(app, username)
        home = page(signed, "/?lang=en")
        assert 'id="nav-offline"' in home and ">Offline hours<" in home
        claims = page(signed, "/offline/claims?lang=en")
        assert 'data-testid="claims-empty"' in claims
        assert ('id="offline-new-training"' in claims) == (username != "leader")
    leader = client(app, "leader")
    assert leader.get("/offline/trainings/new").status_code == 403
    assert leader.get("/offline/import").status_code == 403
    assert leader.get("/offline/claims/new").status_code == 403


def test_an_officer_records_a_training_and_the_cadre_page_shows_its_hours(app: Flask,
                                                                          year: OfflineYear) -> None:
    officer = client(app, "officer")
    cadre = year.reviewed[0]
    form: dict[str, object] = {"name": "党校专题报告会", "day": "2026-05-12", "hours": "4",
                               "organiser": "党委组织部", "attendees": cadre}
    assert officer.post("/offline/trainings/new", data=form).status_code == 400  # no CSRF token
    done = post(officer, "/offline/trainings/new", form)
    assert done.status_code == 302, done.get_data(as_text=True)
    shown = page(officer, done.headers["Location"] + "?lang=en")
    assert "党校专题报告会" in shown and f'data-attendee="{cadre}"' in shown
    cadre_page = page(officer, f"/cadres/{cadre}?lang=en")
    assert 'id="offline-hours">4' in cadre_page
    assert 'data-source="training:' in cadre_page and "recorded attendance" in cadre_page
    listed = page(client(app, "leader"), "/offline/trainings?lang=en")
    assert "党校专题报告会" in listed


def test_a_bad_training_form_says_which_field_and_stores_nothing(app: Flask, year: OfflineYear) -> None:
    officer = client(app, "officer")
    answer = post(officer, "/offline/trainings/new?lang=en",
                  {"name": "读书班", "day": "2026-06-01", "hours": "abc", "attendees": year.outside()})
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert 'data-field="hours"' in text and "is not a number of hours" in text
    with session_scope(year.database_url) as session:
        assert session.scalar(select(OfflineTraining.id)) is None


def test_a_sheet_with_problems_shows_them_at_their_row_and_a_good_one_imports(app: Flask,
                                                                             year: OfflineYear) -> None:
    admin = client(app, "admin")
    bad = xlsx([["读书班", "2026-06-01", "四", year.reviewed[0], ""],
                ["读书班", "2026-06-02", 2, "X404", ""]])
    answer = post(admin, "/offline/import?lang=en", {"sheet": (io.BytesIO(bad), "签到表.xlsx")},
                  content_type="multipart/form-data")
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert 'id="problem-table"' in text and 'data-line="2"' in text and 'data-line="3"' in text
    assert "no cadre has the employee number X404" in text and "column 学时" in text
    good = xlsx([["读书班", "2026-06-01", 2, ",".join(year.reviewed), ""]])
    answer = post(admin, "/offline/import?lang=en", {"sheet": (io.BytesIO(good), "签到表.xlsx")},
                  content_type="multipart/form-data")
    assert answer.status_code == 200 and 'data-testid="import-done"' in answer.get_data(as_text=True)
    assert year.record(year.reviewed[1]).offline_hours == 2


def test_a_claim_from_the_console_to_the_reviewers_decision(app: Flask, year: OfflineYear) -> None:
    officer, leader = client(app, "officer"), client(app, "leader")
    cadre = year.reviewed[0]
    form = {"employee_no": cadre, "kind": "external", "title": "省委党校中青班", "day": "2026-06-03",
            "hours": "6", "description": "外出培训"}
    refused = post(officer, "/offline/claims/new?lang=en",
                   {**form, "evidence": (io.BytesIO(b"MZ not a pdf"), "证书.exe")},
                   content_type="multipart/form-data")
    assert refused.status_code == 400 and 'data-field="evidence"' in refused.get_data(as_text=True)
    made = post(officer, "/offline/claims/new", {**form, "evidence": (io.BytesIO(PDF), "证书.pdf")},
                content_type="multipart/form-data")
    assert made.status_code == 302, made.get_data(as_text=True)
    claim_id = int(made.headers["Location"].rsplit("/", 1)[1])

    waiting = page(leader, "/offline/claims?lang=en")
    assert CLAIM_LINK.findall(waiting) == [str(claim_id)] and f'data-testid="decide-{claim_id}"' in waiting
    evidence = leader.get(f"/offline/claims/{claim_id}/evidence")
    assert evidence.status_code == 200 and evidence.data == PDF and evidence.mimetype == "application/pdf"
    assert "attachment" in evidence.headers["Content-Disposition"]
    evidence.close()
    decide = f"/offline/claims/{claim_id}/decide"
    no_reason = post(leader, f"{decide}?lang=en", {"decision": "reject", "reason": ""})
    assert no_reason.status_code == 400 and 'data-field="reason"' in no_reason.get_data(as_text=True)
    approved = post(leader, decide, {"decision": "approve", "reason": ""})
    assert approved.status_code == 302
    assert "approved" in page(leader, f"/offline/claims/{claim_id}?lang=en")
    assert year.record(cadre).offline_hours == 6
    again = post(leader, f"{decide}?lang=en", {"decision": "reject", "reason": "再议"})
    assert again.status_code == 400 and "was approved already" in again.get_data(as_text=True)
    with session_scope(year.database_url) as session:
        claim = session.get(OfflineClaim, claim_id)
        assert claim is not None and claim.decided_by == "console:leader"


def test_claims_outside_the_readers_scope_are_not_found(app: Flask, year: OfflineYear) -> None:
    admin, officer, leader = client(app, "admin"), client(app, "officer"), client(app, "leader")
    other = year.outside()
    made = post(admin, "/offline/claims/new", {
        "employee_no": other, "kind": "external", "title": "读书班", "day": "2026-06-03", "hours": "2",
        "evidence": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data")
    claim_id = int(made.headers["Location"].rsplit("/", 1)[1])
    for reader in (officer, leader):
        assert reader.get(f"/offline/claims/{claim_id}").status_code == 404
        assert reader.get(f"/offline/claims/{claim_id}/evidence").status_code == 404
        assert post(reader, f"/offline/claims/{claim_id}/decide", {"decision": "approve"}).status_code == 404
        assert str(claim_id) not in CLAIM_LINK.findall(page(reader, "/offline/claims?state="))
    foreign = post(officer, "/offline/claims/new?lang=en", {
        "employee_no": other, "kind": "external", "title": "读书班", "day": "2026-06-04", "hours": "2",
        "evidence": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data")
    assert foreign.status_code == 400
    assert "is not a cadre of your departments" in foreign.get_data(as_text=True)


def test_the_pages_read_in_chinese_by_default(app: Flask, year: OfflineYear) -> None:
    admin = client(app, "admin")
    assert ">线下学时<" in page(admin, "/offline/claims")
    trainings = page(admin, "/offline/trainings")
    assert "线下培训" in trainings and "记录培训" in trainings
    assert "导入签到表" in page(admin, "/offline/import")
