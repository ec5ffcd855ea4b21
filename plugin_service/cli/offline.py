"""``cadre offline``: offline study hours from the command line, through the same services as the console:
list the trainings or claims, import an attendance sheet, file a claim on a cadre's behalf with its
evidence, approve or reject a claim. It acts as an administrator ("cli"), or with ``--as`` as a console
user (an officer, a reviewer), whose scope the services check and whose name the decision carries, as when
an officer decides a claim handed in on paper."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.orm import Session

from rules.plan_model import hours_text
from rules.problems import InputError

from ..db import session_scope
from ..services.harvest.context import latest_year
from ..services.offline.claim_views import ClaimFilters, claims
from ..services.offline.claims import STATES, review_claim, submit_claim
from ..services.offline.errors import OfflineError
from ..services.offline.evidence import Evidence
from ..services.offline.imports import import_sheet
from ..services.offline.training_views import trainings
from ..services.offline.who import COMMAND_LINE, Actor
from ..services.platform.console_users import find_user
from .common import fail, print_problems, read_file, ready_database, report_input_error, settings_or_fail
from .harvest import CLAIM_WORDS, pad

PAGE = 10_000


@click.group("offline")
def offline() -> None:
    """Offline study hours (线下学时): trainings, attendance sheets and cadres' claims."""


@offline.command("list")
@click.option("--year", type=int, help="The plan year (default: the newest applied).")
@click.option("--trainings", "what", flag_value="trainings", help="List the year's trainings.")
@click.option("--claims", "what", flag_value="claims", default=True, help="List the year's claims (default).")
@click.option("--state", type=click.Choice([*STATES, "all"]), default="submitted", show_default=True,
              help="Claims in this state.")
@click.option("--department", help="Claims of cadres of this department.")
def list_command(year: int | None, what: str, state: str, department: str | None) -> None:
    """Lists the year's claims (waiting ones by default) or trainings."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        year = year if year is not None else latest_year(session)
        if year is None:
            fail("no plan was applied yet")
        if what == "trainings":
            rows = trainings(session, COMMAND_LINE, year, per_page=PAGE).rows
            click.echo(f"{len(rows)} training(s) of {year}")
            for t in rows:
                click.echo(f"  {t.id:>5}  {t.held_on.isoformat()}  {hours_text(t.hours):>5} h  "
                           f"{t.attendees_total:>4} attendee(s)  {pad(t.name, 40)} {t.organiser}")
            return
        found = claims(session, COMMAND_LINE, ClaimFilters(year=year, state=None if state == "all" else state,
                                                           department=department), per_page=PAGE).rows
    click.echo(f"{len(found)} claim(s) of {year}" + ("" if state == "all" else f", {state}"))
    for c in found:
        reason = f"  ({c.reason})" if c.reason else ""
        state_word = CLAIM_WORDS.get(c.state, c.state)
        click.echo(f"  {c.id:>5}  {c.employee_no:<10} {pad(c.name, 8)} {c.held_on.isoformat()}  "
                   f"{hours_text(c.hours):>5} h  {pad(c.title, 36)} {state_word}{reason}")


@offline.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(sheet: Path) -> None:
    """Imports an attendance sheet (XLSX or CSV: 培训名称, 日期, 学时, 工号, optionally 主办单位): every
    problem with its row and column, and nothing stored from a sheet with any."""
    settings = settings_or_fail()
    ready_database(settings)
    data = read_file(sheet)
    try:
        with session_scope(settings.database_url) as session:
            done = import_sheet(session, COMMAND_LINE, data, sheet.name)
    except InputError as exc:
        report_input_error(exc)
    print_problems(done.warnings)
    click.echo(f"{sheet.name}: {len(done.created)} training(s) recorded, {len(done.found)} found recorded "
               f"before; {done.added} attendance(s) added, {done.already} recorded before")


@offline.command("claim")
@click.argument("employee_no")
@click.option("--title", required=True, help="What was studied (培训名称), as the evidence names it.")
@click.option("--day", required=True, help="The day it was held (2026-05-10, 2026/5/10 or 2026年5月10日).")
@click.option("--hours", required=True, help="The hours it gave (学时), e.g. 4 or 1.5.")
@click.option("--description", default="", help="A short description (who held it, where).")
@click.option("--evidence", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The evidence: a PDF, JPEG or PNG file (a certificate, the sign-in sheet).")
@click.option("--as", "as_user", metavar="USERNAME",
              help="File it as this console user (an officer of the cadre's department).")
def claim_command(employee_no: str, title: str, day: str, hours: str, description: str, evidence: Path,
                  as_user: str | None) -> None:
    """Files a claim of offline study hours on a cadre's behalf, with its evidence: it waits for a
    decision (approve, reject)."""
    settings = settings_or_fail()
    ready_database(settings)
    data = read_file(evidence)
    try:
        with session_scope(settings.database_url) as session:
            done = submit_claim(session, employee_no, title, day, hours, description,
                                Evidence(data, evidence.name), _actor(session, as_user), settings=settings)
    except OfflineError as exc:
        fail(_refusal(exc))
    click.echo(f"claim {done.id} {CLAIM_WORDS.get(done.state, done.state)}: {done.employee_no} {done.name}, "
               f"{done.title} ({done.held_on.isoformat()}, {hours_text(done.hours)} h), evidence "
               f"{done.evidence_name}")


AS_USER = click.option("--as", "as_user", metavar="USERNAME",
                       help="Decide as this console user (an officer of the cadre's department, or the "
                            "cadre's reviewer); the decision carries their name.")


@offline.command("approve")
@click.argument("claim_id", type=int)
@click.option("--reason", default="", help="Why (optional for an approval).")
@AS_USER
def approve_command(claim_id: int, reason: str, as_user: str | None) -> None:
    """Approves a submitted claim: its hours count in the cadre's record at once."""
    _decide(claim_id, "approve", reason, as_user)


