"""``cadre harvest`` and ``cadre record``: read the year from Moodle, and show one cadre's record."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

import click

from rules.plan_model import hours_text

from ..config import Settings
from ..db import session_scope
from ..services.harvest import HarvestError, harvest
from ..services.harvest.context import latest_year
from ..services.harvest.learning_records import CadreRecord, cadre_record, tier_summary
from ..services.lti.gradebook import push_hours
from ..services.offline.claim_views import ClaimView, cadre_claims
from ..services.platform.locks import LockedError
from .common import fail, moodle, ready_database, settings_or_fail

CLAIM_WORDS = {"submitted": "submitted 待审核", "approved": "approved 已认定", "rejected": "rejected 未认定"}
STATUS_WORDS = {"complete": "complete 已完成", "on_track": "on track 进度正常", "behind": "behind 进度落后",
                "excluded": "excluded 不参加"}


@click.command("harvest")
@click.option("--year", type=int, help="The plan year (default: the newest applied).")
@click.option("--full", is_flag=True, help="Re-read everything, not only what can have changed.")
@click.option("--path", type=click.Choice(["auto", "report", "per_user"]), default="auto", show_default=True,
              help="Read completion from the completion report, or once per cadre and course.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Compute statuses for this day.")
def harvest_command(year: int | None, full: bool, path: str, today: dt.datetime | None) -> None:
    """Reads completion, grades, reflections and discussions from Moodle and computes the records."""
    settings = settings_or_fail()
    ready_database(settings)
    with moodle(settings) as client, click.progressbar(length=1, label="Harvesting",
                                                        show_pos=True) as bar:
        def progress(step: str, done: int, total: int) -> None:
            bar.label = f"Harvesting ({step})"
            bar.length = max(total, done, 1)
            bar.update(done - bar.pos)

        try:
            result = harvest(client, settings, year=year, full=full, path=path,
                             today=today.date() if today else None, progress=progress)
        except (HarvestError, LockedError) as exc:
            fail(f"{exc}\nWhat was stored is kept; run the same command again to continue.")
    click.echo(f"\nHarvest {result.run_id} of {result.year} ({result.mode}, "
               f"{'completion report' if result.path == 'report' else 'per cadre and course'}"
               f"{', continued' if result.resumed else ''}): {result.moodle_calls} Moodle calls, "
               f"{result.rows_read} rows read, {result.changes} changes, {result.seconds:.1f} s")
    for step, totals in result.steps.items():
        click.echo(f"  {step:<12} {totals['calls']:>6} calls {totals['rows']:>8} rows "
                   f"{totals['changes']:>7} changes {totals['seconds']:>7.1f} s")
    read = result.report_read
    if read is not None:
        how = (f"whole ({read['reason']})" if read["whole"] else
               f"only the rows dated from {read['since'].replace('T', ' ')} UTC on, by "
               f"{', '.join(read['filters'])}")
        click.echo(f"  completion report read {how}: {read['rows']} rows, {read['calls']} calls")
        if read["added"]:
            click.echo(f"  filters added to the completion report: {', '.join(read['added'])}")
        if read["missing"]:
            click.echo(f"  the completion report did not apply {', '.join(read['missing'])}: "
                       "`cadre doctor` says what to do")
    if result.waiting_activities:
        click.echo(f"  {result.waiting_activities} activity details wait for the next harvest "
                   "(harvest_activity_calls)")
    with session_scope(settings.database_url) as session:
        summary = tier_summary(session, result.year)
    click.echo("\nBy tier:")
    click.echo(f"  {pad('tier', 20)} {'cadres':>6} {'complete':>9} {'on track':>9} {'behind':>7} "
               f"{'mean hours':>11}")
    for tier in summary:
        click.echo(f"  {pad(tier.name, 20)} {tier.cadres:>6} {tier.statuses['complete']:>9} "
                   f"{tier.statuses['on_track']:>9} {tier.statuses['behind']:>7} {tier.mean_hours:>11.1f}")
    push_gradebook(settings, result.year)


def push_gradebook(settings: Settings, year: int) -> None:
    """The hours to Moodle's gradebook columns of the LTI tool, as a step of its own: a failure there is
    reported and the harvest still counts as done."""
    try:
        pushed = push_hours(settings.database_url, secret_key=settings.secret_key,
                            moodle_url=settings.moodle_url, year=year)
    except Exception as exc:  # noqa: BLE001 (the harvest is stored: say so and go on)
        click.secho(f"\nThe hours were not posted to Moodle's gradebook: {type(exc).__name__}; "
                    "`cadre lti push-hours` tries again.", fg="yellow")
        return
    if pushed.line_items:
        click.echo(f"\nGradebook (LTI): {pushed.sent} scores sent, {pushed.unchanged} unchanged, "
                   f"{pushed.refused} refused, {pushed.failed} not delivered, in {pushed.line_items} columns")


def pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns: a Chinese character takes two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


@click.command("record")
@click.argument("employee_no")
@click.option("--year", type=int, help="The plan year (default: the newest applied).")
def record_command(employee_no: str, year: int | None) -> None:
    """Prints a cadre's learning record: hours, courses, reflections, discussions, history."""
    settings = settings_or_fail()
    ready_database(settings)
    with session_scope(settings.database_url) as session:
        year = year if year is not None else latest_year(session)
        if year is None:
            fail("no plan was applied yet")
        found = cadre_record(session, employee_no, year)
        claims = cadre_claims(session, employee_no, year)
    if found is None:
        fail(f"no {year} record for {employee_no}: is the employee number right, and has "
             "`cadre harvest` run?")
    print_record(found, claims)


