"""Recording offline trainings and who attended them (by form; sheets go through ``imports``), and
correcting it: an attendee removed, a training deleted. Each step is in the audit log, and computes the
records of the cadres it touches again at once.

A training is one per name and day in a plan year: recording it twice finds the first one. An attendance
added by approving a cadre's claim stays as decided; a training that claims refer to stays too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rules.offline import NAME_MAX
from rules.plan_model import hours_text
from rules.wording import Sentence

from ...models import OfflineAttendance, OfflineClaim, OfflineTraining, utcnow
from ..platform.audit_log import record
from .calendar import year_of
from .errors import NotAllowed, NotFound, OfflineError
from .people import check_attendees
from .recompute import recompute
from .values import day_of, employee_nos, hours_of, text_of
from .who import ADMIN, Actor, acts_for


@dataclass(frozen=True)
class Recorded:
    training_id: int
    year: int
    added: list[str]  # employee numbers newly recorded
    already: list[str]  # recorded before


def record_training(session: Session, actor: Actor, *, name: str, day: dt.date | str, hours: float | str,
                    organiser: str = "", attendees: str | list[str] = "") -> Recorded:
    """A new training with its attendees; OfflineError naming the field at fault, nothing stored."""
    if not actor.records:
        raise NotAllowed(Sentence("only administrators and department officers record trainings"))
    name = text_of(name, NAME_MAX, "name")
    organiser = text_of(organiser, NAME_MAX, "organiser", required=False)
    held_on = day_of(day)
    counted = hours_of(hours)
    year = year_of(session, held_on)
    known = session.scalar(select(OfflineTraining.id).where(OfflineTraining.year == year,
                                                           OfflineTraining.name == name,
                                                           OfflineTraining.held_on == held_on.isoformat()))
    if known is not None:
        raise OfflineError(Sentence('"%(name)s" of %(day)s is recorded already (training %(id)s): add its '
                                    "attendees there", name=name, day=held_on.isoformat(), id=known),
                           field="name")
    numbers = employee_nos(attendees)
    check_attendees(session, actor, year, numbers)
    training = OfflineTraining(year=year, name=name, held_on=held_on.isoformat(), hours=counted,
                               organiser=organiser, created_by=actor.name)
    session.add(training)
    session.flush()
    record(session, actor.name, "offline:training", f"{year}/training:{training.id}", name=name,
           day=held_on.isoformat(), hours=counted, organiser=organiser, attendees=len(numbers))
    added = attend(session, actor, training, numbers)
    return Recorded(training.id, year, added, [])


def add_attendees(session: Session, actor: Actor, training_id: int, attendees: str | list[str]) -> Recorded:
    """Records cadres at a training; those recorded before are left as they are."""
    training = _training(session, actor, training_id)
    numbers = employee_nos(attendees)
    if not numbers:
        raise OfflineError(Sentence("a value is required here"), field="attendees")
    check_attendees(session, actor, training.year, numbers)
    already = set(session.scalars(select(OfflineAttendance.employee_no).where(
        OfflineAttendance.training_id == training.id, OfflineAttendance.employee_no.in_(numbers))))
    added = attend(session, actor, training, [no for no in numbers if no not in already])
    return Recorded(training.id, training.year, added, sorted(already))


def attend(session: Session, actor: Actor, training: OfflineTraining, numbers: list[str],
           claim_id: int | None = None) -> list[str]:
    """Records ``numbers`` (none of them recorded there yet) at the training, in the audit log, and
    computes their records again."""
    if not numbers:
        return []
    now = utcnow()
    session.add_all(OfflineAttendance(training_id=training.id, employee_no=no, recorded_by=actor.name,
                                      recorded_at=now, claim_id=claim_id) for no in numbers)
    session.flush()
    record(session, actor.name, "offline:attend", f"{training.year}/training:{training.id}",
           training=training.name, day=training.held_on, hours=training.hours, employee_nos=numbers,
           claim=claim_id)
    recompute(session, training.year, numbers)
    return numbers


def attend_by_claim(session: Session, actor: Actor, training: OfflineTraining, employee_no: str,
                    claim_id: int) -> None:
    """The attendance an approved claim for a recorded training adds."""
    attend(session, actor, training, [employee_no], claim_id)


def remove_attendee(session: Session, actor: Actor, training_id: int, employee_no: str) -> None:
    training = _training(session, actor, training_id)
    attendance = session.scalar(select(OfflineAttendance).where(OfflineAttendance.training_id == training.id,
                                                                OfflineAttendance.employee_no == employee_no))
    if attendance is None or not acts_for(session, actor, employee_no, training.year):
        raise NotFound(Sentence("%(employee_no)s is not recorded at this training", employee_no=employee_no))
    if attendance.claim_id is not None:
        raise OfflineError(Sentence("%(employee_no)s was recorded by approving claim %(claim)s: a decided "
                                    "claim stands", employee_no=employee_no, claim=attendance.claim_id))
    session.delete(attendance)
    session.flush()
    record(session, actor.name, "offline:unattend", f"{training.year}/training:{training.id}",
           training=training.name, day=training.held_on, employee_no=employee_no)
    recompute(session, training.year, [employee_no])


def delete_training(session: Session, actor: Actor, training_id: int) -> list[str]:
    """Deletes a training recorded by mistake, with its attendances; returns whom it recorded. An admin
    may, and the officer who recorded it while every attendee is one of their departments'."""
    training = _training(session, actor, training_id)
    attendees = list(session.scalars(select(OfflineAttendance.employee_no)
                                     .where(OfflineAttendance.training_id == training.id)))
    mine = actor.role == ADMIN or (training.created_by == actor.name and all(
        acts_for(session, actor, no, training.year) for no in attendees))
    if not mine:
        raise NotAllowed(Sentence("only an administrator, or the officer who recorded it while all its "
                                  "attendees are of their departments, deletes a training"))
    claims = session.scalar(select(func.count()).select_from(OfflineClaim)
                            .where(OfflineClaim.training_id == training.id)) or 0
    if claims:
        raise OfflineError(Sentence("%(count)s claim(s) refer to this training: it stays", count=claims))
    session.execute(delete(OfflineAttendance).where(OfflineAttendance.training_id == training.id))
    record(session, actor.name, "offline:training-delete", f"{training.year}/training:{training.id}",
           name=training.name, day=training.held_on, hours=hours_text(training.hours), employee_nos=attendees)
    year = training.year
    session.delete(training)
    session.flush()
    recompute(session, year, attendees)
    return attendees


def _training(session: Session, actor: Actor, training_id: int) -> OfflineTraining:
    training = session.get(OfflineTraining, training_id)
    if training is None:
        raise NotFound(Sentence("no training %(id)s", id=training_id))
    if not actor.records:
        raise NotAllowed(Sentence("only administrators and department officers record trainings"))
    return training