@offline.command("reject")
@click.argument("claim_id", type=int)
@click.option("--reason", required=True, help="Why the claim is rejected (the cadre sees it).")
@AS_USER
def reject_command(claim_id: int, reason: str, as_user: str | None) -> None:
    """Rejects a submitted claim, saying why."""
    _decide(claim_id, "reject", reason, as_user)


def _decide(claim_id: int, decision: str, reason: str, as_user: str | None) -> None:
    settings = settings_or_fail()
    ready_database(settings)
    try:
        with session_scope(settings.database_url) as session:
            done = review_claim(session, claim_id, decision, reason, _actor(session, as_user))
    except OfflineError as exc:
        fail(_refusal(exc))
    by = f" by {done.decided_by}" if done.decided_by and done.decided_by != COMMAND_LINE.name else ""
    click.echo(f"claim {done.id} {CLAIM_WORDS.get(done.state, done.state)}{by}: {done.employee_no} "
               f"{done.name}, {done.title} ({done.held_on.isoformat()}, {hours_text(done.hours)} h)")


def _actor(session: Session, username: str | None) -> Actor:
    """The command line's own admin rights, or the named console user's role and scope."""
    if username is None:
        return COMMAND_LINE
    found = find_user(session, username)
    if found is None or found.disabled:
        fail(f"no console user {username}" + (" (disabled)" if found is not None else ""))
    return Actor(f"console:{found.username}", found.role, frozenset(found.departments), found.employee_no)


def _refusal(exc: OfflineError) -> str:
    """The services' refusal, naming the option at fault where it is one."""
    options = {"title": "--title", "day": "--day", "date": "--day", "hours": "--hours",
               "description": "--description", "evidence": "--evidence", "reason": "--reason"}
    option = options.get(exc.field or "")
    return f"{option}: {exc}" if option else str(exc)
