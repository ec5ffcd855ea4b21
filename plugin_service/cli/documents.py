"""``cadre certificates issue``, ``cadre certificate show|revoke`` and ``cadre archives build``: the
year's documents, made here with a progress bar or by a Celery worker (``--queue``)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import click

from ..config import ConfigError, Settings
from ..db import session_scope
from ..services.documents.archives import ArchiveError, build_year
from ..services.documents.certificate_views import CertificateView, show
from ..services.documents.certificates import LANGS, CertificateError, issue_one, issue_year, revoke
from ..services.documents.document_batches import batch_dict
from ..services.documents.document_values import DocumentError
from ..services.harvest.context import latest_year
from ..services.platform.locks import LockedError
from .common import fail, ready_database, settings_or_fail

YEAR = click.option("--year", type=int, help="The plan year (default: the newest applied).")
TIER = click.option("--tier", help="Only the cadres of this tier (its key in the plan).")
TODAY = click.option("--today", type=click.DateTime(["%Y-%m-%d"]),
                     help="Date the documents this day (default: today in the plan's timezone).")
QUEUE = click.option("--queue", is_flag=True,
                     help="Run it on a Celery worker and follow its progress here.")
STATUS_WORDS = {"valid": "valid 有效", "superseded": "superseded 已由新版本取代", "revoked": "revoked 已撤销"}
COUNT_WORDS = {"issued": "issued (new)", "reissued": "issued as a new version", "unchanged": "unchanged",
               "revoked": "revoked, same facts: not issued", "ineligible": "not eligible",
               "rendered": "PDFs written"}
RETRY = "What was stored is kept; run the same command again to continue (nothing is made twice)."


def _year(settings: Settings, year: int | None) -> int:
    if year is not None:
        return year
    with session_scope(settings.database_url) as session:
        newest = latest_year(session)
    if newest is None:
        fail("no plan was applied yet")
    return newest


def _day(today: dt.datetime | None) -> dt.date | None:
    return today.date() if today else None


def _follow(settings: Settings, task: str, kwargs: dict[str, Any], label: str) -> dict[str, Any]:
    """Queues ``task`` on the broker and follows its PROGRESS until a worker finishes it."""
    from kombu.exceptions import OperationalError

    from .. import create_app

    try:
        celery = create_app(settings).extensions["celery"]
    except ConfigError as exc:
        fail(str(exc))
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
        result = celery.send_task(task, kwargs=kwargs)
    except OperationalError as exc:
        fail(f"cannot reach the broker (CADRE_BROKER_URL): {exc}")
    click.echo(f"queued as task {result.id}; waiting for a worker (Ctrl-C stops waiting, the job goes on)")
    with click.progressbar(length=1, label=label, show_pos=True) as bar:
        while not result.ready():
            if result.state == "PROGRESS" and isinstance(result.info, dict):
                info = result.info
                bar.label = f"{label} ({info.get('step', '')})"
                bar.length = max(int(info.get("total", 0)), int(info.get("done", 0)), 1)
                bar.update(int(info.get("done", 0)) - bar.pos)
            time.sleep(0.25)
    if not result.successful():
        fail(f"the task failed on the worker: {result.info}\n{RETRY}")
    value: dict[str, Any] = result.get()
    return value


def _in_process(label: str) -> tuple[Any, Any]:
    bar = click.progressbar(length=1, label=label, show_pos=True)

    def progress(step: str, done: int, total: int) -> None:
        bar.label = f"{label} ({step})"
        bar.length = max(total, done, 1)
        bar.update(done - bar.pos)

    return bar, progress


def print_batch(value: dict[str, Any], *, what: str) -> None:
    lang = "" if value["lang"] == "zh" or value["kind"] != "certificates" else f", {value['lang']}"
    scope = f", tier {value['tier']}" if value["tier"] else ""
    click.echo(f"\n{what} {value['year']}{scope}{lang}: batch {value['batch_id']}"
               f"{' (continued)' if value['resumed'] else ''}, {value['total']} in the batch, "
               f"{value['seconds']:.1f} s")
    for key, count in value["counts"].items():
        click.echo(f"  {COUNT_WORDS.get(key, key):<34} {count:>6}")
    if value["zip"]:
        click.echo(f"ZIP: {value['zip']}")
    for note in value["notes"]:
        click.secho(f"note: {note}", fg="yellow")


@click.group("certificates")
def certificates() -> None:
    """A year's certificates of study hours (学时证明书)."""


@certificates.command("issue")
@YEAR
@TIER
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True,
              help="Chinese, or the English variant.")
@click.option("--override", "override", metavar="EMPLOYEE_NO",
              help="Issue for this one cadre although the record does not meet the requirements.")
