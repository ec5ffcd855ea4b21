"""Provisioning a plan year: check the inputs, compute the change set, apply it, remember it.

Everything that can be checked is checked before the first write to Moodle: both input files (every
problem at once, with its place), the functions the token may call, the template courses the plan
copies and the roles it assigns. Re-running on unchanged input writes nothing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient
from rules.desired import DesiredState
from rules.desired_state import desired_state
from rules.plan import Plan
from rules.plan_roster import load_plan_and_roster
from rules.problems import Problem
from rules.roster import Roster
from rules.tiers import placements

from ...config import Settings
from ...db import session_scope
from ...logs import bind
from ...models import (
    Cadre,
    JournalEntry,
    Membership,
    ProvisionRun,
    StoredPlan,
    StoredRoster,
    YearClass,
    YearCourse,
    YearTier,
    utcnow,
)
from ...moodle_requirements import PROVISIONING, REQUIREMENTS, SITE
from ..platform.locks import job_lock
from .apply import Applier, Ids, Progress
from .changeset import ChangeSet, diff
from .moodle_state import ActualState, read_state
from .namespace import namespaced, strip


class ProvisionError(Exception):
    """Provisioning cannot start: the message says what to fix. Nothing was written to Moodle."""


@dataclass(frozen=True)
class Inputs:
    plan: Plan
    roster: Roster
    plan_text: str
    plan_name: str
    roster_bytes: bytes
    roster_name: str
    warnings: tuple[Problem, ...] = ()

    @cached_property
    def desired(self) -> DesiredState:
        """The year's desired state, computed once for the preview and for storing the year."""
        return desired_state(self.plan, self.roster)


@dataclass(frozen=True)
class Preview:
    desired: DesiredState
    actual: ActualState
    changes: ChangeSet
    hours_field: str | None


@dataclass
class ApplyResult:
    run_id: int | None
    changes: ChangeSet
    calls: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


def check_inputs(plan_text: str, plan_name: str, roster_bytes: bytes, roster_name: str) -> Inputs:
    """Loads both files and checks them together; raises ``InputError`` with every problem of the two,
    the checks between them run on whatever of the plan could be read (as ``cadre plan check`` does)."""
    plan, roster, problems = load_plan_and_roster(plan_text, plan_name, roster_bytes, roster_name)
    return Inputs(plan, roster, plan_text, plan_name, roster_bytes, roster_name, problems)


def required_functions() -> list[str]:
    return [r.function for r in REQUIREMENTS if r.feature in (SITE, PROVISIONING) and not r.optional]


def preview(client: MoodleClient, inputs: Inputs, settings: Settings) -> Preview:
    """Reads Moodle and computes the change set; writes nothing anywhere."""
    missing = client.preflight(required_functions()).missing
    if missing:
        raise ProvisionError("the token's service lacks " + ", ".join(missing)
                             + ": run `cadre doctor` for what to enable")
    desired = namespaced(inputs.desired, settings.moodle_namespace)
    with session_scope(settings.database_url) as session:
        known = {settings.moodle_namespace + no for no in session.scalars(select(Cadre.employee_no))}
    actual = read_state(client, desired, known)
    hours_field = _hours_field(actual, settings.moodle_hours_field)
    return Preview(desired, actual, diff(desired, actual, hours_field=hours_field), hours_field)


def _hours_field(actual: ActualState, shortname: str) -> str | None:
    """The course custom field for credit hours, where the site has one (seen on any course read)."""
    if not shortname:
        return None
    courses = [*actual.courses.values(), *actual.courses_by_shortname.values(),
               *(t for t in actual.templates.values() if t is not None)]
    return shortname if any(c.customfield(shortname) is not None for c in courses) else None


def preconditions(found: Preview, role_ids: dict[str, int]) -> list[str]:
    """Everything the change set needs from Moodle that is not there, before anything is written."""
    problems = []
    for template, course in sorted(found.actual.templates.items()):
        if course is None:
            users = [op.target for op in found.changes.by_kind("copy_course")
                     if op.data["template"] == template]
            problems.append(f"template course {template} (for {', '.join(users)}) does not exist in "
                            "Moodle or the token cannot see it")
    for role in sorted({found.desired.learner_role, found.desired.reviewer_role} - set(role_ids)):
        problems.append(f"role {role!r} has no id: add it to the moodle_roles setting "
                        "(for example student=5,teacher=4)")
    return problems


def apply(client: MoodleClient, inputs: Inputs, settings: Settings, *, actor: str,
          progress: Progress | None = None) -> ApplyResult:
    """Makes Moodle match the plan year; one run at a time per year."""
    started = time.perf_counter()
    calls_before = client.call_count()
    year = inputs.plan.year
    with job_lock(settings.database_url, f"provision:{year}"):
        found = preview(client, inputs, settings)
        role_ids = settings.role_ids()
        problems = preconditions(found, role_ids)
        if problems:
            raise ProvisionError("cannot apply, nothing was written:\n" + "\n".join(problems))
        with session_scope(settings.database_url) as session:
            _interrupt_stale_runs(session, year)
            plan_row, roster_row = store_inputs(session, inputs)
            run = ProvisionRun(year=year, plan_id=plan_row.id, roster_id=roster_row.id,
                               ops_total=len(found.changes.ops), summary=found.changes.counts())
            session.add(run)
            session.flush()
            bind(run=run.id)
            ids = Ids.of(found.actual, found.desired)
            try:
                if not found.changes.empty:
                    applier = Applier(client, session, run.id, actor, found.desired, found.actual,
                                      role_ids, found.hours_field, auth=inputs.plan.moodle.auth,
                                      progress=progress)
                    ids = applier.run(found.changes)
                run.status = "done"
                plan_row.applied_at = utcnow()
            except BaseException as exc:
                run.status = "failed"
                run.error = str(exc)
                raise
            finally:
                run.finished_at = utcnow()
                run.ops_done = _done_count(session, run.id)
                run.moodle_calls = client.call_count() - calls_before
                session.commit()
            remember_ids(session, found.desired, ids, settings.moodle_namespace)
            run_id = run.id
    return ApplyResult(run_id, found.changes, client.call_count() - calls_before,
                       time.perf_counter() - started, found.changes.counts())


