"""``cadre user add|list|passwd|disable``: the console's users (the first admin is made here)."""

from __future__ import annotations

import sys

import click

from ..db import session_scope
from ..services.platform.console_users import (
    ROLES,
    UserError,
    create_user,
    disable_user,
    list_users,
    set_password,
)
from .common import fail, ready_database, settings_or_fail

ACTOR = "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@click.group("user")
def user() -> None:
    """The console's users: admins, department officers and reviewers."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="admin: everything; officer: their departments' records and reports; reviewer: the "
                   "cadres they review.")
@click.option("--department", "departments", multiple=True,
              help="An officer's department, as the roster spells it (repeat for several).")
@click.option("--employee-no", help="A reviewer's employee number (the school leader).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def add(username: str, role: str, departments: tuple[str, ...], employee_no: str | None,
        password_stdin: bool) -> None:
    """Creates a console user; the password is asked twice (or read from stdin)."""
    settings = settings_or_fail()
    ready_database(settings)
    password = _password(password_stdin)
    try:
        with session_scope(settings.database_url) as session:
            created, warnings = create_user(session, username, password, role=role, actor=ACTOR,
                                            departments=departments, employee_no=employee_no)
    except UserError as exc:
        fail(f"{exc}; nothing was changed")
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo(f"user {created.username} ({created.role}) created")


@user.command("list")
def list_command() -> None:
    """Lists the console's users."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        users = list_users(session)
    if not users:
        click.echo("no users yet: create the first admin with `cadre user add NAME --role admin`")
        return
    for u in users:
        sees = (", ".join(u.departments) if u.role == "officer" else
                f"cadres reviewed by {u.employee_no}" if u.role == "reviewer" else "everything")
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        click.echo(f"{u.username:<20} {u.role:<9} {'disabled' if u.disabled else 'active':<9} "
                   f"last sign-in {last:<17} sees {sees}")


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def passwd(username: str, password_stdin: bool) -> None:
    """Sets a user's password; their open sessions end."""
    settings = settings_or_fail()
    ready_database(settings)
    password = _password(password_stdin)
    try:
        with session_scope(settings.database_url) as session:
            set_password(session, username, password, actor=ACTOR)
    except UserError as exc:
        fail(f"{exc}; nothing was changed")
    click.echo(f"password of {username} changed; their sessions have ended")


@user.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disables a user: they cannot sign in, and their open sessions end."""
    settings = settings_or_fail()
    ready_database(settings)
    try:
        with session_scope(settings.database_url) as session:
            disable_user(session, username, actor=ACTOR)
    except UserError as exc:
        fail(f"{exc}; nothing was changed")
    click.echo(f"user {username} disabled")
