"""The console's settings page for the LTI tool: its URLs and whether it is placed, the platforms (added
by hand with every problem named at its field, removed), the keys (rotated); admins only, with CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import AuditLog, LtiPlatform, LtiToolKey

from ..console.conftest import add_users, post, sign_in
from .tool import PUBLIC, Tool, tool_for

PLATFORM: dict[str, object] = {
    "name": "Rehearsal Moodle",
    "issuer": "https://rehearsal.example.edu",
    "client_id": "abc123",
    "deployment_ids": "3, 4",
    "auth_login_url": "https://rehearsal.example.edu/mod/lti/auth.php",
    "auth_token_url": "https://rehearsal.example.edu/mod/lti/token.php",
    "keyset_url": "https://rehearsal.example.edu/mod/lti/certs.php",
}


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Tool]:
    with tool_for(f"sqlite:///{tmp_path / 'cadre.sqlite3'}", registered=False) as found:
        add_users(found.database_url)
        sign_in(found.client, "admin")
        yield found


def test_the_page_gives_the_registration_url_and_the_steps_until_the_tool_is_placed(admin: Tool) -> None:
    page = admin.client.get("/settings/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"{PUBLIC}/lti/register" in page and f"{PUBLIC}/lti/jwks.json" in page
    assert 'data-testid="lti-steps"' in page
    assert admin.client.get(admin.platform.registration_url()).status_code == 200
    placed = admin.client.get("/settings/").get_data(as_text=True)
    assert 'data-testid="lti-steps"' not in placed and admin.platform.client_id in placed


def test_an_admin_adds_and_removes_a_platform_by_hand(admin: Tool) -> None:
    answer = post(admin.client, "/settings/lti/platforms", PLATFORM)
    assert answer.status_code == 302
    with session_scope(admin.database_url) as session:
        [row] = session.scalars(select(LtiPlatform))
        assert (row.issuer, row.client_id, [d.deployment_id for d in row.deployments]) == (
            PLATFORM["issuer"],
            "abc123",
            ["3", "4"],
        )
        platform_id = row.id
    page = admin.client.get("/settings/").get_data(as_text=True)
    assert "Rehearsal Moodle" in page and "不是已对接的 Moodle" in page  # the console speaks Chinese first
    assert post(admin.client, f"/settings/lti/platforms/{platform_id}/remove").status_code == 302
    with session_scope(admin.database_url) as session:
        assert list(session.scalars(select(LtiPlatform))) == []
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert "lti:platform-add" in actions and "lti:platform-remove" in actions


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issuer", "moodle.example.edu"),
        ("client_id", ""),
        ("deployment_ids", " , "),
        ("keyset_url", "ftp://x/certs"),
    ],
)
def test_a_platform_with_a_bad_field_is_not_stored_and_the_field_is_named(
    admin: Tool, field: str, value: str
) -> None:
    answer = post(
        admin.client,
        "/settings/lti/platforms",
        {**PLATFORM, field: value},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 400
    assert 'data-testid="lti-error"' in answer.get_data(as_text=True)
    with session_scope(admin.database_url) as session:
        assert list(session.scalars(select(LtiPlatform))) == []


def test_keys_rotate_from_the_page(admin: Tool) -> None:
    assert admin.client.get("/lti/jwks.json").status_code == 200
    assert post(admin.client, "/settings/lti/rotate").status_code == 302
    with session_scope(admin.database_url) as session:
        assert sorted(k.status for k in session.scalars(select(LtiToolKey))) == ["active", "previous"]
    assert len(admin.client.get("/lti/jwks.json").get_json()["keys"]) == 2


def test_only_an_admin_with_the_forms_token_changes_anything(admin: Tool) -> None:
    assert admin.client.post("/settings/lti/rotate").status_code == 400  # no CSRF token
    officer = admin.app.test_client()
    sign_in(officer, "officer")
    assert post(officer, "/settings/lti/platforms", PLATFORM).status_code == 403
    assert admin.app.test_client().post("/settings/lti/rotate").status_code == 401
    with session_scope(admin.database_url) as session:
        assert (
            list(session.scalars(select(LtiPlatform))) == []
            and list(session.scalars(select(LtiToolKey))) == []
        )