@click.option("--reason", help="Why the override (kept with the certificate and in the audit log).")
@TODAY
@QUEUE
def certificates_issue(year: int | None, tier: str | None, lang: str, override: str | None,
                       reason: str | None, today: dt.datetime | None, queue: bool) -> None:
    """Issues the certificates of every cadre whose record meets the plan's requirements, with a PDF
    each and a ZIP of them; unchanged certificates stay as they are."""
    settings = settings_or_fail()
    ready_database(settings)
    chosen = _year(settings, year)
    if reason is not None and override is None:
        fail("--reason goes with --override EMPLOYEE_NO")
    if override is not None:
        if queue or tier:
            fail("--override issues one cadre's certificate here: without --queue or --tier")
        if not reason or not reason.strip():
            fail("--override needs --reason: why this cadre gets a certificate the plan would not give")
        try:
            outcome = issue_one(settings, chosen, override, lang=lang, actor="cli", override_reason=reason,
                                today=_day(today))
        except (CertificateError, LockedError, DocumentError) as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc}\n{RETRY}")
        words = {"issued": "issued", "reissued": "issued as a new version",
                 "unchanged": "unchanged: already issued"}
        click.echo(f"{words[outcome.outcome]}{' (override, reason recorded)' if outcome.overridden else ''}")
        if outcome.note:
            click.echo(outcome.note)
        print_certificate(outcome.certificate)
        return
    kwargs = {"year": chosen, "tier": tier, "lang": lang}
    if queue:
        value = _follow(settings, "cadre.issue_certificates",
                        {**kwargs, "actor": "cli", "today": today.date().isoformat() if today else None},
                        "Issuing")
    else:
        bar, progress = _in_process("Issuing")
        with bar:
            try:
                value = batch_dict(issue_year(settings, chosen, tier=tier, lang=lang, actor="cli",
                                              today=_day(today), progress=progress))
            except (CertificateError, LockedError, DocumentError) as exc:
                fail(str(exc))
            except OSError as exc:
                fail(f"{exc}\n{RETRY}")
    print_batch(value, what="Certificates")


@click.group("certificate")
def certificate() -> None:
    """One certificate, by its serial."""


def print_certificate(view: CertificateView) -> None:
    data = view.data
    click.secho(f"{view.serial}  {STATUS_WORDS.get(view.status, view.status)}", bold=True)
    click.echo(f"  {data['name']} ({view.employee_no}), {data['department']} — {view.year}, "
               f"version {view.version}, {'中文' if view.lang == 'zh' else 'English'}")
    offline = f", offline {_h(data['offline_hours'])}" if data.get("offline_hours") else ""
    click.echo(f"  hours: {_h(data['total_hours'])} (required {_h(data['required_hours'])}, elective "
               f"{_h(data['elective_hours'])}{offline}; target {_h(data['target_hours'])}), "
               f"tier {data['tier_name'] or '-'}")
    click.echo(f"  issued on {data['issued_on']} by {view.issued_by} ({view.issued_at:%Y-%m-%d %H:%M} UTC)")
    if view.override_reason:
        click.echo(f"  override: {view.override_reason}")
    if view.status == "superseded":
        click.echo(f"  superseded by version {view.newer_version} on {view.superseded_at:%Y-%m-%d}"
                   if view.superseded_at else "  superseded")
    if view.revoked_at is not None:
        click.echo(f"  revoked on {view.revoked_at:%Y-%m-%d %H:%M} UTC by {view.revoked_by}: "
                   f"{view.revoked_reason}")
    click.echo(f"  verify: {data['verify_url']}")
    if view.pdf is None:
        click.echo("  PDF: not written yet (`cadre certificates issue` writes it)")
    else:
        missing = " (missing: `cadre certificates issue` writes it again)"
        click.echo(f"  PDF: {view.pdf}{'' if view.pdf_present else missing}")


def _h(value: float) -> str:
    value = round(float(value), 2)
    return str(int(value)) if value.is_integer() else str(value)


@certificate.command("show")
@click.argument("serial")
def certificate_show(serial: str) -> None:
    """Shows a certificate: what it printed, its status and its history."""
    settings = settings_or_fail()
    ready_database(settings)
    view = show(settings, serial)
    if view is None:
        fail(f"no certificate has the serial {serial!r}")
    print_certificate(view)


@certificate.command("revoke")
@click.argument("serial")
@click.option("--reason", required=True, help="Why (kept and audited; the public page never shows it).")
def certificate_revoke(serial: str, reason: str) -> None:
    """Revokes a certificate: verifying its serial then says revoked, with the day."""
    settings = settings_or_fail()
    ready_database(settings)
    try:
        view = revoke(settings, serial, reason=reason, actor="cli")
    except (CertificateError, LockedError) as exc:
        fail(str(exc))
    click.echo("revoked")
    print_certificate(view)


@click.group("archives")
def archives() -> None:
    """Learning archives (学习档案) and registration forms (在线学习情况登记表)."""


@archives.command("build")
@YEAR
@TIER
@TODAY
@QUEUE
def archives_build(year: int | None, tier: str | None, today: dt.datetime | None, queue: bool) -> None:
    """Builds a learning archive (all years) and a registration form (the year) for every cadre of the
    year, and a ZIP of them; unchanged documents are not rendered again."""
    settings = settings_or_fail()
    ready_database(settings)
    chosen = _year(settings, year)
    if queue:
        value = _follow(settings, "cadre.build_archives",
                        {"year": chosen, "tier": tier, "actor": "cli",
                         "today": today.date().isoformat() if today else None}, "Building")
    else:
        bar, progress = _in_process("Building")
        with bar:
            try:
                value = batch_dict(build_year(settings, chosen, tier=tier, actor="cli", today=_day(today),
                                              progress=progress))
            except (ArchiveError, LockedError, DocumentError) as exc:
                fail(str(exc))
            except OSError as exc:
                fail(f"{exc}\n{RETRY}")
    print_batch(value, what="Archives and registration forms")