def _done_count(session: Session, run_id: int) -> int:
    return session.query(JournalEntry).filter_by(run_id=run_id, status="done").count()


def _interrupt_stale_runs(session: Session, year: int) -> None:
    """Runs still marked running were killed: we hold the year's lock, so none is alive."""
    session.execute(update(ProvisionRun).where(ProvisionRun.year == year,
                                               ProvisionRun.status == "running")
                    .values(status="interrupted", finished_at=utcnow()))


def store_inputs(session: Session, inputs: Inputs) -> tuple[StoredPlan, StoredRoster]:
    """Keeps the plan text and the roster file, the cadres, and the year's tiers, classes and courses."""
    plan = inputs.plan
    plan_row = session.scalar(select(StoredPlan).where(StoredPlan.year == plan.year,
                                                       StoredPlan.sha256 == plan.sha256))
    if plan_row is None:
        plan_row = StoredPlan(year=plan.year, title=plan.title, filename=inputs.plan_name,
                              sha256=plan.sha256, text=inputs.plan_text)
        session.add(plan_row)
    digest = hashlib.sha256(inputs.roster_bytes).hexdigest()
    roster_row = session.scalar(select(StoredRoster).where(StoredRoster.sha256 == digest))
    if roster_row is None:
        roster_row = StoredRoster(filename=inputs.roster_name, sha256=digest, content=inputs.roster_bytes,
                                  cadres=len(inputs.roster.cadres))
        session.add(roster_row)
    # What session.merge did per cadre, with one query per 500 cadres instead of one per cadre.
    stored = _cadres(session, [cadre.employee_no for cadre in inputs.roster.cadres])
    for cadre in inputs.roster.cadres:
        values = {"name": cadre.name, "gender": cadre.gender, "department": cadre.department,
                  "department_type": cadre.department_type, "position": cadre.position,
                  "rank": cadre.rank, "email": cadre.email, "mobile": cadre.mobile,
                  "status": cadre.status, "supervising_leader": cadre.supervising_leader or ""}
        row = stored.get(cadre.employee_no)
        if row is None:
            session.add(Cadre(employee_no=cadre.employee_no, **values))
            continue
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
    _store_year(session, inputs)
    session.flush()
    return plan_row, roster_row


def _store_year(session: Session, inputs: Inputs) -> None:
    plan, year = inputs.plan, inputs.plan.year
    desired = inputs.desired
    for model in (YearTier, YearClass, YearCourse, Membership):
        session.query(model).filter_by(year=year).delete()
    for tier in plan.tiers:
        session.add(YearTier(year=year, key=tier.key, name=tier.name, target_hours=tier.hours.target,
                             required_min=tier.hours.required_min))
    for klass in desired.classes:
        session.add(YearClass(year=year, key=klass.key, name=klass.name, tier_key=klass.tier,
                              idnumber=klass.idnumber))
    for course in desired.courses:
        session.add(YearCourse(year=year, key=course.key, name=course.fullname, hours=course.hours,
                               template=course.template, idnumber=course.idnumber))
    for placement in placements(plan, inputs.roster).values():
        cadre = inputs.roster[placement.employee_no]
        reason = (cadre.status if placement.excluded
                  else "no tier matches" if placement.tier is None else None)
        session.add(Membership(year=year, employee_no=cadre.employee_no, tier_key=placement.tier,
                               class_key=placement.klass, excluded=reason))


def _cadres(session: Session, employee_nos: list[str]) -> dict[str, Cadre]:
    """The stored cadres among ``employee_nos``, by employee number."""
    found: dict[str, Cadre] = {}
    for start in range(0, len(employee_nos), 500):
        chunk = employee_nos[start:start + 500]
        found.update((row.employee_no, row) for row in session.scalars(
            select(Cadre).where(Cadre.employee_no.in_(chunk))))
    return found


def remember_ids(session: Session, desired: DesiredState, ids: Ids, namespace: str) -> None:
    """Keeps the Moodle ids of the year's objects for the harvest and the console."""
    userids = {strip(namespace, employee_no): userid for employee_no, userid in ids.users.items()}
    for employee_no, cadre in _cadres(session, list(userids)).items():
        if cadre.moodle_userid != userids[employee_no]:
            cadre.moodle_userid = userids[employee_no]
    for idnumber, cohortid in ids.classes.items():
        session.execute(update(YearClass).where(YearClass.year == desired.year,
                                                YearClass.idnumber == strip(namespace, idnumber))
                        .values(moodle_cohortid=cohortid))
    for idnumber, courseid in ids.courses.items():
        session.execute(update(YearCourse).where(YearCourse.year == desired.year,
                                                 YearCourse.idnumber == strip(namespace, idnumber))
                        .values(moodle_courseid=courseid))
    session.commit()

