"""Importing an attendance sheet (XLSX, or CSV) of offline trainings: every bad row is named with its row
and column, and a sheet with any error stores nothing. A good sheet records each training it names (or
finds it, recorded before with the same name and day) and adds its attendees; importing it again adds
nothing. Each training and each batch of attendees is in the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.offline import day_problem, plan_year_of
from rules.offline_sheet import Sheet, SheetTraining, read_attendance
from rules.plan_model import hours_text
from rules.problems import InputError, Problem
from rules.wording import Sentence

from ...models import Cadre, OfflineAttendance, OfflineTraining
from ..platform.audit_log import record
from .calendar import applied_plans, today
from .errors import NotAllowed
from .people import attendee_problems
from .trainings import attend
from .who import Actor, scope_for

#: The largest sheet taken (an attendance sheet is a few hundred rows).
MAX_BYTES = 10 * 1024 * 1024


@dataclass
class Imported:
    filename: str
    created: list[int] = field(default_factory=list)  # trainings recorded by this sheet
    found: list[int] = field(default_factory=list)  # trainings recorded before, attendees added to
    added: int = 0  # attendances recorded
    already: int = 0  # attendances the sheet names that were recorded before
    warnings: tuple[Problem, ...] = ()


def import_sheet(session: Session, actor: Actor, data: bytes, filename: str) -> Imported:
    """Records the sheet's trainings and attendees, or raises InputError with every problem of the sheet
    (nothing stored). NotAllowed for someone who does not record trainings."""
    if not actor.records:
        raise NotAllowed(Sentence("only administrators and department officers record trainings"))
    if len(data) > MAX_BYTES:
        raise InputError([Problem(filename, None, "", Sentence(
            "the sheet is larger than %(limit)s MB", limit=MAX_BYTES // (1024 * 1024)))])
    sheet = read_attendance(data, filename)
    problems = list(sheet.problems)
    years: dict[int, int] = {}  # index of the sheet's training -> its plan year
    known: dict[int, OfflineTraining] = {}
    plans = applied_plans(session)
    now = today(plans)
    for index, training in enumerate(sheet.trainings):  # those read whole, even beside bad rows
        wrong = day_problem(training.day, now, plans)
        if wrong is not None:
            problems.append(Problem(filename, training.line, sheet.place("day"), wrong))
            continue
        year = plan_year_of(training.day, plans)
        assert year is not None
        years[index] = year
        found = _known(session, year, training)
        if found is not None and found.hours != training.hours:
            problems.append(Problem(filename, training.line, sheet.place("hours"), Sentence(
                '"%(name)s" of %(day)s is recorded with %(hours)s hours (training %(id)s), not %(given)s',
                name=training.name, day=training.day.isoformat(), hours=hours_text(found.hours),
                id=found.id, given=hours_text(training.hours))))
        elif found is not None:
            known[index] = found
        problems += _people(session, actor, sheet, training, year)
    problems += _loose(session, actor, sheet)
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return _store(session, actor, sheet, years, known, tuple(p for p in problems if p.severity != "error"))


def _known(session: Session, year: int, training: SheetTraining) -> OfflineTraining | None:
    return session.scalar(select(OfflineTraining).where(
        OfflineTraining.year == year, OfflineTraining.name == training.name,
        OfflineTraining.held_on == training.day.isoformat()))


def _people(session: Session, actor: Actor, sheet: Sheet, training: SheetTraining,
            year: int) -> list[Problem]:
    wrong = attendee_problems(session, actor, year, training.attendees)
    return [Problem(sheet.filename, training.attendees[number], sheet.place("employee_nos"), why)
            for number, why in wrong.items()]


def _loose(session: Session, actor: Actor, sheet: Sheet) -> list[Problem]:
    """The employee numbers of bad rows, checked as far as they can be without their training's year:
    a cadre of the roster, of the person's departments."""
    if not sheet.loose:
        return []
    numbers = sorted({number for number, _line in sheet.loose})
    departments = dict(session.execute(select(Cadre.employee_no, Cadre.department)
                                       .where(Cadre.employee_no.in_(numbers))).all())
    scope = scope_for(session, actor, None)  # an admin's or an officer's: no year in it
    found = []
    for number, line in sheet.loose:
        if number not in departments:
            why = Sentence("no cadre has the employee number %(employee_no)s", employee_no=number)
        elif not scope.allows(departments[number], number):
            why = Sentence("%(employee_no)s is not a cadre of your departments", employee_no=number)
        else:
            continue
        found.append(Problem(sheet.filename, line, sheet.place("employee_nos"), why))
    return found


def _store(session: Session, actor: Actor, sheet: Sheet, years: dict[int, int],
           known: dict[int, OfflineTraining], warnings: tuple[Problem, ...]) -> Imported:
    done = Imported(sheet.filename, warnings=warnings)
    for index, given in enumerate(sheet.trainings):
        year = years[index]
        training = known.get(index)
        if training is None:
            training = OfflineTraining(year=year, name=given.name, held_on=given.day.isoformat(),
                                       hours=given.hours, organiser=given.organiser, created_by=actor.name)
            session.add(training)
            session.flush()
            record(session, actor.name, "offline:training", f"{year}/training:{training.id}",
                   name=given.name, day=given.day.isoformat(), hours=given.hours, organiser=given.organiser,
                   attendees=len(given.attendees), sheet=sheet.filename)
            done.created.append(training.id)
        else:
            done.found.append(training.id)
        recorded = set(session.scalars(select(OfflineAttendance.employee_no)
                                       .where(OfflineAttendance.training_id == training.id)))
        new = [no for no in given.attendees if no not in recorded]
        done.already += len(given.attendees) - len(new)
        done.added += len(attend(session, actor, training, new))
    if done.created or done.added:
        record(session, actor.name, "offline:import", sheet.filename, trainings=len(sheet.trainings),
               created=len(done.created), attendances=done.added)
    return done
