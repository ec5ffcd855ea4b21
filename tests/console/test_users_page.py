"""The users page: an admin adds officers and reviewers who then sign in to their own cadres, gives new
passwords and roles (which end the user's sessions), disables and enables; every refusal shows beside its
form in the reader's language and changes nothing; nobody else reaches the page; no password is shown
or stored in the clear."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import AuditLog, Cadre, ConsoleUser
from plugin_service.services.platform.console_users import UserError, change_role, create_user, disable_user

from ..harvest.world import Year, reviewer_of
from .conftest import OFFICER_DEPARTMENTS, PASSWORD, REVIEWER, post, sign_in, token

NEW_PASSWORD = "a brand new password"
ERROR = re.compile(r'data-testid="user-error">([^<]*)<')


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The page's rules are the service's and the same on either database: SQLite here (adding users who
    see their cadres runs on both, on the harvested year)."""
    return f"sqlite:///{tmp_path / 'cadre.sqlite3'}"


def stored(database_url: str) -> tuple[dict[str, tuple[Any, ...]], int]:
    """Every user as stored (with the password hash and session version), and the audit log's length."""
    with session_scope(database_url) as session:
        users = {u.username: (u.role, tuple(u.departments), u.employee_no, u.disabled, u.session_version,
                              u.password_hash) for u in session.scalars(select(ConsoleUser))}
        audit = len(session.scalars(select(AuditLog.id)).all())
    return users, audit


def listed_cadres(client: FlaskClient) -> set[str]:
    return set(re.findall(r'data-testid="cadre-link">(\w+)<', client.get("/cadres/").get_data(as_text=True)))


def officer_form(**values: object) -> dict[str, object]:
    return {"username": "wang", "role": "officer", "departments": [OFFICER_DEPARTMENTS[0]],
            "employee_no": "", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD, **values}


def test_added_officers_and_reviewers_sign_in_to_their_own_cadres(harvested: tuple[Year, Flask]) -> None:
    year, app = harvested
    admin = sign_in(app.test_client(), "admin")
    page = admin.get("/users/").get_data(as_text=True)
    for department in OFFICER_DEPARTMENTS:  # the stored cadres' departments to choose from
        assert f'<option value="{department}" >{department}</option>' in page
    answer = post(admin, "/users/", officer_form(employee_no=REVIEWER))  # a reviewer's field: left out
    assert answer.status_code == 302, answer.get_data(as_text=True)
    answer = post(admin, "/users/", officer_form(username="yu", role="reviewer", employee_no=REVIEWER))
    assert answer.status_code == 302
    listing = admin.get("/users/").get_data(as_text=True)
    assert "用户 yu 已添加" in listing and 'data-user="wang"' in listing and 'data-user="yu"' in listing
    assert NEW_PASSWORD not in listing
    with session_scope(year.database_url) as session:
        users = {u.username: u for u in session.scalars(select(ConsoleUser))}
        assert (users["wang"].role, users["wang"].departments, users["wang"].employee_no) == (
            "officer", [OFFICER_DEPARTMENTS[0]], None)
        assert (users["yu"].role, users["yu"].departments, users["yu"].employee_no) == (
            "reviewer", [], REVIEWER)
        in_department = set(session.scalars(select(Cadre.employee_no)
                                            .where(Cadre.department == OFFICER_DEPARTMENTS[0])))
        members = set(session.scalars(select(Cadre.employee_no)))
        added = session.scalars(select(AuditLog).where(AuditLog.action == "user:add",
                                                       AuditLog.actor == "console:admin")).all()
    assert {a.target for a in added} == {"user:wang", "user:yu"}
    assert all(NEW_PASSWORD not in str(a.detail) for a in added)

    officer = sign_in(app.test_client(), "wang", NEW_PASSWORD)
    assert in_department and listed_cadres(officer) == in_department
    assert officer.get("/users/").status_code == 403 and officer.get("/settings/").status_code == 403
    reviewer = sign_in(app.test_client(), "yu", NEW_PASSWORD)
    reviewed = {no for no in members if reviewer_of(year, no) == REVIEWER}
    assert reviewed and listed_cadres(reviewer) <= reviewed and listed_cadres(reviewer)
    assert listed_cadres(reviewer) == listed_cadres(sign_in(app.test_client(), "reviewer"))
    assert reviewer.get("/users/").status_code == 403


