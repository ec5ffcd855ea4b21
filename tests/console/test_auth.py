"""Signing in and out: hashed passwords, wrong passwords, disabled users, sessions that end with a new
password, the login rate limit, the cookie's flags, and no redirect to another site."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import AuditLog, ConsoleUser
from plugin_service.services.platform.console_users import disable_user, set_password

from .conftest import PASSWORD, make_app, post, settings_for, sign_in, token


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Sign-in, roles and CSRF are the web layer's and the same on either database: SQLite only here
    (the pages' data is tested on both)."""
    return f"sqlite:///{tmp_path / 'cadre.sqlite3'}"


def test_sign_in_and_out(app: Flask, database_url: str) -> None:
    client = app.test_client()
    answer = client.get("/reports/?group_by=tier")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    answer = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": token(client), "next": "/reports/?group_by=tier"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/reports/?group_by=tier"
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="current-user">admin' in page
    answer = post(client, "/logout")
    assert answer.status_code == 302
    assert client.get("/").status_code == 302
    with session_scope(database_url) as session:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == "admin"))
        assert user is not None and user.last_login_at is not None
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:")) and PASSWORD not in user.password_hash
        logins = session.scalars(select(AuditLog).where(AuditLog.action == "console:login")).all()
        assert [(a.actor, a.outcome) for a in logins] == [("console:admin", "ok")]


def test_a_wrong_password_or_unknown_user_signs_nobody_in(app: Flask, database_url: str) -> None:
    client = app.test_client()
    for name, password in (("admin", "wrong password!"), ("nobody", PASSWORD)):
        answer = client.post("/login", data={"username": name, "password": password,
                                             "csrf_token": token(client)})
        assert answer.status_code == 401
        assert "用户名或密码错误" in answer.get_data(as_text=True)
        assert password not in answer.get_data(as_text=True)
        assert client.get("/").status_code == 302
    with session_scope(database_url) as session:
        failed = session.scalars(select(AuditLog).where(AuditLog.outcome == "failed")).all()
        assert len(failed) == 2 and all("wrong password!" not in str(a.detail) for a in failed)


def test_a_disabled_user_cannot_sign_in_and_is_signed_out(app: Flask, database_url: str) -> None:
    client = sign_in(app.test_client(), "officer")
    assert client.get("/").status_code == 200
    with session_scope(database_url) as session:
        disable_user(session, "officer", actor="test")
    assert client.get("/").status_code == 302
    answer = app.test_client().post("/login", data={"username": "officer", "password": PASSWORD,
                                                    "csrf_token": token(app.test_client())})
    assert answer.status_code in (400, 401)
    fresh = app.test_client()
    answer = fresh.post("/login", data={"username": "officer", "password": PASSWORD,
                                        "csrf_token": token(fresh)})
    assert answer.status_code == 401


def test_a_new_password_ends_the_open_sessions(app: Flask, database_url: str) -> None:
    client = sign_in(app.test_client(), "admin")
    with session_scope(database_url) as session:
        set_password(session, "admin", "another long password", actor="test")
    assert client.get("/").status_code == 302
    sign_in(app.test_client(), "admin", "another long password")


def test_signing_in_is_limited_per_address(database_url: str) -> None:
    app = make_app(settings_for(database_url))
    app.config["CADRE_LOGIN_RATE_LIMIT"] = "3/minute"
    client = app.test_client()
    codes = [client.post("/login", data={"username": "admin", "password": "wrong",
                                         "csrf_token": token(client)}).status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
    answer = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": token(client)})
    assert answer.status_code == 429 and "尝试次数过多" in answer.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # reading the page is not limited


def test_the_session_cookie_is_http_only_and_same_site(app: Flask) -> None:
    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("cadre_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax" and not cookie.secure


def test_the_session_cookie_is_secure_behind_https(database_url: str) -> None:
    app = make_app(settings_for(database_url, public_base_url="https://cadre.college.example"))
    client = app.test_client()
    client.get("/login", base_url="https://cadre.college.example")
    cookie = client.get_cookie("cadre_session", domain="cadre.college.example")
    assert cookie is not None and cookie.secure and cookie.http_only


def test_sign_in_never_redirects_to_another_site(app: Flask) -> None:
    client = app.test_client()
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        answer = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                             "csrf_token": token(client), "next": target})
        assert answer.headers["Location"] == "/", target
        post(client, "/logout")
