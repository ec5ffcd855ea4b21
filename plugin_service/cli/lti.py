"""``cadre lti``: the LTI tool's platforms, its keys, and the year's hours in Moodle's gradebook."""

from __future__ import annotations

import datetime as dt

import click

from ..db import session_scope
from ..services.lti.gradebook import push_hours
from ..services.lti.keys import GRACE, key_views, rotate
from ..services.lti.placement import admin_steps
from ..services.lti.platforms import list_platforms
from ..services.lti.registration import tool_urls
from .common import fail, ready_database, settings_or_fail


@click.group("lti")
def lti() -> None:
    """Cadre Companion as an LTI 1.3 tool in Moodle: platforms, keys, hours in the gradebook."""


@lti.command("platforms")
def platforms_command() -> None:
    """Lists the platforms the tool trusts, and how to place the tool in Moodle."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        found = list_platforms(session, settings.moodle_url)
    urls = tool_urls(settings.public_base_url)
    click.echo(f"Registration URL: {urls.register}\nKey set URL:      {urls.jwks}\n")
    if not found:
        click.echo("No platform is registered yet. In Moodle:")
        for number, step in enumerate(admin_steps(settings.public_base_url, settings.moodle_url), 1):
            click.echo(f"  {number}. {step}")
        return
    for platform in found:
        mark = "connected Moodle" if platform.connected else "NOT the connected Moodle"
        click.echo(
            f"{platform.id}: {platform.name} ({mark})\n   issuer {platform.issuer}, client id "
            f"{platform.client_id}, deployments {', '.join(platform.deployments) or '-'}, "
            f"registered by {platform.registered_by} on {platform.created_at:%Y-%m-%d}"
        )


@lti.command("keys")
def keys_command() -> None:
    """Lists the tool's keys (never their private half)."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        views = key_views(session)
    if not views:
        click.echo("No key yet: one is made when a platform first needs it.")
    for key in views:
        until = (
            f", published until {key.retire_after:%Y-%m-%d %H:%M} UTC"
            if key.retire_after and key.status == "previous"
            else ""
        )
        click.echo(
            f"{key.kid}  {key.status:<8} made {key.created_at:%Y-%m-%d %H:%M} UTC by {key.created_by}{until}"
        )


@lti.command("rotate-keys")
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0),
    default=GRACE.total_seconds() / 3600,
    show_default=True,
    help="How long the replaced key stays published.",
)
def rotate_keys(grace_hours: float) -> None:
    """Makes a new signing key; the old one stays in the key set for the grace period, then retires."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        new, replaced = rotate(
            session, settings.secret_key, actor="cli", grace=dt.timedelta(hours=grace_hours)
        )
    click.echo(f"New signing key {new}.")
    for kid in replaced:
        click.echo(f"Key {kid} stays published for {grace_hours:g} hours, then retires.")


@lti.command("push-hours")
@click.option(
    "--year", type=int, help="The plan year for columns outside the year's courses (default: newest)."
)
def push_hours_command(year: int | None) -> None:
    """Posts the hours that changed to the Moodle gradebook columns the tool was launched from."""
    settings = settings_or_fail()
    ready_database(settings)
    if not settings.moodle_url:
        fail("no Moodle site is connected (CADRE_MOODLE_URL)")
    result = push_hours(
        settings.database_url, secret_key=settings.secret_key, moodle_url=settings.moodle_url, year=year
    )
    click.echo(
        f"{result.line_items} gradebook columns: {result.sent} scores sent, {result.unchanged} unchanged, "
        f"{result.refused} refused by Moodle, {result.failed} not delivered (tried again next time)"
    )
    for error in result.errors:
        click.secho(f"  {error}", fg="yellow")
