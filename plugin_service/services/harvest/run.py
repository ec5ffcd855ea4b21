"""A harvest of one plan year: the steps in order, each course checkpointed, one run at a time.

Steps: completion (per course), reflections, discussions (per topic), study time (per course with SCORM
courseware), grades (per course), activities, records. Study time comes before grades: a SCORM package's
grade moves only with its tracks, so the cadres whose study time changed are the ones whose grade it can
have moved. Each checkpoint is committed with the data it wrote, in one transaction, so a harvest killed
at any moment has either stored a course completely or not at all; the next harvest of the year continues
the unfinished run and skips its finished checkpoints. Every run records what it read, what changed, how
long it took and how many calls it made, per checkpoint and in all.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_webservice import SiteInfo

from ...config import Settings
from ...db import session_scope
from ...logs import bind
from ...models import AuditLog, CourseProgress, HarvestRun, HarvestStep, ReflectionRecord, StudyTime, utcnow
from ...moodle_requirements import HARVEST, REQUIREMENTS, SITE
from ..platform.locks import job_lock
from .activities import harvest_activities, mark_worked
from .completion import changed_rows, one_row_per_user, seen_from_report, seen_per_user
from .context import HarvestError, YearContext, latest_year, load_context
from .discussions import course_forums, harvest_discussion
from .graders import GraderNames
from .grades import harvest_grades
from .incremental import SET_FILTERS, finish_read, known_filters, plan_read, start_read, values_left
from .progress_store import stored_fingerprints, stored_progress, write_progress
from .records import changed_since, compute_records
from .reflections import harvest_reflections
from .report import CompletionReport, find_completion_report, report_timezone
from .report_filters import ACTOR, add_missing_filters, audit_addition
from .report_reads import ReportRows, Row, read_changed, read_whole
from .study_time import FUNCTIONS as STUDY_FUNCTIONS
from .study_time import cadres_to_read, harvest_study_time, read_courseware, store_courseware, stored_packages

log = logging.getLogger(__name__)

#: ``progress(step, done, total)``: a step's progress, for the CLI's bar and the task's state.
Progress = Callable[[str, int, int], None]
#: The steps in order, as progress names them (besides "completion report" while the report is read).
STEPS = ("completion", "reflections", "discussions", "study", "grades", "activities", "records")
#: A SCORM package's grade item, as the grade report names it.
SCORM_GRADES = "mod/scorm/"
#: An unfinished run older than this is not continued: a new one starts from what is stored.
RESUME_WITHIN = dt.timedelta(days=2)


@dataclass
class HarvestResult:
    run_id: int
    year: int
    mode: str
    path: str
    resumed: bool
    moodle_calls: int
    rows_read: int
    changes: int
    seconds: float
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting_activities: int = 0
    #: How the completion report was read (``whole``, ``reason``, ``since``, ``filters``, ``missing``,
    #: ``added``, ``rows``, ``calls``); None on the per-user path or when no course was left to read.
    report_read: dict[str, Any] | None = None


#: Functions listed under provisioning that the harvest reads with too.
SHARED = ("core_enrol_get_enrolled_users", "core_user_get_users_by_field")


#: What the report path reads with besides the functions every harvest needs.
REPORT_FUNCTIONS = frozenset({"core_reportbuilder_list_reports", "core_reportbuilder_retrieve_report"})


def required_functions(path: str) -> list[str]:
    return [r.function for r in REQUIREMENTS if r.feature in (SITE, HARVEST)
            and (not r.optional or (path == "report" and r.function in REPORT_FUNCTIONS))] + list(SHARED)


def harvest(client: MoodleClient, settings: Settings, *, year: int | None = None, full: bool = False,
            today: dt.date | None = None, progress: Progress | None = None,
            path: str = "auto") -> HarvestResult:
    """Harvests a plan year (default: the newest applied) into the companion's database.

    ``path``: ``report`` (the completion report; an error if the site has none), ``per_user``, or
    ``auto`` (the report where the site has one). ``full`` re-reads everything; otherwise only what
    can have changed since the last finished harvest. ``today`` is the day statuses are computed for.
    """
    with session_scope(settings.database_url) as session:
        year = year if year is not None else latest_year(session)
    if year is None:
        raise HarvestError("no plan was applied to Moodle yet: run `cadre plan apply` first")
    with job_lock(settings.database_url, f"harvest:{year}"):
        return _harvest(client, settings, year, full, today, progress or _quiet, path)


def _quiet(_step: str, _done: int, _total: int) -> None:
    return None


def _harvest(client: MoodleClient, settings: Settings, year: int, full: bool, today: dt.date | None,
             progress: Progress, path: str) -> HarvestResult:
    started = time.perf_counter()
    calls_before = client.call_count()
    with session_scope(settings.database_url) as session:
        context = load_context(session, year, settings.moodle_namespace)
    today = today or dt.datetime.now(context.tz).date()
    if path not in ("auto", "report", "per_user"):
        raise HarvestError(f"path must be auto, report or per_user, not {path!r}")
    found = client.preflight(required_functions("per_user"))
    if found.missing:
        raise HarvestError("the token's service lacks " + ", ".join(found.missing)
                           + ": run `cadre doctor` for what to enable")
    report = _choose_path(client, settings, path, found.site)
    chosen = "report" if report is not None else "per_user"
    with session_scope(settings.database_url) as session:
        run, resumed, marks = _start_run(session, year, "full" if full else "incremental", chosen, today)
        run_id = run.id
    bind(run=run_id)
    harvester = _Harvester(client, settings, context, run_id, full, today, marks, progress,
                           found.site.userid, found.site.function_names)
    try:
        harvester.run_steps(report)
    except BaseException as exc:
        with session_scope(settings.database_url) as session:
            row = session.get(HarvestRun, run_id)
            assert row is not None
            row.status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            row.error = str(exc)[:2000]
            _finish(session, row, client.call_count() - calls_before, started)
        raise
    with session_scope(settings.database_url) as session:
        row = session.get(HarvestRun, run_id)
        assert row is not None
        row.status = "done"
        row.error = None
        row.marks = harvester.new_marks
        _finish(session, row, client.call_count() - calls_before, started)
        steps = _step_totals(session, run_id)
        return HarvestResult(run_id, year, row.mode, row.path, resumed, row.moodle_calls, row.rows_read,
                             row.changes, row.seconds, steps, harvester.waiting_activities,
                             harvester.report_read)


def _choose_path(client: MoodleClient, settings: Settings, path: str,
                 site: SiteInfo) -> CompletionReport | None:
    """The completion report to read, or None for the per-user path (``site``: its function list)."""
    if path == "per_user":
        return None
    if not site.function_names >= REPORT_FUNCTIONS:
        if path == "report":
            raise HarvestError("the report path needs " + " and ".join(sorted(REPORT_FUNCTIONS))
                               + " in the token's service")
        return None
    report = find_completion_report(client, settings.harvest_report)
    if report is None and path == "report":
        raise HarvestError("the site has no completion report: run `cadre doctor` for how to create it")
    return report


def _start_run(session: Session, year: int, mode: str, path: str,
               today: dt.date) -> tuple[HarvestRun, bool, dict[str, Any]]:
    """Continues the year's unfinished run (same mode and path, recent), or starts a new one.

    Returns the run, whether it was resumed, and the marks of the last finished run."""
    last_done = session.scalar(select(HarvestRun).where(HarvestRun.year == year, HarvestRun.status == "done")
                               .order_by(HarvestRun.id.desc()).limit(1))
    marks = dict(last_done.marks or {}) if last_done is not None else {}
    if mode == "full":
        marks = {}
    unfinished = session.scalar(select(HarvestRun).where(
        HarvestRun.year == year, HarvestRun.status.in_(("running", "failed", "interrupted")),
        HarvestRun.id > (last_done.id if last_done is not None else 0))
        .order_by(HarvestRun.id.desc()).limit(1))
    if (unfinished is not None and unfinished.mode == mode and unfinished.path == path
            and utcnow() - unfinished.started_at < RESUME_WITHIN):
        unfinished.status = "running"
        unfinished.attempts += 1
        unfinished.error = None
        unfinished.today = today.isoformat()
        session.flush()
        return unfinished, True, marks
    for stale in session.scalars(select(HarvestRun).where(HarvestRun.year == year,
                                                          HarvestRun.status == "running")):
        stale.status = "interrupted"  # we hold the year's lock: nobody runs it
    run = HarvestRun(year=year, mode=mode, path=path, today=today.isoformat())
    session.add(run)
    session.flush()
    return run, False, marks


def _finish(session: Session, run: HarvestRun, calls: int, started: float) -> None:
    totals = _step_totals(session, run.id)
    run.finished_at = utcnow()
    run.moodle_calls += calls
    run.rows_read = sum(t["rows"] for t in totals.values())
    run.changes = sum(t["changes"] for t in totals.values())
    run.seconds = round((run.seconds or 0.0) + time.perf_counter() - started, 3)
    run.summary = totals


def _step_totals(session: Session, run_id: int) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for step in session.scalars(select(HarvestStep).where(HarvestStep.run_id == run_id)
                                .order_by(HarvestStep.id)):
        entry = totals.setdefault(step.step, {"checkpoints": 0, "calls": 0, "rows": 0, "changes": 0,
                                              "seconds": 0.0})
        entry["checkpoints"] += 1
        entry["calls"] += step.moodle_calls
        entry["rows"] += step.rows_read
        entry["changes"] += step.changes
        entry["seconds"] = round(entry["seconds"] + step.seconds, 3)
    return totals


class _Harvester:
    """The steps of one run; its state is the run's (which checkpoints are done, the new marks)."""

    def __init__(self, client: MoodleClient, settings: Settings, context: YearContext, run_id: int,
                 full: bool, today: dt.date, marks: dict[str, Any], progress: Progress,
                 service_userid: int, site_functions: frozenset[str] = frozenset()) -> None:
        self.client = client
        self.site_functions = site_functions
        self.service_userid = service_userid
        self.settings = settings
        self.context = context
        self.run_id = run_id
        self.full = full
        self.today = today
        self.marks = marks
        self.new_marks: dict[str, Any] = dict(marks)
        self.progress = progress
        self.waiting_activities = 0
        self.report_read: dict[str, Any] | None = None
        self.graders = GraderNames(client, context)  # asked once a harvest
        with session_scope(settings.database_url) as session:
            self.done = {(step, item) for step, item in session.execute(
                select(HarvestStep.step, HarvestStep.item).where(HarvestStep.run_id == run_id))}
            run = session.get(HarvestRun, run_id)
            assert run is not None
            self.run_started = run.started_at
            self.last_done = session.scalar(select(func.max(HarvestRun.id)).where(
                HarvestRun.year == context.year, HarvestRun.status == "done", HarvestRun.id < run_id)) or 0
            self.attempt = run.attempts
            if run.marks:  # a resumed run keeps the marks its finished steps reached
                self.new_marks.update(run.marks)

    @contextmanager
    def checkpoint(self, step: str, item: str = "") -> Iterator[tuple[Session, dict[str, int]]]:
        """One checkpoint: its writes and its HarvestStep row are committed together."""
        calls_before = self.client.call_count()
        started = time.perf_counter()
        tally = {"rows": 0, "changes": 0}
        with session_scope(self.settings.database_url) as session:
            yield session, tally
            session.add(HarvestStep(run_id=self.run_id, step=step, item=item,
                                    moodle_calls=self.client.call_count() - calls_before,
                                    rows_read=tally["rows"], changes=tally["changes"],
                                    seconds=round(time.perf_counter() - started, 3)))
            run = session.get(HarvestRun, self.run_id)
            assert run is not None
            run.marks = dict(self.new_marks)
        self.done.add((step, item))

    def pending(self, step: str, item: str = "") -> bool:
        return (step, item) not in self.done

    def run_steps(self, report: CompletionReport | None) -> None:
        self.completion(report)
        self.reflections()
        self.discussions()
        self.study()
        self.grades()
        self.activities()
        self.records()

    # --- the steps ---------------------------------------------------------------------------

    def completion(self, report: CompletionReport | None) -> None:
        courses = [key for key in self.context.course_keys() if self.pending("completion", key)]
        if not courses:
            return
        total = len(self.context.course_keys())
        read, tz = ReportRows(), None
        if report is not None:
            tz = report_timezone(self.client, self.service_userid,
                                 self.settings.moodle_timezone or self.context.plan.moodle.timezone)
            read = self.read_report(report, tz)
        try:
            self._completion_of(courses, report, read, tz, total - len(courses), total)
        finally:
            read.close()

    def _completion_of(self, courses: list[str], report: CompletionReport | None, read: ReportRows,
                       tz: tzinfo | None, done: int, total: int) -> None:
        """The completion step's checkpoints, a course each, from the report's rows or per cadre."""
        for course_key in courses:
            with self.checkpoint("completion", course_key) as (session, tally):
                year = self.context.year
                if report is not None:
                    rows = one_row_per_user(read.take(course_key))
                    if self.full:
                        stored = stored_progress(session, year, course_key)
                    elif read.whole:  # most rows are unchanged: their fingerprints alone are compared
                        rows = changed_rows(rows, stored_fingerprints(session, year, course_key),
                                            self.context)
                        stored = stored_progress(session, year, course_key, self._cadres_of(rows))
                    else:  # the rows changed since the last harvest, and a few around it
                        stored = stored_progress(session, year, course_key, self._cadres_of(rows))
                        rows = changed_rows(rows, {no: kept.fingerprint for no, kept in stored.items()},
                                            self.context)
                    assert tz is not None
                    seen, asked = seen_from_report(self.client, self.context, course_key, rows, tz)
                else:
                    stored = stored_progress(session, year, course_key)
                    seen, asked = seen_per_user(self.client, self.context, course_key, stored,
                                                full=self.full)
                tally["rows"] = asked if report is not None else len(seen)
                tally["changes"] = write_progress(session, self.context.year, course_key, stored, seen,
                                                  run_id=self.run_id, force=self.full)
            done += 1
            self.progress("completion", done, total)

    def _cadres_of(self, rows: list[Row]) -> set[str]:
        return {self.context.cadre_by_idnumber.get(row[0], "") for row in rows}

    def read_report(self, report: CompletionReport, tz: tzinfo) -> ReportRows:
        """Reads the report once: whole, or only the rows changed since the last finished harvest
        (``incremental``), adding first the filters that takes where the service user may. Recorded as a
        step of its own, which a continued run repeats (the rows are not kept), and as the run's read of
        the report, where the next run's changed rows start."""
        calls_before = self.client.call_count()
        started = time.perf_counter()
        year = self.context.year
        can_filter = SET_FILTERS in self.site_functions
        moodle_now = self.client.site_time() or utcnow()
        with session_scope(self.settings.database_url) as session:
            plan = plan_read(session, year, self.run_id, self.settings, full=self.full, can_filter=can_filter,
                             moodle_now=moodle_now)
            known = known_filters(session, year)
            clear = plan.whole and can_filter and values_left(session, year)

        def audit(name: str) -> None:
            with session_scope(self.settings.database_url) as session:
                audit_addition(session, report, name, year=year)

        additions = add_missing_filters(self.client, report, known, self.site_functions, audit=audit)
        with session_scope(self.settings.database_url) as session:
            start_read(session, self.run_id, year, report.id, plan, added=additions.added,
                       there=additions.there, editable=additions.editable)

        def on_page(rows: int) -> None:
            self.progress("completion report", rows, 0)

        if plan.whole:
            read = read_whole(self.client, report, self.context, on_page, clear=clear)
        else:
            assert plan.since is not None
            read = read_changed(self.client, report, self.context, plan.since, tz, on_page)
        calls = self.client.call_count() - calls_before
        with session_scope(self.settings.database_url) as session:
            kept = finish_read(session, self.run_id, read, calls=calls, cleared=clear or not plan.whole)
            if not plan.whole or clear:
                # the service user's own filter values: set for the read and cleared after it
                detail = {"year": year, "filters": [*read.filters, *read.missing],
                          "since": plan.since.isoformat() if plan.since else None, "cleared": True}
                session.add(AuditLog(actor=ACTOR, action=f"moodle:{SET_FILTERS}",
                                     target=f"report {report.id}", detail=detail))
            session.add(HarvestStep(run_id=self.run_id, step="report", item=f"attempt {self.attempt}",
                                    moodle_calls=calls, rows_read=read.read,
                                    seconds=round(time.perf_counter() - started, 3)))
            self.report_read = {"whole": kept.whole, "reason": kept.reason,
                                "since": kept.since.isoformat() if kept.since else None,
                                "filters": list(kept.filters), "missing": list(kept.missing),
                                "added": list(additions.added), "rows": read.read, "calls": calls}
        return read

    def reflections(self) -> None:
        if not self.pending("reflections"):
            return
        since = None if self.full else self.marks.get("assign_since")
        with self.checkpoint("reflections") as (session, tally):
            read = harvest_reflections(self.client, session, self.context, since, self.graders)
            tally["rows"], tally["changes"] = read.rows_read, read.changes
            if read.newest:
                self.new_marks["assign_since"] = read.newest
        self.progress("reflections", 1, 1)

    def discussions(self) -> None:
        topics = [d for d in self.context.plan.discussions if self.pending("discussions", d.key)]
        if not topics:
            return
        forums = course_forums(self.client, self.context)
        total = len(self.context.plan.discussions)
        for index, discussion in enumerate(topics, start=total - len(topics) + 1):
            with self.checkpoint("discussions", discussion.key) as (session, tally):
                mark = f"topic:{discussion.key}"
                known = None if self.full else self.marks.get(mark)
                tally["rows"], tally["changes"], self.new_marks[mark] = harvest_discussion(
                    self.client, session, self.context, discussion, forums, known)
            self.progress("discussions", index, total)

    def grades(self) -> None:
        courses = [key for key in self.context.course_keys() if self.pending("grades", key)]
        total = len(self.context.course_keys())
        known: dict[str, list[str]] = dict(self.marks.get("grade_items") or {}) if not self.full else {}
        for index, course_key in enumerate(courses, start=total - len(courses) + 1):
            with self.checkpoint("grades", course_key) as (session, tally):
                cadres = None if course_key not in known else self._grade_changes(session, course_key,
                                                                                   known[course_key])
                tally["rows"], tally["changes"], items = harvest_grades(self.client, session, self.context,
                                                                        course_key, cadres)
                if items is not None:
                    known[course_key] = items
                self.new_marks["grade_items"] = dict(known)
            self.progress("grades", index, total)

    def _grade_changes(self, session: Session, course_key: str, items: list[str]) -> set[str]:
        """Cadres of a course whose course total can have changed in this run: reflection graded; where
        the course has SCORM packages graded, study time changed (their grade moves with the tracks
        only, which the study step read just before); where it has other graded items (a quiz), or
        the site lets no study time be read, progress changed."""
        year = self.context.year
        reflection = {f"mod/assign/{assignment}" for assignment in session.scalars(
            select(ReflectionRecord.assignment_id).where(
                ReflectionRecord.year == year, ReflectionRecord.course_key == course_key).distinct())}
        changed = set(session.scalars(select(ReflectionRecord.employee_no).where(
            ReflectionRecord.year == year, ReflectionRecord.course_key == course_key,
            ReflectionRecord.updated_at >= self.run_started)))
        others = set(items) - reflection
        studied = all(name in self.site_functions for name in STUDY_FUNCTIONS)
        if studied and any(item.startswith(SCORM_GRADES) for item in others):
            changed.update(session.scalars(select(StudyTime.employee_no).where(
                StudyTime.year == year, StudyTime.course_key == course_key, StudyTime.run_id == self.run_id)))
        if any(not (studied and item.startswith(SCORM_GRADES)) for item in others):
            changed.update(session.scalars(select(CourseProgress.employee_no).where(
                CourseProgress.year == year, CourseProgress.course_key == course_key,
                CourseProgress.run_id == self.run_id)))
        return changed

    def activities(self) -> None:
        if not self.pending("activities"):
            return
        with self.checkpoint("activities") as (session, tally):
            marked = mark_worked(session, self.context, None if self.full else self.run_started)
            asked, read, self.waiting_activities = harvest_activities(
                self.client, session, self.context, self.settings.harvest_activity_calls)
            tally["rows"], tally["changes"] = asked, marked + read
        self.progress("activities", 1, 1)

    def study(self) -> None:
        """Study time from SCORM courseware, per course (see ``study_time``); a site whose service lacks
        the SCORM functions keeps what is stored (``cadre doctor`` names them)."""
        courses = [key for key in self.context.course_keys() if self.pending("study", key)]
        if not courses:
            return
        missing = [name for name in STUDY_FUNCTIONS if name not in self.site_functions]
        if missing:
            log.warning("study time not read: the token's service lacks %s", ", ".join(missing))
            return
        with session_scope(self.settings.database_url) as session:
            known = None if self.full else stored_packages(session, self.context.year)
        packages = read_courseware(self.client, self.context, known)
        total = len(self.context.course_keys())
        for index, course_key in enumerate(courses, start=total - len(courses) + 1):
            with self.checkpoint("study", course_key) as (session, tally):
                found = packages.get(course_key, [])
                _tracked, changed = store_courseware(session, self.context.year, course_key, found,
                                                     self.run_id)
                if found:
                    cadres = cadres_to_read(session, self.context, course_key, everyone=self.full or changed,
                                            since_run=self.last_done)
                    tally["rows"], tally["changes"] = harvest_study_time(
                        self.client, session, self.context, course_key, found, cadres, self.run_id,
                        every_attempt=self.full or changed)
            self.progress("study", index, total)

    def records(self) -> None:
        if not self.pending("records"):
            return
        # A plan applied since the last harvest (a changed cap or target) can move every record, with
        # no fact of any cadre changed: all of them are computed again.
        every = self.full or self.marks.get("plan_id") != self.context.plan_id
        self.new_marks["plan_id"] = self.context.plan_id
        with self.checkpoint("records") as (session, tally):
            changed = None if every else changed_since(session, self.context.year, self.run_id,
                                                       self.run_started)
            tally["rows"], tally["changes"] = compute_records(session, self.context, self.today, self.run_id,
                                                              changed)
        self.progress("records", 1, 1)
