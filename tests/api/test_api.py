"""The JSON API as another system uses it: token auth, records, one record, reports, roster upload, and
one error format everywhere under /api/."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import AuditLog, StoredRoster
from plugin_service.services.platform.api_tokens import revoke_token

from ..harvest.world import Year
from .conftest import Tokens, bearer

pytestmark = pytest.mark.xdist_group("api")


def error_of(response: object) -> dict[str, object]:
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"status", "code", "message", "details"}, body
    return dict(body["error"])


def test_every_request_needs_an_active_token(api: FlaskClient, tokens: Tokens, year: Year) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = api.get("/api/v1/years", headers=headers)
        assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"
    assert api.get("/api/v1/years", headers=bearer(tokens.reader)).status_code == 200
    with session_scope(year.database_url) as session:
        revoke_token(session, "hr-read", actor="test")
    assert api.get("/api/v1/years", headers=bearer(tokens.reader)).status_code == 401


def test_years_records_and_one_record(api: FlaskClient, tokens: Tokens, year: Year) -> None:
    truth = year.truth()
    [listed] = api.get("/api/v1/years", headers=bearer(tokens.reader)).get_json()
    assert listed["year"] == 2026 and listed["cadres"] == len(year.rows())

    page = api.get("/api/v1/years/2026/records?per_page=10", headers=bearer(tokens.reader)).get_json()
    assert page["total"] == len(truth.records) and len(page["items"]) == 10 and page["page"] == 1
    everything = api.get("/api/v1/years/2026/records?per_page=1000", headers=bearer(tokens.reader)).get_json()
    by_no = {item["employee_no"]: item for item in everything["items"]}
    for no, record in truth.records.items():
        assert by_no[no]["status"] == record.status
        assert by_no[no]["total_hours"] == pytest.approx(record.total_hours)
        assert by_no[no]["tier"] == record.tier
    behind = api.get("/api/v1/years/2026/records?status=behind&per_page=1000",
                     headers=bearer(tokens.reader)).get_json()
    assert {i["employee_no"] for i in behind["items"]} == {no for no, r in truth.records.items()
                                                           if r.status == "behind"}

    no = next(no for no, r in truth.records.items() if r.status == "on_track")
    one = api.get(f"/api/v1/years/2026/records/{no}", headers=bearer(tokens.reader)).get_json()
    assert one["employee_no"] == no and one["reasons"] and one["history"]
    assert {c["key"] for c in one["courses"] if c["kind"]} == set(truth.records[no].credits)
    missing = api.get("/api/v1/years/2026/records/T00000", headers=bearer(tokens.reader))
    assert missing.status_code == 404 and "T00000" in str(error_of(missing)["message"])


def test_a_department_token_sees_only_its_department(api: FlaskClient, tokens: Tokens, year: Year) -> None:
    rows = {row["工号"]: row for row in year.rows()}
    only = bearer(tokens.one_department)
    page = api.get("/api/v1/years/2026/records?per_page=1000", headers=only).get_json()
    assert page["items"] and {i["department"] for i in page["items"]} == {tokens.department}
    other = next(no for no, row in rows.items() if row["部门"] != tokens.department)
    assert api.get(f"/api/v1/years/2026/records/{other}", headers=only).status_code == 404
    report = api.get("/api/v1/years/2026/reports/department", headers=only).get_json()
    assert [g["name"] for g in report["groups"]] == [tokens.department]


def test_reports_by_tier_department_and_class(api: FlaskClient, tokens: Tokens, year: Year) -> None:
    truth = year.truth()
    report = api.get("/api/v1/years/2026/reports/tier", headers=bearer(tokens.reader)).get_json()
    counted = Counter(r.tier for r in truth.records.values() if r.status != "excluded")
    assert {g["key"]: g["cadres"] for g in report["groups"]} == dict(counted)
    assert report["total"]["cadres"] == sum(counted.values())
    assert report["excluded"] == sum(1 for r in truth.records.values() if r.status == "excluded")
    for group_by in ("department", "class"):
        response = api.get(f"/api/v1/years/2026/reports/{group_by}", headers=bearer(tokens.reader))
        assert response.status_code == 200
    wrong = api.get("/api/v1/years/2026/reports/colour", headers=bearer(tokens.reader))
    assert wrong.status_code == 404
    bad = api.get("/api/v1/years/2026/reports/tier?status=lost", headers=bearer(tokens.reader))
    assert bad.status_code == 422 and error_of(bad)["details"] == [
        {"where": "query.status", "message": "Must be one of: complete, on_track, behind, excluded."}]
    assert api.get("/api/v1/years/1999/reports/tier", headers=bearer(tokens.reader)).status_code == 404


def test_a_roster_upload_reports_every_problem_with_its_place_and_stores_nothing(
        api: FlaskClient, tokens: Tokens, year: Year) -> None:
    bad = year.roster.decode("utf-8").replace("正处级", "正处").encode("utf-8")
    response = api.post("/api/v1/rosters", headers=bearer(tokens.writer),
                        data={"file": (io.BytesIO(bad), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422
    problems = error_of(response)["details"]
    assert isinstance(problems, list) and problems
    assert all(p["file"] == "roster.csv" and p["line"] for p in problems)
    with session_scope(year.database_url) as session:
        before = len(session.scalars(select(StoredRoster)).all())

    good = year.roster.replace(b"\n", b"\r\n")
    made = api.post("/api/v1/rosters", headers=bearer(tokens.writer),
                    data={"file": (io.BytesIO(good), "roster-dec.csv")}, content_type="multipart/form-data")
    assert made.status_code == 201 and made.get_json()["new"] is True
    assert made.get_json()["cadres"] == len(year.rows())
    again = api.post("/api/v1/rosters", headers=bearer(tokens.writer),
                     data={"file": (io.BytesIO(good), "roster-dec.csv")}, content_type="multipart/form-data")
    assert again.status_code == 201 and again.get_json()["new"] is False
    with session_scope(year.database_url) as session:
        assert len(session.scalars(select(StoredRoster)).all()) == before + 1
        assert session.scalars(select(AuditLog.actor).where(AuditLog.action == "roster:upload")).all() == [
            "api:hr-write"]
    refused = api.post("/api/v1/rosters", headers=bearer(tokens.reader),
                       data={"file": (io.BytesIO(good), "r.csv")}, content_type="multipart/form-data")
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"


def test_one_error_format_under_api_and_an_openapi_document(api: FlaskClient, tokens: Tokens) -> None:
    assert error_of(api.get("/api/v1/nowhere", headers=bearer(tokens.reader)))["status"] == 404
    wrong_method = api.delete("/api/v1/years", headers=bearer(tokens.reader))
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "method_not_allowed"
    assert api.get("/api/v1/openapi.json").status_code == 401
    spec = api.get("/api/v1/openapi.json", headers=bearer(tokens.reader)).get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert {"/api/v1/years", "/api/v1/years/{year}/records", "/api/v1/years/{year}/records/{employee_no}",
            "/api/v1/years/{year}/reports/{group_by}", "/api/v1/rosters"} <= set(spec["paths"])
