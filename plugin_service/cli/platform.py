"""``cadre db upgrade``, ``cadre backup`` and ``cadre restore``: what an operator runs around a release."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..services.platform.backup import BackupError, backup, restore
from ..services.platform.upgrades import UpgradeRefused, guarded_upgrade
from .common import fail, settings_or_fail


@click.group("db")
def db() -> None:
    """The companion's database schema."""


@db.command("upgrade")
def upgrade_command() -> None:
    """Brings the schema to this version's revision; refuses while a job of another version runs."""
    settings = settings_or_fail()
    try:
        done = guarded_upgrade(settings.database_url)
    except UpgradeRefused as exc:
        fail(str(exc))
    if done.changed:
        click.echo(f"schema upgraded from {done.before or 'nothing (a new database)'} to {done.after}")
    else:
        click.echo(f"schema already at {done.after}: nothing to do")


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (default: cadre-backup-<UTC time>.tar.gz here).")
def backup_command(output: Path | None) -> None:
    """Writes the database and the documents to one archive with a manifest of checksums."""
    settings = settings_or_fail()
    now = dt.datetime.now(dt.UTC)
    target = output or Path(f"cadre-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz")
    try:
        done = backup(settings, target, now=now)
    except BackupError as exc:
        fail(str(exc))
    click.echo(f"{done.archive}: schema {done.schema}, {sum(done.tables.values())} rows in "
               f"{len(done.tables)} tables, {done.documents} documents, {done.bytes / 1e6:.1f} MB")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive: Path) -> None:
    """Restores a backup into an empty (or dropped) database and an empty documents folder."""
    settings = settings_or_fail()
    try:
        done = restore(settings, archive)
    except BackupError as exc:
        fail(f"{exc}; nothing was restored")
    click.echo(f"restored {sum(done.tables.values())} rows in {len(done.tables)} tables (schema "
               f"{done.schema}, now upgraded to this version's) and {done.documents} documents")
