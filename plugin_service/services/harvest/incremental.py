"""Whether a harvest reads the completion report whole or only the rows that changed, from when, and
what each read leaves for the next.

An incremental harvest reads the rows whose completion, start or course access Moodle dated from the
last finished harvest's read on: from when that read began on Moodle's clock (the site's web server
dates its answers with it), less ``harvest_margin_hours`` (default 26). The margin covers a clock that
differs from Moodle's and the writes in flight as that read began, and above all the completions Moodle
dates earlier than it writes them: the completion task aggregates an activity's completion minutes
later, and the daily one writes completions by date or duration up to a day after their time.

The report is read whole instead:
- on a full harvest, and for the year's first read;
- when the last whole read of a finished harvest began ``harvest_whole_read_days`` (default 7) or more
  ago: no date shows a completion deleted or reset in Moodle, an enrolment made in Moodle by hand, or a
  completion dated earlier than the margin, and a whole read finds them;
- when provisioning enrolled cadres since the last read began (their rows show no date yet);
- when the token's service lacks ``core_reportbuilder_set_filters``, or a read finds the report does not
  apply a filter (``report_reads``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from ...config import Settings
from ...models import HarvestReportRead, HarvestRun, JournalEntry, ProvisionRun, utcnow
from .context import HarvestError
from .report_reads import ReportRows

#: Why a read was whole (or "changed": it was not), as kept on the read and shown by ``cadre harvest``.
FULL, FIRST, WEEKLY, ENROLLED = "full harvest", "first read", "weekly whole read", "new enrolments"
NO_FUNCTION, NOT_APPLIED, CHANGED = "no set_filters", "filter not applied", "changed"
#: The web-service function a read of changed rows needs.
SET_FILTERS = "core_reportbuilder_set_filters"
#: How many earlier reads are looked through for what is known of the report's filters.
KNOWLEDGE_DEPTH = 30


@dataclass(frozen=True)
class ReadPlan:
    """How this run reads the report: whole (and why), or the rows changed from ``since`` (Moodle's
    clock, naive UTC); ``moodle_started_at``: Moodle's clock as this run first began reading."""

    whole: bool
    reason: str
    since: dt.datetime | None
    moodle_started_at: dt.datetime
    started_at: dt.datetime


@dataclass(frozen=True)
class FilterKnowledge:
    """What earlier reads learned of the report's filters: those found applied or added, those found
    not applied, and whether the service user may add filters (None: never tried) and when it was seen."""

    present: frozenset[str] = frozenset()
    missing: frozenset[str] = frozenset()
    editable: bool | None = None
    editable_seen_at: dt.datetime | None = None


def check_settings(settings: Settings) -> None:
    if settings.harvest_margin_hours < 0:
        raise HarvestError(f"harvest_margin_hours must be 0 or more, not {settings.harvest_margin_hours:g}")
    if settings.harvest_whole_read_days <= 0:
        raise HarvestError(f"harvest_whole_read_days must be more than 0, not "
                           f"{settings.harvest_whole_read_days:g}")


def plan_read(session: Session, year: int, run_id: int, settings: Settings, *, full: bool,
              can_filter: bool, moodle_now: dt.datetime) -> ReadPlan:
    """Decides how run ``run_id`` reads the report (see the module's docstring); a continued run keeps
    the start of its first attempt, whose stored courses were read then."""
    check_settings(settings)
    own = session.scalar(select(HarvestReportRead).where(HarvestReportRead.run_id == run_id))
    moodle_started_at = moodle_now if own is None else min(own.moodle_started_at, moodle_now)
    started_at = utcnow() if own is None else own.started_at
    last = _last_finished(session, year, run_id, whole_only=False)
    last_whole = _last_finished(session, year, run_id, whole_only=True)
    margin = dt.timedelta(hours=settings.harvest_margin_hours)

    def whole(reason: str) -> ReadPlan:
        return ReadPlan(True, reason, None, moodle_started_at, started_at)

    if full:
        return whole(FULL)
    if last is None or last_whole is None:
        return whole(FIRST)
    if moodle_now - last_whole.moodle_started_at >= dt.timedelta(days=settings.harvest_whole_read_days):
        return whole(WEEKLY)
    if enrolled_since(session, year, last.started_at):
        return whole(ENROLLED)
    if not can_filter:
        return whole(NO_FUNCTION)
    return ReadPlan(False, CHANGED, last.moodle_started_at - margin, moodle_started_at, started_at)


