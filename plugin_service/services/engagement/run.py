"""The engagement jobs as the CLI, the Celery tasks and the daily schedule run them.

Every job that writes to Moodle holds the year's engagement lock (two runs never overlap), is recorded
as an ``EngagementRun`` with its counts and Moodle calls, and can be run again at any time: what was
done is never done twice (the outbox and the topic records see to it). A dry run reads what it needs,
writes nothing anywhere and says what a real run would do.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from moodle_bridge import MoodleClient
from rules.commendation import Commended
from rules.survey import Summary

from ...config import Settings
from ...db import session_scope
from ...logs import bind
from ...models import EngagementRun, utcnow
from ..documents.templates import TemplateError
from ..harvest.context import HarvestError, YearContext, latest_year, load_context
from ..platform.locks import job_lock
from . import commendation as commendations
from .bulletin_files import write_missing
from .bulletins import BulletinFiring, issue
from .bulletins import plan_firings as plan_bulletins
from .errors import EngagementError
from .messaging import Firing, fire, plan_firings
from .outbox import Delivery, deliver, unsent_messages
from .standing import records_day
from .survey import SurveyHarvest, harvest_survey, survey_summary
from .topics import TopicOutcome, TopicSync

MESSAGE_FUNCTIONS = ("core_webservice_get_site_info", "core_message_send_instant_messages",
                     "core_message_get_member_info", "core_message_get_messages")
TOPIC_FUNCTIONS = ("mod_forum_get_forums_by_courses", "mod_forum_get_forum_discussions",
                   "mod_forum_add_discussion", "mod_forum_set_lock_state")
SURVEY_FUNCTIONS = ("mod_feedback_get_feedbacks_by_courses", "mod_feedback_get_items",
                    "mod_feedback_get_responses_analysis")
Progress = Callable[[int, int], None]
#: The outbox messages each kind of dated item sends.
OUTBOX_KINDS = {"reminder": ("reminder", "digest"), "announcement": ("announcement",)}
#: The outbox messages of the bulletins.
BULLETIN = "bulletin"


@dataclass
class JobResult:
    year: int
    job: str
    today: dt.date
    dry_run: bool
    run_id: int | None = None
    firings: list[Firing] = field(default_factory=list)
    bulletins: list[BulletinFiring] = field(default_factory=list)
    topics: list[TopicOutcome] = field(default_factory=list)
    delivery: Delivery = field(default_factory=Delivery)
    survey: tuple[SurveyHarvest, Summary] | None = None
    commended: list[Commended] | None = None
    notes: list[str] = field(default_factory=list)
    calls: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        counts: dict[str, Any] = {
            "fired": {f"{f.kind}:{f.key}": len(f.messages) for f in self.firings if f.state == "fired"},
            "expired": [f"{f.kind}:{f.key}" for f in self.firings if f.state == "expired"],
            "waiting": [f"{f.kind}:{f.key}" for f in self.firings if f.state == "waiting"],
            "topics": {t.key: t.action for t in self.topics if t.action != "nothing"},
            **self.delivery.as_dict()}
        bulletins = {b.key: len(b.messages) if b.state == "fired" else b.state for b in self.bulletins
                     if b.state in ("fired", "expired", "waiting")}
        if bulletins:  # messages queued by each bulletin issued, or why one was not
            counts["bulletins"] = bulletins
        if self.survey is not None:
            counts["survey_responses"] = self.survey[0].responses
        if self.commended is not None:
            counts["commended"] = len(self.commended)
        return counts


def _context(settings: Settings, year: int | None) -> YearContext:
    with session_scope(settings.database_url) as session:
        year = year if year is not None else latest_year(session)
        if year is None:
            raise EngagementError("no plan was applied to Moodle yet: run `cadre plan apply` first")
        try:
            return load_context(session, year, settings.moodle_namespace)
        except HarvestError as exc:
            raise EngagementError(str(exc)) from exc


def today_in(context: YearContext) -> dt.date:
    return dt.datetime.now(ZoneInfo(context.plan.moodle.timezone)).date()


def _check_functions(client: MoodleClient, functions: tuple[str, ...]) -> int:
    """The service user's Moodle id, once the site offers every function the job calls."""
    found = client.preflight(list(functions))
    if found.missing:
        raise EngagementError("the token's service lacks " + ", ".join(found.missing)
                              + ": run `cadre doctor` for what to enable")
    return found.site.userid


