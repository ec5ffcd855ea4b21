"""``cadre bulletin``: the progress bulletins (通报) by hand — send those due as of a day (or preview them),
list what was issued, show one and copy its files (the daily job runs the same service)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import click

from rules.bulletins import Ranked, Standing, change_text
from rules.plan_model import hours_text

from ..db import session_scope
from ..services.documents.document_batches import documents_root
from ..services.engagement import EngagementError, JobResult, bulletins
from ..services.engagement.bulletin_store import find
from ..services.engagement.bulletins import BulletinFiring
from ..services.harvest.context import latest_year
from ..services.platform.locks import LockedError
from ..services.read_models.bulletins import history, schedule, view
from .common import fail, moodle, ready_database, settings_or_fail
from .engage import SHOW, TODAY, YEAR
from .harvest import pad

STATES = {"fired": "issued now", "already": "already issued", "future": "not yet", "expired": "expired",
          "waiting": "waits for a harvest"}
DELIVERY = {"delivered": "delivered", "sending": "still sending", "incomplete": "some not reached",
            "none": "nobody to tell"}


@click.group("bulletin")
def bulletin() -> None:
    """Progress bulletins (通报): each department's and tier's standing, ranked, sent to its readers."""


@bulletin.command("send")
@YEAR
@TODAY
@click.option("--dry-run", is_flag=True, help="Show the figures and who would receive what; change nothing.")
@SHOW
def send(year: int | None, today: dt.datetime | None, dry_run: bool, show: int) -> None:
    """Issues the bulletins due as of today: stores their figures, writes their PDF and XLSX, and sends
    each reader their message, each bulletin once."""
    settings = settings_or_fail()
    ready_database(settings)
    with moodle(settings) as client:
        try:
            if dry_run:
                result = bulletins(client, settings, year=year, today=today.date() if today else None,
                                   dry_run=True)
            else:
                with click.progressbar(length=1, label="Sending", show_pos=True) as bar:
                    def progress(done: int, total: int) -> None:
                        bar.length = max(total, done, 1)
                        bar.update(done - bar.pos)

                    result = bulletins(client, settings, year=year, today=today.date() if today else None,
                                       progress=progress)
                click.echo("")
        except (EngagementError, LockedError) as exc:
            fail(f"{exc}\nWhat was issued and sent is recorded; run the same command again to continue.")
    _print(result, show)


def _print(result: JobResult, show: int) -> None:
    click.echo(f"{result.year}, as on {result.today.isoformat()}{' (dry run)' if result.dry_run else ''}:")
    if not result.bulletins:
        click.echo("  the plan has no bulletins")
    for firing in result.bulletins:
        line = f"  {firing.key:<14} {firing.due_on.isoformat()}  {pad(firing.title, 40)} "
        line += STATES[firing.state]
        if firing.state == "fired":
            readers = ", ".join(f"{audience} {count}" for audience, count in firing.readers.items())
            verb = "would send" if result.dry_run else "queued"
            line += f": {verb} {len(firing.messages)} messages ({readers})"
        if firing.note:
            line += f" ({firing.note})"
        click.echo(line)
        if result.dry_run and firing.state == "fired":
            _preview(firing, show)
    if not result.dry_run:
        d = result.delivery
        click.echo(f"Delivered: {d.sent} sent, {d.refused} refused, {d.confirmed} found already delivered, "
                   f"{d.requeued} resent; {result.calls} Moodle calls, {result.seconds:.1f} s (run "
                   f"{result.run_id})")
        if d.refused:
            click.echo("Refused messages are listed with Moodle's reason by `cadre bulletin show KEY`.")


def _preview(firing: BulletinFiring, show: int) -> None:
    assert firing.table is not None and firing.records_for is not None
    against = f"compared with {firing.previous}" if firing.previous else "the year's first bulletin"
    click.echo(f"      records computed for {firing.records_for.isoformat()}; {against}")
    _tables(firing.table, "      ")
    if firing.headless:
        click.echo(f"      no head in post found for: {'、'.join(firing.headless)}")
    listed = firing.messages if show == 0 else firing.messages[:show]
    for message in listed:
        lines = message.text.splitlines()
        click.echo(f"      -> {message.recipient} {lines[1][:60] if len(lines) > 1 else ''}")
    if len(listed) < len(firing.messages):
        click.echo(f"      ... and {len(firing.messages) - len(listed)} more (--show 0 lists all)")


def _row(line: Ranked) -> str:
    figures = line.figures
    rank = f"{line.rank}{'=' if line.tied else ''}"
    return (f"{rank:>4} {pad(line.name, 26)} {figures.complete:>4}/{figures.cadres:<4} {figures.rate:>6.1f}% "
            f"{hours_text(figures.mean_hours):>7} h  behind {figures.behind:<4} {change_text(line)}")


def _tables(table: Standing, indent: str, *, tiers: bool = True) -> None:
    click.echo(f"{indent}by department ({len(table.departments)}; '=' marks a shared rank):")
    for line in table.departments:
        click.echo(f"{indent}  {_row(line)}")
    if tiers:
        click.echo(f"{indent}by tier:")
        for line in table.tiers:
            click.echo(f"{indent}  {_row(line)}")
        total = table.total
        click.echo(f"{indent}school: {total.complete}/{total.cadres} complete ({total.rate:.1f}%), "
                   f"{hours_text(total.mean_hours)} h on average, {total.behind} behind")


def _year(settings_url: str, year: int | None) -> int:
    with session_scope(settings_url) as session:
        found = year if year is not None else latest_year(session)
    if found is None:
        fail("no plan was applied to Moodle yet: run `cadre plan apply` first")
    return found


@bulletin.command("list")
@YEAR
@TODAY
def list_command(year: int | None, today: dt.datetime | None) -> None:
    """The bulletins issued (with whom they reached and how their messages fared), and those to come."""
    settings = settings_or_fail()
    ready_database(settings)
    chosen = _year(settings.database_url, year)
    day = today.date() if today else dt.date.today()
    with session_scope(settings.database_url) as session:
        issued, planned = history(session, chosen), schedule(session, chosen, day)
    click.echo(f"{chosen} bulletins issued: {len(issued)}")
    for item in reversed(issued):
        readers = ", ".join(f"{audience} {count}" for audience, count in item.readers.items())
        d = item.delivery
        click.echo(f"  {item.key:<14} due {item.due_on.isoformat()}, issued {item.issued_on.isoformat()} on "
                   f"records of {item.records_for.isoformat()}  {pad(item.title, 40)}")
        files = " ".join(name for name, there in (("PDF", item.has_pdf), ("XLSX", item.has_xlsx)) if there)
        click.echo(f"      {readers}; {d.sent} of {d.total} messages sent, {d.unreached} not reached: "
                   f"{DELIVERY[d.state]}; files: {files or 'not written yet'}")
    if planned:
        click.echo("To come:")
        for entry in planned:
            click.echo(f"  {entry.key:<14} {entry.on.isoformat()}  {pad(entry.title, 40)} {entry.state} "
                       f"(to {', '.join(entry.audiences)})")


@bulletin.command("show")
@click.argument("key")
@YEAR
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Copy the bulletin's PDF (.pdf) or spreadsheet (.xlsx) here.")
def show_command(key: str, year: int | None, output: Path | None) -> None:
    """One bulletin: its ranked tables with their changes, whom it reached, and who was not reached."""
    settings = settings_or_fail()
    ready_database(settings)
    chosen = _year(settings.database_url, year)
    with session_scope(settings.database_url) as session:
        found = view(session, chosen, key)
    if found is None:
        fail(f"no bulletin {key!r} was issued in {chosen} (`cadre bulletin list` lists them)")
    item = found.issued
    click.echo(f"{item.title} ({item.key}), issued {item.issued_on.isoformat()} on the records of "
               f"{item.records_for.isoformat()}; "
               + (f"changes against {item.previous}" if item.previous else "the year's first bulletin"))
    assert found.total is not None
    _tables(found.total, "  ")
    d = item.delivery
    click.echo(f"Readers: {', '.join(f'{a} {n}' for a, n in item.readers.items())}; messages: {d.sent} sent, "
               f"{d.waiting} waiting, {d.unreached} not reached ({DELIVERY[d.state]})")
    if item.headless:
        click.echo(f"No head in post was found for: {'、'.join(item.headless)}")
    for person in found.unreached:
        click.echo(f"  not reached: {person.employee_no} {person.name} ({person.status}: {person.reason})")
    if output is not None:
        suffix = output.suffix.lower()
        if suffix not in (".pdf", ".xlsx"):
            fail(f"{output}: a bulletin's file is .pdf or .xlsx, not {output.suffix or 'without a suffix'}")
        if not (item.has_pdf if suffix == ".pdf" else item.has_xlsx):
            fail(f"the bulletin's {suffix} is not written yet: the next `cadre bulletin send` writes it")
        with session_scope(settings.database_url) as session:
            row = find(session, chosen, key)
            assert row is not None
            source = documents_root(settings) / (row.pdf_path if suffix == ".pdf" else row.xlsx_path)
        try:
            shutil.copyfile(source, output)
        except OSError as exc:
            fail(f"cannot copy {source} to {output}: {exc.strerror}")
        click.echo(f"Written: {output}")