REFUSALS = [
    ("mismatched passwords", "/users/", officer_form(password_again="another password"),
     "两次输入的密码不一致"),
    ("short password", "/users/", officer_form(password="short", password_again="short"),
     "至少需要 10 个字符"),
    ("duplicate name", "/users/", officer_form(username="officer"), "用户 officer 已存在"),
    ("bad name", "/users/", officer_form(username="x y"), "用户名 'x y'"),
    ("officer without departments", "/users/", officer_form(departments=[]), "部门干部专员至少需要一个部门"),
    ("reviewer without number", "/users/", officer_form(role="reviewer"), "评阅人需要工号"),
    ("new password mismatched", "/users/officer/password",
     {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"}, "两次输入的密码不一致"),
    ("new password short", "/users/officer/password", {"password": "short", "password_again": "short"},
     "至少需要 10 个字符"),
    ("demoting the last admin", "/users/admin/role", {"role": "officer", "departments": ["教务处"]},
     "admin 是最后一位有效的管理员"),
    ("disabling yourself", "/users/admin/disable", {}, "不能停用自己"),
    ("enabling an active user", "/users/officer/enable", {}, "用户 officer 未被停用"),
]


@pytest.mark.parametrize(("path", "data", "message"), [case[1:] for case in REFUSALS],
                         ids=[case[0] for case in REFUSALS])
def test_a_refusal_shows_beside_its_form_and_changes_nothing(app: Flask, database_url: str, path: str,
                                                             data: dict[str, object], message: str) -> None:
    client = sign_in(app.test_client(), "admin")
    before = stored(database_url)
    answer = post(client, path, data)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400
    shown = [html.unescape(error) for error in ERROR.findall(text)]
    assert len(shown) == 1 and message in shown[0], shown
    assert stored(database_url) == before
    for field in ("password", "password_again"):
        typed = str(data.get(field, ""))
        assert len(typed) < 6 or typed not in text
    assert client.get("/users/").status_code == 200  # still signed in


def test_the_form_keeps_what_was_typed_but_the_passwords(app: Flask) -> None:
    client = sign_in(app.test_client(), "admin")
    answer = post(client, "/users/", {"username": "li", "role": "reviewer", "employee_no": "T20001",
                                      "password": NEW_PASSWORD, "password_again": "another long one"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'name="username" id="username" value="li"' in text and 'value="T20001"' in text
    assert '<option value="reviewer" selected>' in text
    assert NEW_PASSWORD not in text and "another long one" not in text


def test_the_last_active_admin_is_kept_from_the_command_line_too(app: Flask, database_url: str) -> None:
    """The console cannot reach it (its admin may not disable themselves), the ``cadre user`` command can."""
    before = stored(database_url)
    last = "admin is the last active administrator"
    with pytest.raises(UserError, match=last), session_scope(database_url) as session:
        disable_user(session, "admin", actor="cli")
    with pytest.raises(UserError, match=last), session_scope(database_url) as session:
        change_role(session, "admin", role="reviewer", employee_no=REVIEWER, actor="cli")
    assert stored(database_url) == before
    with session_scope(database_url) as session:
        create_user(session, "chief", PASSWORD, role="admin", actor="cli")
    with session_scope(database_url) as session:
        disable_user(session, "admin", actor="cli")
    assert stored(database_url)[0]["admin"][3] is True


def test_a_new_password_signs_the_user_out(app: Flask, database_url: str) -> None:
    officer = sign_in(app.test_client(), "officer")
    admin = sign_in(app.test_client(), "admin")
    answer = post(admin, "/users/officer/password",
                  {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert answer.status_code == 302 and answer.headers["Location"] == "/users/officer"
    page = admin.get("/users/officer").get_data(as_text=True)
    assert "officer 的密码已更改" in page and NEW_PASSWORD not in page
    assert officer.get("/").status_code == 302  # the old session has ended
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "officer", "password": PASSWORD,
                                      "csrf_token": token(fresh)}).status_code == 401
    sign_in(app.test_client(), "officer", NEW_PASSWORD)
    # An admin's own new password ends their other sessions, not the one they changed it in.
    elsewhere = sign_in(app.test_client(), "admin")
    assert post(admin, "/users/admin/password", {"password": NEW_PASSWORD,
                                                 "password_again": NEW_PASSWORD}).status_code == 302
    assert admin.get("/users/").status_code == 200 and elsewhere.get("/").status_code == 302
    with session_scope(database_url) as session:
        changes = session.scalars(select(AuditLog).where(AuditLog.action == "user:passwd")).all()
    assert [(a.actor, a.target) for a in changes] == [("console:admin", "user:officer"),
                                                      ("console:admin", "user:admin")]
    assert all(NEW_PASSWORD not in str(a.detail) for a in changes)


def test_a_new_role_signs_the_user_out_and_a_new_scope_does_not(app: Flask, database_url: str) -> None:
    officer = sign_in(app.test_client(), "officer")
    admin = sign_in(app.test_client(), "admin")
    answer = post(admin, "/users/officer/role", {"role": "officer", "departments": ["教务处"]})
    assert answer.status_code == 302
    assert officer.get("/").status_code == 200
    assert "教务处" in admin.get("/users/officer").get_data(as_text=True)
    again = post(admin, "/users/officer/role", {"role": "officer", "departments": ["教务处"]})
    assert again.status_code == 302
    assert "没有任何变更" in admin.get("/users/officer").get_data(as_text=True)
    answer = post(admin, "/users/officer/role", {"role": "admin", "departments": ["教务处"],
                                                 "employee_no": REVIEWER})
    assert answer.status_code == 302
    assert officer.get("/").status_code == 302
    promoted = sign_in(app.test_client(), "officer")
    assert promoted.get("/users/").status_code == 200
    users, _audit = stored(database_url)
    assert users["officer"][:3] == ("admin", (), None)
    with session_scope(database_url) as session:
        changes = session.scalars(select(AuditLog).where(AuditLog.action == "user:change")
                                  .order_by(AuditLog.id)).all()
    assert [(a.detail["role"], a.detail["before"]["role"]) for a in changes] == [
        ("officer", "officer"), ("admin", "officer")]


def test_a_user_is_disabled_and_enabled_again(app: Flask, database_url: str) -> None:
    reviewer = sign_in(app.test_client(), "reviewer")
    admin = sign_in(app.test_client(), "admin")
    page = admin.get("/users/reviewer").get_data(as_text=True)
    assert 'id="disable-user"' in page and 'data-disabled="no"' in page
    assert 'id="disable-user"' not in admin.get("/users/admin").get_data(as_text=True)
    assert post(admin, "/users/reviewer/disable").status_code == 302
    assert 'data-disabled="yes"' in admin.get("/users/reviewer").get_data(as_text=True)
    assert reviewer.get("/").status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "reviewer", "password": PASSWORD,
                                      "csrf_token": token(fresh)}).status_code == 401
    again = post(admin, "/users/reviewer/disable")
    assert again.status_code == 400 and "已停用" in ERROR.findall(again.get_data(as_text=True))[0]
    assert post(admin, "/users/reviewer/enable").status_code == 302
    assert 'data-disabled="no"' in admin.get("/users/reviewer").get_data(as_text=True)
    sign_in(app.test_client(), "reviewer")
    with session_scope(database_url) as session:
        actions = [(a.actor, a.action, a.target) for a in session.scalars(
            select(AuditLog).where(AuditLog.action.in_(["user:disable", "user:enable"]))
            .order_by(AuditLog.id))]
    assert actions == [("console:admin", "user:disable", "user:reviewer"),
                       ("console:admin", "user:enable", "user:reviewer")]


def users_rules(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("users."):
            url = app.url_map.bind("localhost").build(rule.endpoint, {"username": "officer"}
                                                      if "username" in rule.arguments else {})
            found += [(method, url) for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]
    return found


@pytest.mark.parametrize("role", ["officer", "reviewer"])
def test_only_an_admin_reaches_the_users_pages(app: Flask, database_url: str, role: str) -> None:
    routes = users_rules(app)
    assert len(routes) == 7
    client = sign_in(app.test_client(), role)
    before = stored(database_url)
    for method, url in routes:
        data = {"csrf_token": token(client, "/"), **officer_form(role="admin")} if method == "POST" else None
        assert client.open(url, method=method, data=data).status_code == 403, (method, url)
    assert stored(database_url) == before


def test_a_post_without_its_token_is_refused(app: Flask, database_url: str) -> None:
    client = sign_in(app.test_client(), "admin")
    before = stored(database_url)
    posts = [url for method, url in users_rules(app) if method == "POST"]
    assert len(posts) == 5
    for url in posts:
        answer = client.post(url, data=officer_form(role="admin"))
        assert answer.status_code == 400 and "表单已过期" in answer.get_data(as_text=True), url
    assert stored(database_url) == before


def test_the_pages_speak_chinese_and_english(app: Flask) -> None:
    client = sign_in(app.test_client(), "admin")
    settings_page = client.get("/settings/").get_data(as_text=True)
    assert 'id="manage-users"' in settings_page and "管理用户" in settings_page
    assert "cadre user add" in settings_page  # the command does the same
    listing = client.get("/users/").get_data(as_text=True)
    assert "添加用户" in listing and "初始密码" in listing and "部门干部专员" in listing
    assert 'data-testid="no-departments"' in listing  # no cadres stored: nothing to choose from yet
    page = client.get("/users/officer").get_data(as_text=True)
    assert "设置密码" in page and "停用" in page and "党委宣传部" in page
    assert client.get("/users/nobody").status_code == 404
    english = client.get("/users/?lang=en").get_data(as_text=True)
    assert "Add a user" in english and "添加用户" not in english
    refused = post(client, "/users/", officer_form(password="short", password_again="short"))
    assert ERROR.findall(refused.get_data(as_text=True)) == ["the password must have at least 10 characters"]