@contextmanager
def _job(client: MoodleClient, settings: Settings, context: YearContext, job: str, today: dt.date,
         actor: str, dry_run: bool) -> Iterator[JobResult]:
    result = JobResult(context.year, job, today, dry_run)
    started, calls = time.perf_counter(), client.call_count()
    if dry_run:
        yield result
        result.calls, result.seconds = client.call_count() - calls, time.perf_counter() - started
        return
    with job_lock(settings.database_url, f"engagement:{context.year}"):
        with session_scope(settings.database_url) as session:
            # Holding the lock, no other run of the year is alive: one still marked running was killed.
            session.execute(update(EngagementRun).where(EngagementRun.year == context.year,
                                                        EngagementRun.status == "running")
                            .values(status="interrupted", finished_at=utcnow()))
            run = EngagementRun(year=context.year, job=job, today=today.isoformat(), actor=actor)
            session.add(run)
            session.flush()
            result.run_id = run.id
            bind(run=run.id)
        error: BaseException | None = None
        try:
            yield result
        except BaseException as exc:
            error = exc
            raise
        finally:
            result.calls, result.seconds = client.call_count() - calls, time.perf_counter() - started
            with session_scope(settings.database_url) as session:
                row = session.get(EngagementRun, result.run_id)
                assert row is not None
                row.status = "done" if error is None else "failed"
                row.error = None if error is None else str(error)[:2000] or type(error).__name__
                row.finished_at, row.moodle_calls, row.counts = utcnow(), result.calls, result.counts()


def _messages(client: MoodleClient, settings: Settings, result: JobResult, context: YearContext,
              kinds: tuple[str, ...], actor: str, progress: Progress | None) -> None:
    sender = _check_functions(client, MESSAGE_FUNCTIONS)
    with session_scope(settings.database_url) as session:
        if result.dry_run:
            result.firings = plan_firings(session, context.plan, result.today, kinds)
            return
        result.firings = fire(session, context.plan, result.today, kinds, result.run_id)
    outbox_kinds = [kind for fired in kinds for kind in OUTBOX_KINDS[fired]]
    result.delivery = deliver(client, settings.database_url, context.year, sender=sender,
                              run_id=result.run_id, actor=actor, progress=progress, only=outbox_kinds)


def remind(client: MoodleClient, settings: Settings, *, year: int | None = None, today: dt.date | None = None,
           dry_run: bool = False, actor: str = "cli", progress: Progress | None = None) -> JobResult:
    """Fires the reminders due today and sends every queued reminder and digest."""
    context = _context(settings, year)
    with _job(client, settings, context, "remind", today or today_in(context), actor, dry_run) as result:
        _messages(client, settings, result, context, ("reminder",), actor, progress)
    return result


def announce(client: MoodleClient, settings: Settings, *, year: int | None = None,
             today: dt.date | None = None, dry_run: bool = False, actor: str = "cli",
             progress: Progress | None = None) -> JobResult:
    """Fires the announcements due today and sends every queued announcement."""
    context = _context(settings, year)
    with _job(client, settings, context, "announce", today or today_in(context), actor, dry_run) as result:
        _messages(client, settings, result, context, ("announcement",), actor, progress)
    return result


def bulletins(client: MoodleClient, settings: Settings, *, year: int | None = None,
              today: dt.date | None = None, dry_run: bool = False, actor: str = "cli",
              progress: Progress | None = None) -> JobResult:
    """Issues the bulletins (通报) due today, writes their files and sends their messages, each once."""
    context = _context(settings, year)
    with _job(client, settings, context, "bulletins", today or today_in(context), actor, dry_run) as result:
        _bulletins(client, settings, result, context, actor, progress)
    return result


def _bulletins(client: MoodleClient, settings: Settings, result: JobResult, context: YearContext, actor: str,
               progress: Progress | None) -> None:
    """The figures and messages of what is due (stored, or only shown in a dry run), then the files of
    every issued bulletin that lacks them, then the messages still to send (Moodle is not called on a
    day with none). A file that cannot be written does not hold back the messages: it fails the run
    after them, and the next run writes it."""
    if not context.plan.bulletins:
        return
    with session_scope(settings.database_url) as session:
        if result.dry_run:
            _check_functions(client, MESSAGE_FUNCTIONS)
            result.bulletins = plan_bulletins(session, context.plan, result.today)
            return
        result.bulletins = issue(session, context.plan, result.today, result.run_id, actor)
        unsent = unsent_messages(session, context.year, (BULLETIN,))
    failed: str | None = None
    try:
        write_missing(settings, context.year, actor=actor)
    except (TemplateError, OSError) as exc:
        failed = str(exc)
    if unsent:
        sender = _check_functions(client, MESSAGE_FUNCTIONS)
        sent = deliver(client, settings.database_url, context.year, sender=sender, run_id=result.run_id,
                       actor=actor, progress=progress, only=(BULLETIN,))
        result.delivery = result.delivery.plus(sent)
    if failed is not None:
        raise EngagementError(f"a bulletin's files could not be written ({failed}); its messages were sent, "
                              "and the next run writes the files")