def _last_finished(session: Session, year: int, run_id: int, *, whole_only: bool) -> HarvestReportRead | None:
    query = (select(HarvestReportRead).join(HarvestRun, HarvestRun.id == HarvestReportRead.run_id)
             .where(HarvestReportRead.year == year, HarvestRun.status == "done", HarvestRun.id != run_id))
    if whole_only:
        query = query.where(HarvestReportRead.whole.is_(True))
    return session.scalar(query.order_by(HarvestRun.id.desc()).limit(1))


def enrolled_since(session: Session, year: int, since: dt.datetime) -> bool:
    """Whether provisioning enrolled anyone in the year's courses from ``since`` (our clock) on, or may
    have (a call sent whose answer was lost)."""
    return bool(session.scalar(select(exists().where(
        JournalEntry.run_id == ProvisionRun.id, ProvisionRun.year == year, JournalEntry.kind == "enrol",
        JournalEntry.status.in_(("done", "sent")), JournalEntry.updated_at >= since))))


def known_filters(session: Session, year: int) -> FilterKnowledge:
    """What the year's latest reads learned of the report's filters, the newest word on each first."""
    present: set[str] = set()
    missing: set[str] = set()
    editable: bool | None = None
    seen_at: dt.datetime | None = None
    for row in session.scalars(select(HarvestReportRead).where(HarvestReportRead.year == year)
                               .order_by(HarvestReportRead.id.desc()).limit(KNOWLEDGE_DEPTH)):
        if editable is None and row.editable is not None:
            editable, seen_at = row.editable, row.started_at
        present.update(name for name in [*row.filters, *row.added] if name not in missing)
        missing.update(name for name in row.missing if name not in present)
    return FilterKnowledge(frozenset(present), frozenset(missing), editable, seen_at)


def start_read(session: Session, run_id: int, year: int, report_id: int, plan: ReadPlan, *,
               added: Iterable[str], there: Iterable[str], editable: bool | None) -> HarvestReportRead:
    """Keeps, before reading, how run ``run_id`` reads the report and what it learned of its filters:
    those it ``added``, those Moodle said are ``there`` already (until the read proves which apply), and
    whether the service user may add them; one row a run: a continued run's attempt updates its first's,
    keeping the first start. A read of changed rows is marked as leaving filter values set until it
    clears them."""
    row = session.scalar(select(HarvestReportRead).where(HarvestReportRead.run_id == run_id))
    if row is None:
        row = HarvestReportRead(run_id=run_id, year=year, moodle_started_at=plan.moodle_started_at,
                                started_at=plan.started_at, added=[], filters=[], missing=[])
        session.add(row)
    row.report_id = report_id
    row.whole, row.reason, row.since = plan.whole, plan.reason, plan.since
    row.moodle_started_at = min(row.moodle_started_at, plan.moodle_started_at)
    row.added = sorted(set(row.added or []) | set(added))
    row.filters = sorted(set(row.filters or []) | set(there))
    if editable is not None:
        row.editable = editable
    row.values_left = row.values_left or not plan.whole
    session.flush()
    return row


def values_left(session: Session, year: int) -> bool:
    """Whether a read of changed rows may have left the service user's filter values set (it died
    before clearing them): a whole read then clears them first, or it would read a filtered report."""
    return bool(session.scalar(select(exists().where(HarvestReportRead.year == year,
                                                     HarvestReportRead.values_left.is_(True)))))


def finish_read(session: Session, run_id: int, rows: ReportRows, *, calls: int,
                cleared: bool) -> HarvestReportRead:
    """Keeps what run ``run_id``'s read found: whole or the changed rows, by which filters, those the
    report did not apply, and its cost. ``cleared``: the service user's filter values are known clear."""
    row = session.scalar(select(HarvestReportRead).where(HarvestReportRead.run_id == run_id))
    assert row is not None, "start_read comes first"
    if rows.whole and not row.whole:
        row.reason, row.since = NOT_APPLIED, None
    row.whole = rows.whole
    # A whole read proves no filter: those Moodle said are there already stay known, unless the read
    # found one not applied, so the next run does not ask to add them again.
    row.filters = [*rows.filters, *(name for name in row.filters or []
                                    if name not in rows.filters and name not in rows.missing)]
    row.missing = list(rows.missing)
    row.rows_read = rows.read
    row.moodle_calls = calls
    if cleared:
        session.execute(update(HarvestReportRead).where(HarvestReportRead.year == row.year,
                                                        HarvestReportRead.values_left.is_(True))
                        .values(values_left=False))
        row.values_left = False
    session.flush()
    return row
