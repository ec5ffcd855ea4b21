"""``cadre roster check``, ``cadre plan check|diff|apply`` and ``cadre explain``."""

from __future__ import annotations

from pathlib import Path

import click

from rules.plan import load_plan
from rules.plan_roster import load_plan_and_roster
from rules.problems import InputError
from rules.roster import load_roster
from rules.tiers import explain as explain_cadre

from ..services.platform.locks import LockedError
from ..services.provisioning.apply import ApplyError
from ..services.provisioning.changeset import ChangeSet
from ..services.provisioning.moodle_state import MoodleStateError
from ..services.provisioning.provision import Inputs, ProvisionError, apply, check_inputs, preview
from .common import (
    fail,
    moodle,
    print_problems,
    read_file,
    ready_database,
    report_input_error,
    settings_or_fail,
)

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def roster() -> None:
    """The HR roster of cadres."""


@roster.command("check")
@click.argument("file", type=FILE)
def roster_check(file: Path) -> None:
    """Checks a roster (CSV or XLSX) and lists every problem with its line and column."""
    try:
        loaded = load_roster(read_file(file), file.name)
    except InputError as exc:
        report_input_error(exc)
    print_problems(loaded.warnings)
    click.echo(f"{file.name}: {len(loaded.cadres)} cadres, no errors")


@click.group()
def plan() -> None:
    """The annual training plan."""


@plan.command("check")
@click.argument("file", type=FILE)
@click.option("--roster", "roster_file", type=FILE, help="Also check the plan against this roster.")
def plan_check(file: Path, roster_file: Path | None) -> None:
    """Checks a plan (YAML) and lists every problem with its line and field: those of every part of the
    plan, and of the plan against the roster, in one round even where some parts have errors."""
    text = read_file(file).decode("utf-8", errors="replace")
    try:
        if roster_file is not None:
            loaded, _roster, warnings = load_plan_and_roster(text, file.name, read_file(roster_file),
                                                             roster_file.name)
        else:
            loaded = load_plan(text, file.name)
            warnings = loaded.warnings
    except InputError as exc:
        report_input_error(exc)
    print_problems(warnings)
    click.echo(f"{file.name}: plan {loaded.year}, {len(loaded.tiers)} tiers, "
               f"{len(loaded.classes)} classes, {len(loaded.courses)} courses, no errors")


def _inputs(plan_file: Path, roster_file: Path) -> Inputs:
    text = read_file(plan_file).decode("utf-8", errors="replace")
    return check_inputs(text, plan_file.name, read_file(roster_file), roster_file.name)


def _checked_inputs(plan_file: Path, roster_file: Path) -> Inputs:
    """Both files checked together; every problem printed, and a stop on any error."""
    try:
        inputs = _inputs(plan_file, roster_file)
    except InputError as exc:
        report_input_error(exc)
    print_problems(inputs.warnings)
    return inputs


def print_changes(changes: ChangeSet, *, limit: int | None) -> None:
    if changes.empty:
        click.secho("No changes: Moodle already matches the plan.", fg="green")
        return
    colors = {"+": "green", "~": "yellow", "-": "red"}
    shown = changes.ops if limit is None else changes.ops[:limit]
    for op in shown:
        click.secho(op.describe(), fg=colors[op.sign])
    if limit is not None and len(changes.ops) > limit:
        click.echo(f"... and {len(changes.ops) - limit} more (--all shows every change)")
    click.echo("\nChanges by kind:")
    for kind, count in changes.counts().items():
        click.echo(f"  {kind:<18} {count}")
    click.echo(f"  {'total':<18} {len(changes.ops)}")


@plan.command("diff")
@click.argument("plan_file", metavar="PLAN", type=FILE)
@click.option("--roster", "roster_file", type=FILE, required=True)
@click.option("--limit", type=click.IntRange(min=0), default=200, show_default=True,
              help="How many changes to list (the counts always cover all).")
@click.option("--all", "show_all", is_flag=True, help="List every change.")
def plan_diff(plan_file: Path, roster_file: Path, limit: int, show_all: bool) -> None:
    """Shows what applying the plan would change in Moodle; changes nothing."""
    settings = settings_or_fail()
    inputs = _checked_inputs(plan_file, roster_file)
    ready_database(settings)
    with moodle(settings) as client:
        try:
            found = preview(client, inputs, settings)
        except (ProvisionError, MoodleStateError) as exc:
            fail(str(exc))
    print_changes(found.changes, limit=None if show_all else limit)


@plan.command("apply")
@click.argument("plan_file", metavar="PLAN", type=FILE)
@click.option("--roster", "roster_file", type=FILE, required=True)
def plan_apply(plan_file: Path, roster_file: Path) -> None:
    """Makes Moodle match the plan: batched, journaled, resumable, audited."""
    settings = settings_or_fail()
    inputs = _checked_inputs(plan_file, roster_file)
    ready_database(settings)
    with moodle(settings) as client, click.progressbar(length=1, label="Applying",
                                                        show_pos=True) as bar:
        def progress(done: int, total: int, kind: str) -> None:
            bar.length = max(total, 1)
            bar.label = f"Applying ({kind})"
            bar.update(done - bar.pos)

        try:
            result = apply(client, inputs, settings, actor="cli", progress=progress)
        except (ProvisionError, LockedError, MoodleStateError) as exc:
            fail(str(exc))
        except ApplyError as exc:
            fail(f"{exc}\nWhat was done is kept; run the same command again to finish "
                 "(nothing will be created twice).")
    if result.changes.empty:
        click.secho("No changes: Moodle already matches the plan.", fg="green")
    else:
        click.echo("\nApplied:")
        for kind, count in result.counts.items():
            click.echo(f"  {kind:<18} {count}")
    click.echo(f"run {result.run_id}: {result.calls} Moodle calls in {result.seconds:.1f} s")


@click.command()
@click.argument("employee_no")
@click.option("--plan", "plan_file", type=FILE, required=True)
@click.option("--roster", "roster_file", type=FILE, required=True)
def explain(employee_no: str, plan_file: Path, roster_file: Path) -> None:
    """Says why a cadre is in a tier and class, or excluded."""
    inputs = _checked_inputs(plan_file, roster_file)
    try:
        explanation = explain_cadre(inputs.plan, inputs.roster, employee_no)
    except KeyError:
        fail(f"{employee_no} is not in {roster_file.name}")
    for line in explanation.lines():
        click.echo(line)
