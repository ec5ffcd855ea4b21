"""``cadre export records|summary|certificates``: a year's report as XLSX or CSV."""

from __future__ import annotations

from pathlib import Path

import click

from ..db import session_scope
from ..services.documents.exports import REPORTS, write_table
from .common import fail, ready_database, settings_or_fail
from .documents import YEAR, _year


@click.command("export")
@click.argument("report", type=click.Choice(sorted(REPORTS)))
@YEAR
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it (default: cadre-REPORT-YEAR.FORMAT here).")
def export_command(report: str, year: int | None, fmt: str, output: Path | None) -> None:
    """Writes a year's learning records (one row per cadre), the summary per tier, or the certificates
    issued, as a spreadsheet: XLSX (Excel, WPS) or CSV (UTF-8 with BOM)."""
    settings = settings_or_fail()
    ready_database(settings)
    chosen = _year(settings, year)
    target = output or Path(f"cadre-{report}-{chosen}.{fmt}")
    if target.suffix.lower() != f".{fmt}":
        fail(f"{target}: the file name must end in .{fmt} for --format {fmt}")
    with session_scope(settings.database_url) as session:
        table = REPORTS[report](session, chosen)
    if not table.rows:
        click.secho(f"note: no {report} for {chosen} yet; the file has the headings only", fg="yellow")
    try:
        write_table(table, target)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    click.echo(f"{target}: {table.title}, {len(table.rows)} rows")
