"""``cadre user``: the first admin is made from the shell; bad input changes nothing and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from plugin_service.cli import main
from plugin_service.db import session_scope
from plugin_service.models import AuditLog, ConsoleUser


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The commands store users through the same models as the console: SQLite here."""
    return f"sqlite:///{tmp_path / 'cadre.sqlite3'}"


def cadre(database_url: str, *args: str, stdin: str = "") -> Result:
    env = {"CADRE_DATABASE_URL": database_url, "CADRE_SECRET_KEY": "x"}
    return CliRunner().invoke(main, ["user", *args], input=stdin, env=env)


def users(database_url: str) -> dict[str, tuple[str, tuple[str, ...], str | None, bool]]:
    with session_scope(database_url) as session:
        return {u.username: (u.role, tuple(u.departments), u.employee_no, u.disabled)
                for u in session.scalars(select(ConsoleUser))}


def test_users_are_added_listed_changed_and_disabled(database_url: str) -> None:
    twice = "a long password\na long password\n"
    result = cadre(database_url, "add", "chief", "--role", "admin", stdin=twice)
    assert result.exit_code == 0, result.output
    result = cadre(database_url, "add", "wang", "--role", "officer", "--department", "教务处", "--department",
                   "人事处", "--password-stdin", stdin="officer password\n")
    assert result.exit_code == 0 and "no stored cadre is in department '教务处'" in result.output
    assert cadre(database_url, "add", "yu", "--role", "reviewer", "--employee-no", "T19880",
                 "--password-stdin", stdin="reviewer password\n").exit_code == 0
    assert users(database_url) == {"chief": ("admin", (), None, False),
                                   "wang": ("officer", ("教务处", "人事处"), None, False),
                                   "yu": ("reviewer", (), "T19880", False)}
    listed = cadre(database_url, "list").output
    assert "chief" in listed and "教务处, 人事处" in listed and "cadres reviewed by T19880" in listed
    with session_scope(database_url) as session:
        hashed = session.scalar(select(ConsoleUser.password_hash).where(ConsoleUser.username == "chief"))
    assert hashed and "a long password" not in hashed
    changed = cadre(database_url, "passwd", "wang", "--password-stdin", stdin="new officer password\n")
    assert changed.exit_code == 0
    assert cadre(database_url, "disable", "wang").exit_code == 0
    assert users(database_url)["wang"][3] is True
    with session_scope(database_url) as session:
        actions = [(a.actor, a.action, a.target)
                   for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == [("cli", "user:add", "user:chief"), ("cli", "user:add", "user:wang"),
                       ("cli", "user:add", "user:yu"), ("cli", "user:passwd", "user:wang"),
                       ("cli", "user:disable", "user:wang")]


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["add", "xy", "--role", "admin", "--password-stdin"], "short\n", "at least 10 characters"),
    (["add", "xy", "--role", "officer", "--password-stdin"], "a long password\n",
     "at least one --department"),
    (["add", "xy", "--role", "reviewer", "--password-stdin"], "a long password\n", "needs --employee-no"),
    (["add", "x y", "--role", "admin", "--password-stdin"], "a long password\n", "user name"),
    (["add", "xy", "--role", "admin"], "a long password\nanother password\n", "do not match"),
    (["passwd", "ghost", "--password-stdin"], "a long password\n", "no user ghost"),
    (["disable", "ghost"], "", "no user ghost"),
])
def test_bad_input_changes_nothing(database_url: str, args: list[str], stdin: str, message: str) -> None:
    result = cadre(database_url, *args, stdin=stdin)
    assert result.exit_code != 0 and message in result.output
    assert users(database_url) == {}


def test_a_user_name_is_taken_once(database_url: str) -> None:
    assert cadre(database_url, "add", "chief", "--role", "admin", "--password-stdin",
                 stdin="a long password\n").exit_code == 0
    result = cadre(database_url, "add", "chief", "--role", "admin", "--password-stdin",
                   stdin="a long password\n")
    assert result.exit_code == 2 and "already exists" in result.output
