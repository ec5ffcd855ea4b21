"""``cadre remind``, ``announce``, ``discussions sync``, ``commend`` and ``survey summary``: the engagement
jobs by hand (the daily schedule runs the same services)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from rules.plan_model import hours_text
from rules.survey import Summary

from ..db import session_scope
from ..services.documents.exports import Table, write_table
from ..services.engagement import EngagementError, JobResult, announce, commend, remind, survey
from ..services.engagement import sync_discussions as sync_topics
from ..services.engagement.tables import commendation_table, survey_table
from ..services.harvest.context import load_context
from ..services.platform.locks import LockedError
from .common import fail, moodle, ready_database, settings_or_fail
from .harvest import pad

YEAR = click.option("--year", type=int, help="The plan year (default: the newest applied).")
TODAY = click.option("--today", type=click.DateTime(["%Y-%m-%d"]),
                     help="Act as on this day (default: today in the plan's timezone).")
DRY_RUN = click.option("--dry-run", is_flag=True, help="Show who would receive what; change nothing.")
SHOW = click.option("--show", type=click.IntRange(min=0), default=20, show_default=True,
                    help="With --dry-run: how many messages of each item to list (0: all).")
TEXTS_SHOWN = 10  # free-text survey answers printed per question
STATES = {"fired": "fires now", "already": "already done", "future": "not yet", "expired": "expired",
          "waiting": "waits for a harvest"}


def _day(today: dt.datetime | None) -> dt.date | None:
    return today.date() if today else None


def _messages(kind: str, year: int | None, today: dt.datetime | None, dry_run: bool, show: int) -> None:
    settings = settings_or_fail()
    ready_database(settings)
    job = remind if kind == "reminder" else announce
    with moodle(settings) as client:
        try:
            if dry_run:
                result = job(client, settings, year=year, today=_day(today), dry_run=True)
            else:
                with click.progressbar(length=1, label="Sending", show_pos=True) as bar:
                    def progress(done: int, total: int) -> None:
                        bar.length = max(total, done, 1)
                        bar.update(done - bar.pos)

                    result = job(client, settings, year=year, today=_day(today), progress=progress)
                click.echo("")
        except (EngagementError, LockedError) as exc:
            fail(f"{exc}\nWhat was sent is recorded; run the same command again to continue.")
    _print_firings(result, show)


def _print_firings(result: JobResult, show: int) -> None:
    verb = "would send" if result.dry_run else "queued"
    click.echo(f"{result.year}, as on {result.today.isoformat()}{' (dry run)' if result.dry_run else ''}:")
    for firing in result.firings:
        line = f"  {firing.kind:<12} {firing.key:<20} {firing.due_on.isoformat()}  {STATES[firing.state]}"
        if firing.state == "fired":
            line += f": {verb} {len(firing.messages)} messages"
        if firing.note:
            line += f" ({firing.note})"
        click.echo(line)
        if result.dry_run and firing.state == "fired":
            listed = firing.messages if show == 0 else firing.messages[:show]
            for message in listed:
                first = message.text.splitlines()[0]
                click.echo(f"      -> {message.recipient} [{message.kind}] {first[:80]}")
            if len(listed) < len(firing.messages):
                click.echo(f"      ... and {len(firing.messages) - len(listed)} more (--show 0 lists all)")
    if not result.dry_run:
        d = result.delivery
        click.echo(f"Delivered: {d.sent} sent, {d.refused} refused, {d.confirmed} found already delivered, "
                   f"{d.requeued} resent; {result.calls} Moodle calls, {result.seconds:.1f} s (run "
                   f"{result.run_id})")
        if d.refused:
            click.echo("Refused messages are listed in the outbox with Moodle's reason.")


@click.command("remind")
@YEAR
@TODAY
@DRY_RUN
@SHOW
def remind_command(year: int | None, today: dt.datetime | None, dry_run: bool, show: int) -> None:
    """Sends the reminders (督促) due today: each rule, period and person at most once."""
    _messages("reminder", year, today, dry_run, show)


@click.command("announce")
@YEAR
@TODAY
@DRY_RUN
@SHOW
def announce_command(year: int | None, today: dt.datetime | None, dry_run: bool, show: int) -> None:
    """Sends the announcements (分类推送) due today to their tiers, each exactly once."""
    _messages("announcement", year, today, dry_run, show)


@click.group("discussions")
def discussions() -> None:
    """The plan's discussion topics (学习交流) in the courses' forums."""


@discussions.command("sync")
@YEAR
@TODAY
@DRY_RUN
def discussions_sync(year: int | None, today: dt.datetime | None, dry_run: bool) -> None:
    """Posts the topics whose window opened and locks those whose window closed, catching up missed days."""
    settings = settings_or_fail()
    ready_database(settings)
    with moodle(settings) as client:
        try:
            result = sync_topics(client, settings, year=year, today=_day(today), dry_run=dry_run)
        except (EngagementError, LockedError, LookupError) as exc:
            fail(str(exc))
    said = " (dry run: nothing changed)" if dry_run else ""
    click.echo(f"{result.year}, as on {result.today.isoformat()}{said}:")
    for topic in result.topics:
        action = topic.action if not dry_run or topic.action == "nothing" else f"would be {topic.action}"
        click.echo(f"  {topic.key:<20} {action}" + (f" ({topic.note})" if topic.note else ""))


def _export(table: Table, output: Path | None) -> None:
    if output is None:
        return
    try:
        written = write_table(table, output)
    except (OSError, ValueError) as exc:
        fail(f"cannot write {output}: {exc}")
    click.echo(f"Written: {written}")


@click.command("commend")
@YEAR
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the list to this .xlsx or .csv file.")
@click.option("--save", is_flag=True, help="Store this list as the year's commendation list.")
def commend_command(year: int | None, output: Path | None, save: bool) -> None:
    """The commendation list (表彰名单) per tier from the plan's rule, with the numbers behind each name."""
    settings = settings_or_fail()
    ready_database(settings)
    try:
        result = commend(settings, year=year, save=save)
    except EngagementError as exc:
        fail(str(exc))
    with session_scope(settings.database_url) as session:
        plan = load_context(session, result.year, settings.moodle_namespace).plan
    listed = result.commended or []
    if plan.commendation is None:
        fail(f"the {result.year} plan has no commendation rule (commendation: top_per_tier, min_hours)")
    table = commendation_table(plan, listed)
    click.echo(f"{table.title}: top {plan.commendation.top_per_tier} per tier, at least "
               f"{hours_text(plan.commendation.min_hours)} hours")
    current = None
    for row in table.rows:
        if row["tier"] != current:
            current = row["tier"]
            click.echo(f"\n  {current}")
        grade = "-" if row["reflection_grade"] is None else row["reflection_grade"]
        total = hours_text(round(float(row["total_hours"]), 2))
        click.echo(f"    {row['rank']:>2}. {pad(str(row['name']), 8)} {row['employee_no']:<8} "
                   f"{pad(str(row['department']), 22)} {total:>6} h "
                   f"points {row['discussion_points']:g}  grade {grade} {row['tied']}")
    if not listed:
        click.echo("  nobody reaches the rule's hours yet")
    if save:
        click.echo(f"\nStored as the {result.year} commendation list ({len(listed)} names).")
    _export(table, output)