def print_record(found: CadreRecord, claims: list[ClaimView] | None = None) -> None:
    def _when(moment: dt.datetime | None) -> str:
        local = found.local(moment)
        return local.strftime("%Y-%m-%d %H:%M") if local else "-"

    d = found.detail
    click.secho(f"{found.name} ({found.employee_no}), {found.department} — {found.year}", bold=True)
    click.echo(f"tier: {d.get('tier') or '-'}    status: {STATUS_WORDS.get(found.status, found.status)} "
               f"since {found.status_since}")
    for reason in d.get("reasons", []):
        click.echo(f"  - {reason}")
    click.echo("courses:")
    for course in found.courses:
        done = (f"completed {_when(course.first_completed_at)}" if course.first_completed_at
                else "in progress" if course.started_at else "not started")
        notes = []
        again = course.completed_at
        if course.first_completed_at and again and again != course.first_completed_at:
            notes.append(f"completed again {_when(course.completed_at)}")
        if course.reset_seen_at and not course.completed_at:
            notes.append(f"completion reset in Moodle (seen {_when(course.reset_seen_at)}); the hours stand")
        if course.activities:
            notes.append(f"activities {course.activities}")
        if course.grade is not None:
            notes.append(f"grade {course.grade:g}")
        click.echo(f"  {course.key:<18} {hours_text(course.hours):>4} h  {done}"
                   + (f"  ({'; '.join(notes)})" if notes else ""))
    count = found.reflection_count
    if found.reflections or count.owed:
        counted = f" submitted {count.submitted} of {count.owed} ({count.long_enough} long enough)"
        click.echo("reflections:" + (counted if count.owed else ""))
        for r in found.reflections:
            graded = (f"grade {r.grade:g} by {r.grader} {_when(r.graded_at)}"
                      + (f", regraded {r.grade_changes}x" if r.grade_changes else "")
                      if r.grade is not None else "not graded")
            click.echo(f"  {r.course:<18} {r.status:<10} {r.chars} characters, {graded}")
    if found.study:
        click.echo(f"study time (SCORM courseware): {found.study_text}")
        for line in found.study:
            extra = []
            if line.tracked and line.attempts:
                extra.append(f"{line.attempts} attempt{'s' if line.attempts != 1 else ''}")
            if line.last_tracked_at is not None:
                extra.append(f"last tracked {_when(line.last_tracked_at)}")
            if line.problems:
                extra.append("some values could not be read")
            click.echo(f"  {line.course:<18} {line.text}" + (f"  ({'; '.join(extra)})" if extra else ""))
    if found.discussions:
        click.echo("discussions:")
        points = dict((key, value) for key, value in d.get("points", []))
        for key, inside, total in found.discussions:
            click.echo(f"  {key:<18} {inside} posts in the window ({total} in all), "
                       f"{hours_text(points.get(key, 0.0))} points")
    print_offline(d, claims or [])
    click.echo("history:")
    for day, status, tier, hours in found.history:
        click.echo(f"  {day}  {STATUS_WORDS.get(status, status):<20} tier {tier or '-'}, "
                   f"{hours_text(hours)} h")
    click.echo(f"harvested: {_when(found.harvested_at)} (times in {found.timezone})")


def print_offline(detail: dict[str, Any], claims: list[ClaimView]) -> None:
    """The offline study hours (线下学时) the record counts, each with its source, and the cadre's claims
    still waiting or rejected (the approved ones are among the sources)."""
    sources = detail.get("offline", [])
    if sources:
        cap = detail.get("offline_max")
        if not detail.get("tier"):
            capped = "no requirement applies"
        elif cap is None:
            capped = "the plan counts none"
        else:
            capped = f"up to {hours_text(cap)}"
        click.echo(f"offline hours (线下学时): {hours_text(detail.get('offline_hours', 0.0))} counted of "
                   f"{hours_text(detail.get('offline_hours_earned', 0.0))} ({capped})")
        for item in sources:
            kind, _sep, ref = str(item["source"]).partition(":")
            where = f"training {ref}" if kind == "training" else f"claim {ref}"
            click.echo(f"  {item['on']}  {hours_text(item['hours']):>4} h  {item['title']}  ({where})")
    waiting = [c for c in claims if c.state != "approved"]
    if waiting:
        click.echo("offline claims (学时申报):")
        for claim in waiting:
            why = f": {claim.reason}" if claim.reason else ""
            click.echo(f"  claim {claim.id}  {claim.held_on.isoformat()}  {hours_text(claim.hours):>4} h  "
                       f"{claim.title}  {CLAIM_WORDS.get(claim.state, claim.state)}{why}")
