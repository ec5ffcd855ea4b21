"""``cadre doctor``: is the Moodle site ready?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import ConfigError, Settings, load_settings
from ..moodle import client_from_settings
from ..rendering import render
from ..services.lti.placement import placement
from ..services.provisioning.doctor import DoctorReport, diagnose
from .common import EXIT_PROBLEMS


@click.command()
@click.option("--moodle-url", envvar="CADRE_MOODLE_URL", help="Base URL of the Moodle site.")
@click.option("--token", envvar="CADRE_MOODLE_TOKEN", help="Web-service token (better: CADRE_MOODLE_TOKEN).")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for each answer.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as an HTML page for the Moodle admin.")
def doctor(moodle_url: str | None, token: str | None, timeout: float | None,
           html_path: Path | None) -> None:
    """Checks the Moodle site, its release, the token's functions and capabilities.

    Exits 0 when everything Cadre Companion needs is there, 2 otherwise.
    """
    try:
        settings = load_settings(moodle_url=moodle_url, moodle_token=token,
                                 moodle_timeout=timeout if timeout is not None else 20.0)
        client = client_from_settings(settings)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_PROBLEMS)
    with client:
        report = diagnose(client)
    print_report(report)
    if not report.fatal:  # a site that cannot be read gets its one clear line only
        print_lti(settings)
    if html_path is not None:
        html_path.write_text(render("console/doctor.html", report=report), encoding="utf-8")
        click.echo(f"report written to {html_path}")
    sys.exit(0 if report.ok else EXIT_PROBLEMS)


def print_report(report: DoctorReport) -> None:
    if report.fatal:
        click.secho(f"error: {report.fatal}", fg="red", err=True)
        return
    site = report.site
    assert site is not None
    click.echo(f"Site:     {site.sitename} ({site.siteurl})")
    click.echo(f"Release:  {site.release or 'unknown'}")
    click.echo(f"Runs as:  {site.username} ({site.fullname}, id {site.userid})")
    feature = None
    for check in report.functions:
        if check.requirement.feature != feature:
            feature = check.requirement.feature
            click.echo(f"\nFunctions for {feature}:")
        name = check.requirement.function
        if check.available:
            click.echo(f"  available  {name}")
        elif check.requirement.optional:
            click.secho(f"  optional   {name} - missing: {check.requirement.why}", fg="yellow")
        else:
            click.secho(f"  MISSING    {name} - {check.fix}", fg="red")
    if report.probes or report.notes:
        click.echo("\nChecks:")
    for probe in report.probes:
        status = "ok  " if probe.ok else "FAIL"
        line = f"  {status} {probe.name}: {probe.detail}" + (f" - {probe.fix}" if probe.fix else "")
        click.secho(line, fg=None if probe.ok else "red")
    for note in report.notes:
        click.echo(f"  note: {note}")
    problems = len(report.missing) + sum(not p.ok for p in report.probes)
    if problems:
        click.secho(f"\n{problems} problem(s): the site is not ready for Cadre Companion.", fg="red")
    else:
        click.secho("\nAll set: every function Cadre Companion needs is available.", fg="green")



def print_lti(settings: Settings) -> None:
    """Whether the LTI tool is placed in this Moodle, and how to place it. It does not change the exit
    status: the site serves provisioning and harvests without the tool."""
    click.echo("\nLTI tool (Cadre Companion inside Moodle):")
    database = settings.database_url
    if database.startswith("sqlite:///") and not Path(database.removeprefix("sqlite:///")).exists():
        click.echo("  note: no database yet (cadre db upgrade): no platform can be registered")
        return
    found = placement(database, settings.public_base_url, settings.moodle_url)
    for platform in found.platforms:
        mark = "ok  " if platform.connected and platform.deployments else "FAIL"
        click.secho(f"  {mark} platform {platform.name}: issuer {platform.issuer}, client id "
                    f"{platform.client_id}, deployments {', '.join(platform.deployments) or 'none'}",
                    fg=None if mark == "ok  " else "red")
    for problem in found.problems:
        click.secho(f"  FAIL {problem}", fg="red")
    for note in found.notes:
        click.echo(f"  note: {note}")
    if not found.registered:
        click.echo("  To place the tool, a Moodle admin:")
        for number, step in enumerate(found.steps, 1):
            click.echo(f"    {number}. {step}")
    else:
        click.echo("  The tool is placed. To add it to a new template course: Add an activity or resource > "
                   "Cadre Companion (a course copy carries it).")
