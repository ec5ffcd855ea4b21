"""``cadre token``: the JSON API's tokens for other systems (HR, OA)."""

from __future__ import annotations

import getpass

import click

from ..db import session_scope
from ..services.platform.api_tokens import TokenError, make_token, revoke_token, tokens
from .common import fail, ready_database, settings_or_fail


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group("token")
def token() -> None:
    """Tokens of the JSON API (/api/v1) for other systems."""


@token.command("add")
@click.argument("name")
@click.option("--write", is_flag=True, help="May upload rosters too (default: read only).")
@click.option("--department", "departments", multiple=True,
              help="Reads only these departments' cadres (repeat; default: every department).")
def add(name: str, write: bool, departments: tuple[str, ...]) -> None:
    """Makes a token and prints it once: store it in the other system now."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        try:
            made = make_token(session, name, actor=_actor(), can_write=write, departments=list(departments))
        except TokenError as exc:
            fail(str(exc))
    click.echo(f"Token {name!r} ({'read and upload rosters' if write else 'read only'}"
               f"{', departments: ' + ', '.join(departments) if departments else ''}):")
    click.echo(made)
    click.echo("It is shown only now; only its fingerprint is kept.")


@token.command("list")
def list_tokens() -> None:
    """The tokens, their rights and when each was last used."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        for row in tokens(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            rights = "write" if row.can_write else "read"
            scope = ", ".join(row.departments) if row.departments else "all departments"
            click.echo(f"  {row.name:<24} {row.prefix}…  {rights:<5} {scope}; {state}; last used {used}")


@token.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revokes a token at once."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        try:
            revoke_token(session, name, actor=_actor())
        except TokenError as exc:
            fail(str(exc))
    click.echo(f"Token {name!r} is revoked.")