def sync_discussions(client: MoodleClient, settings: Settings, *, year: int | None = None,
                     today: dt.date | None = None, dry_run: bool = False, actor: str = "cli") -> JobResult:
    """Opens and locks the year's discussion topics as today's date asks, catching up what was missed."""
    context = _context(settings, year)
    with _job(client, settings, context, "discussions", today or today_in(context), actor, dry_run) as result:
        _topics(client, settings, result, context, actor)
    return result


def _topics(client: MoodleClient, settings: Settings, result: JobResult, context: YearContext,
            actor: str) -> None:
    if not context.plan.discussions:
        return
    _check_functions(client, TOPIC_FUNCTIONS)
    with session_scope(settings.database_url) as session:
        result.topics = TopicSync(client, session, context, result.today, actor=actor, run_id=result.run_id,
                                  dry_run=result.dry_run).run()
    failed = [t for t in result.topics if t.action == "failed"]
    if failed and not result.dry_run:
        raise EngagementError("; ".join(f"topic {t.key}: {t.note}" for t in failed))


def survey(client: MoodleClient, settings: Settings, *, year: int | None = None,
           actor: str = "cli") -> JobResult:
    """Harvests the training-needs survey's answers and summarises them by tier and department."""
    context = _context(settings, year)
    with _job(client, settings, context, "survey", today_in(context), actor, False) as result:
        _survey(client, settings, result, context)
    return result


def _survey(client: MoodleClient, settings: Settings, result: JobResult, context: YearContext) -> None:
    _check_functions(client, SURVEY_FUNCTIONS)
    with session_scope(settings.database_url) as session:
        harvested = harvest_survey(client, session, context)
        result.survey = (harvested, survey_summary(session, context, harvested.questions))


def commend(settings: Settings, *, year: int | None = None, save: bool = False,
            today: dt.date | None = None) -> JobResult:
    """The commendation list from the stored records (no Moodle call); stored with ``save``."""
    context = _context(settings, year)
    day = today or today_in(context)
    result = JobResult(context.year, "commend", day, not save)
    with session_scope(settings.database_url) as session:
        result.commended = commendations.compute(session, context.plan)
        if save:
            commendations.store(session, context.plan, result.commended, day)
    return result


def engage(client: MoodleClient, settings: Settings, *, year: int, today: dt.date | None = None,
           actor: str = "schedule") -> JobResult:
    """The daily job of a year: topics, announcements, reminders and their delivery, the bulletins due;
    the survey while the year runs; and, once the period is over and the records were computed after it,
    the final commendation list. A part that fails is reported and the other parts still run; the run then
    fails so that the job list shows it."""
    context = _context(settings, year)
    plan = context.plan
    day = today or today_in(context)
    with _job(client, settings, context, "daily", day, actor, False) as result:
        failures: list[str] = []
        for name, part in (("discussions", lambda: _topics(client, settings, result, context, actor)),
                           ("messages", lambda: _messages(client, settings, result, context,
                                                          ("announcement", "reminder"), actor, None)),
                           ("bulletins", lambda: _bulletins(client, settings, result, context, actor, None))):
            try:
                part()
            except EngagementError as exc:
                failures.append(f"{name}: {exc}")
        if plan.period.start <= day:
            try:
                _survey(client, settings, result, context)
            except EngagementError as exc:
                result.notes.append(f"survey: {exc}")
        if plan.commendation is not None and day > plan.period.end:
            with session_scope(settings.database_url) as session:
                computed = records_day(session, plan.year)
                if computed is not None and computed > plan.period.end \
                        and commendations.stored_day(session, plan.year) is None:
                    result.commended = commendations.compute(session, plan)
                    commendations.store(session, plan, result.commended, day)
        if failures:
            raise EngagementError("; ".join(failures))
    return result
