"""The public verification page: what it shows of a valid, superseded and revoked certificate (and
nothing more), a plain 404 for anything else, its headers, and its rate limit per client address."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pypdfium2  # type: ignore[import-untyped]
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient

from plugin_service import create_app
from plugin_service.config import ConfigError, Settings
from plugin_service.services.documents.certificate_views import mask_name
from plugin_service.services.documents.certificates import issue_one, issue_year, revoke
from plugin_service.services.documents.serials import display, new_serial

from .registry import certificates, settings_for
from .seed import SeededYear, add_course, seed_year

ISSUED_ON = dt.date(2026, 12, 20)


@pytest.fixture
def seeded(database_url: str) -> SeededYear:
    return seed_year(database_url, cadres=12)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    yield create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def page(client: FlaskClient, serial: str, status: int = 200, ip: str = "203.0.113.7") -> str:
    response = client.get(f"/verify/{serial}", environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "'unsafe-inline'" not in policy
    text = response.get_data(as_text=True)
    assert "<script" not in text and "Traceback" not in text
    return text


def test_names_are_partly_masked() -> None:
    assert [mask_name(n) for n in ("张伟", "张三丰", "欧阳晓明", "李", " 王芳 ")] == \
        ["张*", "张*丰", "欧**明", "*", "王*"]


def test_a_valid_certificate_shows_its_status_masked_name_year_and_hours_and_nothing_more(
        seeded: SeededYear, settings: Settings, client: FlaskClient) -> None:
    issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    cert = certificates(settings.database_url)[0]
    data = cert.data

    text = page(client, cert.serial)

    assert "有效" in text and "Valid" in text
    assert mask_name(data["name"]) in text and data["name"] not in text
    assert "2026" in text
    for key in ("total_hours", "required_hours", "elective_hours"):
        value = data[key]
        assert f"<dd>{int(value) if float(value).is_integer() else value}</dd>" in text
    for private in (cert.employee_no, data["department"], data["tier_name"], data["position"] or "处长"):
        assert private not in text, private
    # typed by hand: lower case, the printed groups, I/L/O for 1/0
    assert page(client, display(cert.serial).lower()) == text


def test_a_superseded_certificate_says_a_newer_version_exists_without_its_serial(
        seeded: SeededYear, settings: Settings, client: FlaskClient) -> None:
    issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    cadre = next(no for no in seeded.eligible() if seeded.profiles[no] == "exact")
    add_course(seeded, cadre)
    issue_year(settings, 2026, actor="test", today=ISSUED_ON + dt.timedelta(days=5))
    old, new = sorted((c for c in certificates(settings.database_url) if c.employee_no == cadre),
                      key=lambda c: c.version)

    text = page(client, old.serial)

    assert "已更新" in text and "Superseded" in text and "真实有效" not in text
    assert new.serial not in text and display(new.serial) not in text
    assert "<dd>" + str(int(old.data["total_hours"])) + "</dd>" in text  # what the old paper says
    assert "有效" in page(client, new.serial)


def test_a_revoked_certificate_shows_the_day_not_the_reason(seeded: SeededYear, settings: Settings,
                                                            client: FlaskClient) -> None:
    cadre = seeded.eligible()[0]
    outcome = issue_one(settings, 2026, cadre, actor="test", today=ISSUED_ON)
    revoke(settings, outcome.certificate.serial, reason="学时认定有误，经复核撤销", actor="admin")
    revoked_on = certificates(settings.database_url)[0].revoked_at
    assert revoked_on is not None
    day = revoked_on.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()

    text = page(client, outcome.certificate.serial)

    assert "已撤销" in text and "Revoked" in text
    assert f"{day.year} 年 {day.month} 月 {day.day} 日" in text and day.isoformat() in text
    assert "学时认定有误" not in text and "admin" not in text


def test_unknown_and_malformed_serials_get_a_plain_404(seeded: SeededYear, client: FlaskClient) -> None:
    for serial in (new_serial(), "not-a-serial", "<script>alert(1)</script>", "0" * 500, "%00",
                   "..%2f..%2fetc"):
        text = page(client, serial, status=404)
        assert "未找到" in text and "Not found" in text
        assert "<script>alert" not in text


def test_the_page_is_rate_limited_per_client_address(seeded: SeededYear, database_url: str,
                                                     tmp_path: Path) -> None:
    client = create_app(settings_for(database_url, tmp_path, verify_rate_limit="3/minute")).test_client()
    serial = new_serial()
    for _ in range(3):
        page(client, serial, status=404, ip="198.51.100.1")
    response = client.get(f"/verify/{serial}", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert "查询过于频繁" in response.get_data(as_text=True)
    assert "Content-Security-Policy" in response.headers
    page(client, serial, status=404, ip="198.51.100.2")  # another address is not held back
    with pytest.raises(ConfigError, match="verify_rate_limit"):
        create_app(settings_for(database_url, tmp_path, verify_rate_limit="often"))


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(seeded: SeededYear, database_url: str,
                                                                        tmp_path: Path) -> None:
    client = create_app(settings_for(database_url, tmp_path, verify_rate_limit="2/minute",
                                     trusted_proxies=1)).test_client()
    serial = new_serial()
    for _ in range(2):
        assert client.get(f"/verify/{serial}", headers={"X-Forwarded-For": "192.0.2.10"}).status_code == 404
    assert client.get(f"/verify/{serial}", headers={"X-Forwarded-For": "192.0.2.10"}).status_code == 429
    assert client.get(f"/verify/{serial}", headers={"X-Forwarded-For": "192.0.2.11"}).status_code == 404


def test_the_qr_code_of_an_issued_certificate_leads_to_its_page(seeded: SeededYear, settings: Settings,
                                                                client: FlaskClient) -> None:
    outcome = issue_one(settings, 2026, seeded.eligible()[0], actor="test", today=ISSUED_ON)
    assert outcome.certificate.pdf is not None
    document = pypdfium2.PdfDocument(outcome.certificate.pdf.read_bytes())
    try:
        image = document[0].render(scale=3.0).to_pil().convert("L")
    finally:
        document.close()
    [url] = [result.text for result in zxingcpp.read_barcodes(image)]

    assert url.startswith(settings.public_base_url + "/verify/")
    text = page(client, urlsplit(url).path.removeprefix("/verify/"))
    assert "有效" in text and mask_name(outcome.certificate.data["name"]) in text