@click.group("survey")
def survey_group() -> None:
    """The training-needs survey (培训需求调查)."""


@survey_group.command("summary")
@YEAR
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the summary to this .xlsx or .csv file.")
def survey_summary(year: int | None, output: Path | None) -> None:
    """Reads the survey's answers from Moodle and summarises them by tier and department."""
    settings = settings_or_fail()
    ready_database(settings)
    with moodle(settings) as client:
        try:
            result = survey(client, settings, year=year)
        except (EngagementError, LockedError) as exc:
            fail(str(exc))
    assert result.survey is not None
    harvested, summary = result.survey
    names = "、".join(f.name for f in harvested.feedbacks)
    click.echo(f"{result.year} 培训需求调查 ({names}): {harvested.responses} answers, "
               f"{harvested.changed} new or changed; {result.calls} Moodle calls")
    if harvested.anonymous:
        click.echo("  the survey is anonymous: its answers cannot be split by tier or department")
    _print_summary(summary)
    with session_scope(settings.database_url) as session:
        plan = load_context(session, result.year, settings.moodle_namespace).plan
    _export(survey_table(plan, summary), output)


def _print_summary(summary: Summary) -> None:
    click.echo("\n  Answered per tier:")
    for tier, (answered, cadres) in summary.rate_by_tier.items():
        share = f" ({answered / cadres:.0%})" if cadres else ""
        click.echo(f"    {pad(tier, 24)} {answered:>4} of {cadres}{share}")
    for question in summary.questions:
        click.echo(f"\n  {question.question.label} ({question.answered} answered)")
        for choice in question.choices:
            tiers = ", ".join(f"{t} {n}" for t, n in choice.by_tier.items())
            click.echo(f"    {pad(choice.choice, 24)} {choice.total:>4}   {tiers}")
        if question.mean is not None:
            click.echo(f"    mean {question.mean:.2f}")
        for tier, department, text in question.texts[:TEXTS_SHOWN]:
            click.echo(f"    - {text} ({tier}, {department})")
        if len(question.texts) > TEXTS_SHOWN:
            click.echo(f"    ... and {len(question.texts) - TEXTS_SHOWN} more (all in the export, -o)")
