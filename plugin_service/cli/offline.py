"""``cadre offline``: offline study hours from the command line, through the same services as the console
(acting as an administrator): list the trainings or claims, import an attendance sheet, approve or reject
a claim."""

from __future__ import annotations

from pathlib import Path

import click

from rules.plan_model import hours_text
from rules.problems import InputError

from ..db import session_scope
from ..services.harvest.context import latest_year
from ..services.offline.claim_views import ClaimFilters, claims
from ..services.offline.claims import STATES, review_claim
from ..services.offline.errors import OfflineError
from ..services.offline.imports import import_sheet
from ..services.offline.training_views import trainings
from ..services.offline.who import COMMAND_LINE
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


@offline.command("approve")
@click.argument("claim_id", type=int)
@click.option("--reason", default="", help="Why (optional for an approval).")
def approve_command(claim_id: int, reason: str) -> None:
    """Approves a submitted claim: its hours count in the cadre's record at once."""
    _decide(claim_id, "approve", reason)


@offline.command("reject")
@click.argument("claim_id", type=int)
@click.option("--reason", required=True, help="Why the claim is rejected (the cadre sees it).")
def reject_command(claim_id: int, reason: str) -> None:
    """Rejects a submitted claim, saying why."""
    _decide(claim_id, "reject", reason)


def _decide(claim_id: int, decision: str, reason: str) -> None:
    settings = settings_or_fail()
    ready_database(settings)
    try:
        with session_scope(settings.database_url) as session:
            done = review_claim(session, claim_id, decision, reason, COMMAND_LINE)
    except OfflineError as exc:
        fail(str(exc))
    click.echo(f"claim {done.id} {CLAIM_WORDS.get(done.state, done.state)}: {done.employee_no} {done.name}, "
               f"{done.title} ({done.held_on.isoformat()}, {hours_text(done.hours)} h)")
